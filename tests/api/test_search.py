"""``POST /v1/<resource>/search``: Flexprice's filter DSL on every resource we have, on SQLite and
PostgreSQL (the ``database_url`` fixture runs each test on both): filters, sorts, pages, the tenant
scope, 400s naming the field, and index use for every id a search filters on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import create_engine

from api.routers import (
    coupons,
    customers,
    entitlements,
    features,
    invoices,
    plans,
    prices,
    subscriptions,
    wallets,
)
from api.search import SearchSpec, compile_search
from flexprice_pipelines.catalog import CatalogSession
from tests.api import factories
from tests.api.conftest import Tenant

Obj = dict[str, Any]


def _line_item(t: Tenant) -> Obj:
    return factories.subscription(t)["line_items"][0]  # type: ignore[no-any-return]


def _transaction(t: Tenant) -> Obj:
    wallet = factories.wallet(t, initial_credits_to_load="10")
    return t.get(f"/v1/wallets/{wallet['id']}/transactions").json()["items"][0]  # type: ignore[no-any-return]


# (search path, a factory creating one searchable object of the caller's tenant)
RESOURCES: dict[str, Callable[[Tenant], Obj]] = {
    "/v1/customers/search": factories.customer,
    "/v1/features/search": factories.feature,
    "/v1/plans/search": factories.plan,
    "/v1/prices/search": factories.price,
    "/v1/entitlements/search": factories.entitlement,
    "/v1/subscriptions/search": factories.subscription,
    "/v1/subscriptions/lineitems/search": _line_item,
    "/v1/invoices/search": factories.invoice,
    "/v1/coupons/search": factories.coupon,
    "/v1/wallets/search": factories.wallet,
    "/v1/wallets/transactions/search": _transaction,
}
SPECS: list[SearchSpec] = [
    customers.SEARCH,
    features.SEARCH,
    plans.SEARCH,
    prices.SEARCH,
    entitlements.SEARCH,
    subscriptions.SEARCH,
    subscriptions.LINE_ITEM_SEARCH,
    invoices.SEARCH,
    coupons.SEARCH,
    wallets.SEARCH,
    wallets.TRANSACTION_SEARCH,
]


def _ids_in(ids: list[str]) -> Obj:
    return {"field": "id", "operator": "in", "data_type": "array", "value": {"array": ids}}


def _search(t: Tenant, path: str, body: Obj) -> Obj:
    response = t.post(path, body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _bad(t: Tenant, path: str, body: Obj) -> tuple[str, str]:
    response = t.post(path, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "validation_error"
    [detail] = error["details"]
    return detail["field"], detail["message"]


def test_every_search_route_we_serve_is_tested(tenant: Tenant) -> None:
    document = tenant.app.openapi()
    served = sorted(p for p, ops in document["paths"].items() if p.endswith("/search") and "post" in ops)
    assert served == sorted(RESOURCES)


@pytest.mark.parametrize("path", list(RESOURCES))
def test_search_filters_pages_and_sorts_within_the_callers_scope(
    tenant: Tenant, other_tenant: Tenant, path: str
) -> None:
    make = RESOURCES[path]
    theirs = make(other_tenant)
    # Factories may create related rows of the same kind (a plan's prices): count what they make.
    before = {row["id"] for row in _search(tenant, path, {"limit": 1000})["items"]}
    mine = [make(tenant)["id"] for _ in range(3)]
    listed = _search(tenant, path, {"limit": 1000})
    ids = {row["id"] for row in listed["items"]}
    assert set(mine) <= ids and theirs["id"] not in ids
    assert before < ids
    assert listed["pagination"] == {"total": len(ids), "limit": 1000, "offset": 0}

    # An id filter, descending by id, paged by two.
    body: Obj = {"filters": [_ids_in([*mine, theirs["id"]])], "sort": [{"field": "id", "direction": "desc"}]}
    if path in ("/v1/prices/search", "/v1/wallets/search"):  # Flexprice types sort as one field name here
        body["sort"], body["order"] = "id", "desc"
    first = _search(tenant, path, {**body, "limit": 2})
    second = _search(tenant, path, {**body, "limit": 2, "offset": 2})
    assert [row["id"] for row in first["items"] + second["items"]] == sorted(mine, reverse=True)
    assert first["pagination"] == {"total": 3, "limit": 2, "offset": 0}
    assert second["pagination"] == {"total": 3, "limit": 2, "offset": 2}
    # The other tenant finds its own row by id, never ours.
    found = _search(other_tenant, path, {"filters": [_ids_in([*mine, theirs["id"]])]})
    assert [row["id"] for row in found["items"]] == [theirs["id"]]


def test_string_operators(tenant: Tenant) -> None:
    path = "/v1/customers/search"
    a = factories.customer(tenant, name="Acme Rockets", email="ops@acme.test")
    b = factories.customer(tenant, name="Globex 100%", email=None)
    c = factories.customer(tenant, name="acme_labs", email="hi@acme.test")

    def names(*conditions: Obj) -> list[str]:
        return [row["name"] for row in _search(tenant, path, {"filters": list(conditions)})["items"]]

    def cond(field: str, operator: str, value: Any, data_type: str = "string") -> Obj:
        slot = "array" if data_type == "array" else data_type
        return {"field": field, "operator": operator, "data_type": data_type, "value": {slot: value}}

    assert names(cond("name", "contains", "ACME")) == ["Acme Rockets", "acme_labs"]  # case-insensitive
    assert names(cond("name", "contains", "%")) == ["Globex 100%"]  # wildcards are literal
    assert names(cond("name", "contains", "e_l")) == ["acme_labs"]
    assert names(cond("name", "not_contains", "acme")) == ["Globex 100%"]
    assert names(cond("email", "not_contains", "ops")) == ["Globex 100%", "acme_labs"]  # null included
    assert names(cond("external_id", "eq", b["external_id"])) == ["Globex 100%"]
    assert names(cond("id", "not_in", [a["id"]], "array")) == ["Globex 100%", "acme_labs"]
    assert names(cond("name", "contains", "acme"), cond("email", "eq", "hi@acme.test")) == ["acme_labs"]
    # data_type may be left out: it follows the operator (in / not_in) or the field.
    inferred = {"field": "id", "operator": "in", "value": {"array": [c["id"]]}}
    assert names(inferred) == ["acme_labs"]


def test_number_and_date_operators(tenant: Tenant) -> None:
    path = "/v1/prices/search"
    plan = factories.plan(tenant, prices=[])
    made = [
        tenant.created(
            "/v1/prices", {**factories.fixed_price(trial_period_days=days), "entity_id": plan["id"]}
        )
        for days in (0, 3, 7)
    ]

    def days(*conditions: Obj) -> list[int]:
        body = {"filters": list(conditions), "plan_ids": [plan["id"]]}
        return [row["trial_period_days"] for row in _search(tenant, path, body)["items"]]

    def num(operator: str, value: Any) -> Obj:
        return {
            "field": "trial_period_days",
            "operator": operator,
            "data_type": "number",
            "value": {"number": value},
        }

    assert days(num("gt", 3)) == [7]
    assert days(num("gte", 3)) == [3, 7]
    assert days(num("lt", 3)) == [0]
    assert days(num("eq", 7)) == [7]
    # Integer columns against decimals, exactly: > 2.5 is ≥ 3, ≥ 2.5 is ≥ 3, < 3.5 is ≤ 3, = 2.5 is nothing.
    assert days(num("gt", 2.5)) == [3, 7]
    assert days(num("gte", 2.5)) == [3, 7]
    assert days(num("lt", 3.5)) == [0, 3]
    assert days(num("eq", 2.5)) == []

    def date(operator: str, value: str) -> Obj:
        return {"field": "created_at", "operator": operator, "data_type": "date", "value": {"date": value}}

    middle = made[1]["created_at"]
    assert days(date("after", middle)) == [7]
    assert days(date("before", middle)) == [0]
    assert days(date("gte", middle)) == [3, 7]
    # start_time / end_time: created_at in [start, end).
    body = {"plan_ids": [plan["id"]], "start_time": middle, "end_time": made[2]["created_at"]}
    assert [row["id"] for row in _search(tenant, path, body)["items"]] == [made[1]["id"]]


def test_sort_by_several_fields_with_nulls_last(tenant: Tenant) -> None:
    path = "/v1/customers/search"
    ids = [
        factories.customer(tenant, name=name, email=email)["id"]
        for name, email in [("b", "x@t.test"), ("a", None), ("b", "a@t.test"), ("a", "z@t.test")]
    ]
    body = {"sort": [{"field": "name"}, {"field": "email", "direction": "asc"}]}
    got = [row["id"] for row in _search(tenant, path, body)["items"]]
    assert got == [ids[3], ids[1], ids[2], ids[0]]  # a: z@, null last; b: a@, x@
    body = {"sort": [{"field": "name", "direction": "desc"}, {"field": "email", "direction": "desc"}]}
    got = [row["id"] for row in _search(tenant, path, body)["items"]]
    assert got == [ids[0], ids[2], ids[1], ids[3]]  # descending: nulls first
    # `order` is the default direction of a sort condition and of the id tie-break.
    assert [row["id"] for row in _search(tenant, path, {"order": "desc"})["items"]] == ids[::-1]


def test_shortcuts_and_external_customer_id(tenant: Tenant, other_tenant: Tenant) -> None:
    one = factories.subscription(tenant)
    factories.subscription(tenant)
    customer = tenant.get(f"/v1/customers/{one['customer_id']}").json()
    # The other tenant's customer with the same external id must not widen the match.
    twin = factories.customer(other_tenant, external_id=customer["external_id"])
    other_tenant.created(
        "/v1/subscriptions",
        {"customer_id": twin["id"], "plan_id": factories.plan(other_tenant)["id"], "currency": "usd",
         "billing_period": "MONTHLY"},
    )  # fmt: skip
    by_external = {"external_customer_id": customer["external_id"]}
    found = _search(tenant, "/v1/subscriptions/search", by_external)
    assert [row["id"] for row in found["items"]] == [one["id"]]
    assert [len(row["line_items"]) for row in found["items"]] == [len(one["line_items"])]
    assert _search(tenant, "/v1/subscriptions/search", {"external_customer_id": "nobody"})["items"] == []
    assert _search(tenant, "/v1/subscriptions/search", {"subscription_status": ["cancelled"]})["items"] == []
    found = _search(tenant, "/v1/customers/search", {"external_ids": [customer["external_id"]]})
    assert [row["id"] for row in found["items"]] == [customer["id"]]
    items = _search(tenant, "/v1/subscriptions/lineitems/search", {"subscription_ids": [one["id"]]})
    assert sorted(row["id"] for row in items["items"]) == sorted(item["id"] for item in one["line_items"])


def test_invoices_newest_first_and_without_lines(tenant: Tenant) -> None:
    made = [factories.invoice(tenant)["id"] for _ in range(2)]
    found = _search(tenant, "/v1/invoices/search", {"invoice_ids": made})
    assert [row["id"] for row in found["items"]] == made[::-1]
    assert [len(row["line_items"]) for row in found["items"]] == [1, 1]
    skipped = _search(tenant, "/v1/invoices/search", {"invoice_ids": made, "skip_line_items": True})
    assert [row["line_items"] for row in skipped["items"]] == [[], []]
    paid = _search(tenant, "/v1/invoices/search", {"invoice_ids": made, "payment_status": ["SUCCEEDED"]})
    assert paid["pagination"]["total"] == 0


def test_status_deleted_finds_soft_deleted_rows(tenant: Tenant) -> None:
    gone = factories.customer(tenant)
    kept = factories.customer(tenant)
    assert tenant.delete(f"/v1/customers/{gone['id']}").status_code == 204
    body = {"customer_ids": [gone["id"], kept["id"]]}
    assert [r["id"] for r in _search(tenant, "/v1/customers/search", body)["items"]] == [kept["id"]]
    deleted = _search(tenant, "/v1/customers/search", {**body, "status": "deleted"})
    assert [r["id"] for r in deleted["items"]] == [gone["id"]]


def test_wallet_status_means_wallet_status(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant)
    found = _search(tenant, "/v1/wallets/search", {"wallet_ids": [wallet["id"]], "status": "active"})
    assert [row["id"] for row in found["items"]] == [wallet["id"]]
    assert (
        _search(tenant, "/v1/wallets/search", {"wallet_ids": [wallet["id"]], "status": "frozen"})["items"]
        == []
    )
    assert tenant.post("/v1/wallets/search", {"status": "published"}).status_code == 400


def test_active_filter_of_line_items(tenant: Tenant) -> None:
    sub = factories.subscription(tenant)
    cancelled = tenant.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "immediate"})
    assert cancelled.status_code == 200, cancelled.text
    ended = [item for item in cancelled.json()["subscription"]["line_items"] if item["end_date"] is not None]
    body: Obj = {"subscription_ids": [sub["id"]]}
    active = {row["id"] for row in _search(tenant, "/v1/subscriptions/lineitems/search", body)["items"]}
    every = _search(tenant, "/v1/subscriptions/lineitems/search", {**body, "active_filter": False})
    assert {row["id"] for row in every["items"]} == {item["id"] for item in sub["line_items"]}
    assert active == {item["id"] for item in sub["line_items"]} - {item["id"] for item in ended}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"filters": [{"field": "nope", "operator": "eq", "value": {"string": "x"}}]},
            "body.filters.0.field",
            "nope",
        ),
        ({"filters": [{"operator": "eq", "value": {"string": "x"}}]}, "body.filters.0.field", "required"),
        (
            {"filters": [{"field": "name", "operator": "like", "value": {"string": "x"}}]},
            "body.filters.0.operator",
            "like",
        ),
        ({"filters": [{"field": "name", "value": {"string": "x"}}]}, "body.filters.0.operator", "required"),
        (
            {"filters": [{"field": "name", "operator": "eq", "data_type": "number", "value": {"number": 1}}]},
            "body.filters.0.data_type",
            "'name' is a string",
        ),
        (
            {"filters": [{"field": "name", "operator": "eq", "data_type": "text"}]},
            "body.filters.0.data_type",
            "text",
        ),
        (
            {
                "filters": [
                    {"field": "created_at", "operator": "contains", "value": {"date": "2025-01-01T00:00:00Z"}}
                ]
            },
            "body.filters.0.operator",
            "does not apply",
        ),
        (
            {"filters": [{"field": "name", "operator": "eq", "value": {"number": 1}}]},
            "body.filters.0.value.string",
            "required",
        ),
        ({"limit": 1001}, "body.limit", "1000"),
        ({"limit": 0}, "body.limit", "1000"),
        ({"offset": -1}, "body.offset", "0"),
        ({"sort": [{"field": "metadata"}]}, "body.sort.0.field", "metadata"),
        ({"sort": [{"field": "name", "direction": "up"}]}, "body.sort.0.direction", "up"),
        ({"order": "sideways"}, "body.order", "sideways"),
        ({"expand": "prices"}, "body.expand", "prices"),
        (
            {"filters": [{"field": "name", "operator": "eq", "value": {"string": "x"}}] * 51},
            "body.filters",
            "50",
        ),
    ],
)
def test_invalid_searches_are_400_naming_the_field(tenant: Tenant, body: Obj, field: str, words: str) -> None:
    got_field, message = _bad(tenant, "/v1/customers/search", body)
    assert got_field == field
    assert words in message


def test_malformed_shapes_are_the_usual_400(tenant: Tenant) -> None:
    response = tenant.post("/v1/customers/search", {"limit": "5"})
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["body.limit"]
    response = tenant.post("/v1/customers/search", {"filters": [{"field": "name", "value": {"number": "1"}}]})
    assert response.status_code == 400
    assert tenant.post("/v1/customers/search", {"colour": "red"}).status_code == 400


def test_plans_expand_what_they_carry(tenant: Tenant) -> None:
    plan = factories.plan(tenant)
    found = _search(tenant, "/v1/plans/search", {"plan_ids": [plan["id"]], "expand": "prices,entitlements"})
    assert [len(row["prices"]) for row in found["items"]] == [2]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_id_filters_use_a_scope_first_index(tenant: Tenant, database_url: str, spec: SearchSpec) -> None:
    """Every id / lookup field a search filters on is found through an index (SQLite's plan)."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the query plan is read on SQLite; the indexes are the same migrations on PostgreSQL")
    engine = create_engine(database_url)
    lookups = [
        name
        for name, declared in spec.fields.items()
        if declared.kind == "string"
        and (name == "id" or name.endswith("_id") or name in ("external_id", "lookup_key", "invoice_number"))
    ]
    assert lookups
    with engine.connect() as connection:
        from sqlalchemy.orm import Session

        catalog = CatalogSession(Session(connection), tenant.scope)
        for name in lookups:
            condition = {"field": name, "operator": "eq", "value": {"string": "x"}}
            query = compile_search(
                catalog, spec, spec.request_model().model_validate({"filters": [condition]})
            )
            compiled = catalog.repo(spec.model).select().where(*query.where).compile(engine)
            params = [compiled.params[key] for key in compiled.positiontup or []]
            raw = connection.connection.driver_connection
            assert raw is not None
            plan = " ".join(row[-1] for row in raw.execute(f"EXPLAIN QUERY PLAN {compiled}", params))
            assert f"{name}=?" in plan, (spec.name, name, plan)
    engine.dispose()
