"""Flexprice request fields through the API: a ``neutral()`` field (body) or ``neutral_query()`` parameter
passes at its neutral value and changes nothing; any other value is a 400 naming it, and nothing is
written. The fields implemented here for real (a price's ``display_name`` on update, tax associations by
``tax_rate_code`` / ``external_customer_id``, the tax rate list's filters) answer with what they did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api import factories
from tests.api.conftest import Tenant

Obj = dict[str, Any]


def _fields(response: Any) -> list[str]:
    body = response.json()
    assert body["code"] == "validation_error", body
    return [d["field"] for d in body["details"]]


def _customer_update(t: Tenant) -> tuple[str, str]:
    return "PUT", f"/v1/customers/{factories.customer(t)['id']}"


def _customer_update_by_query(t: Tenant) -> tuple[str, str]:
    return "PUT", f"/v1/customers?id={factories.customer(t)['id']}"


def _entitlement_update(t: Tenant) -> tuple[str, str]:
    return "PUT", f"/v1/entitlements/{factories.entitlement(t)['id']}"


def _feature_update(t: Tenant) -> tuple[str, str]:
    return "PUT", f"/v1/features/{factories.feature(t)['id']}"


def _plan_update(t: Tenant) -> tuple[str, str]:
    return "PUT", f"/v1/plans/{factories.plan(t, prices=[])['id']}"


def _price_update(t: Tenant) -> tuple[str, str]:
    return "PUT", f"/v1/prices/{factories.price(t)['id']}"


def _tax_association_update(t: Tenant) -> tuple[str, str]:
    return "PUT", f"/v1/taxes/associations/{factories.tax_association(t)['id']}"


Target = Callable[[Tenant], tuple[str, str]]
# (target, field, neutral values the SDK sends or Flexprice defaults to, a value we do not implement)
UPDATES: list[tuple[Target, str, list[Any], Any]] = [
    (_customer_update, "timezone", [None, "UTC"], "Asia/Kolkata"),
    (_customer_update, "contact", [None], "+1 555 0100"),
    (_customer_update, "contact_persons", [None, []], [{"name": "Ada"}]),
    (_customer_update, "billing_currency", [None], "eur"),
    (_customer_update, "tax_treatment", [None], "reverse_charge"),
    (_customer_update, "integration_entity_mapping", [None, []], [{"provider": "stripe", "id": "cus_1"}]),
    (_customer_update_by_query, "timezone", [None, "UTC"], "America/New_York"),
    (_entitlement_update, "config_value", [None, {}], {"seats": 3}),
    (_entitlement_update, "aggregation_mode", [None], "SUM"),
    (_entitlement_update, "clear_grant_config", [None, False], True),
    (_entitlement_update, "grant_quota", [None], "100"),
    (_entitlement_update, "grant_duration_value", [None], 30),
    (_entitlement_update, "grant_unlimited", [None, False], True),
    (_feature_update, "group_id", [None, ""], "grp_1"),
    (_feature_update, "alert_settings", [None, {}], {"alert_enabled": True}),
    (_feature_update, "reporting_unit", [None, {}], {"unit_singular": "GB"}),
    (_feature_update, "filters", [None, []], [{"key": "region", "values": ["eu"]}]),
    (_plan_update, "display_order", [None], 2),
    (_price_update, "group_id", [None, ""], "grp_1"),
    (_price_update, "bucket_size", [None], "HOUR"),
    (_tax_association_update, "tax_behavior", [None, "exclusive"], "inclusive"),
]


@pytest.mark.parametrize(
    ("target", "field", "neutral", "other"),
    UPDATES,
    ids=[f"{target.__name__.strip('_')}-{field}" for target, field, _, _ in UPDATES],
)
def test_an_update_takes_the_neutral_value_and_refuses_another(
    tenant: Tenant, target: Target, field: str, neutral: list[Any], other: Any
) -> None:
    method, path = target(tenant)
    before = tenant.get(path.replace("?id=", "/")).json()
    for value in neutral:
        response = tenant.request(method, path, {field: value})
        assert response.status_code == 200, (value, response.text)
        after = response.json()
        assert {k: v for k, v in after.items() if k != "updated_at"} == {
            k: v for k, v in before.items() if k != "updated_at"
        }, value
    refused = tenant.request(method, path, {field: other})
    assert refused.status_code == 400, refused.text
    assert _fields(refused) == [f"body.{field}"]
    assert "not supported yet" in refused.json()["message"]
    assert tenant.get(path.replace("?id=", "/")).json() == after


CREATES: list[tuple[str, Callable[[Tenant], Obj], str, list[Any], Any]] = [
    ("/v1/customers", lambda t: {"external_id": "c-neutral", "name": "N"}, "timezone", ["UTC"], "Europe/Paris"),
    ("/v1/customers", lambda t: {"external_id": "c-neutral", "name": "N"}, "skip_onboarding_workflow", [False],
     True),
    ("/v1/customers", lambda t: {"external_id": "c-neutral", "name": "N"}, "onboarding_workflow_name", [None],
     "kyc"),
    ("/v1/plans", lambda t: {"name": "Neutral", "prices": []}, "display_order", [None], 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "field", "neutral", "other"),
    CREATES,
    ids=[f"{path}-{field}" for path, _, field, _, _ in CREATES],
)
def test_a_create_takes_the_neutral_value_and_refuses_another(
    tenant: Tenant, path: str, body: Callable[[Tenant], Obj], field: str, neutral: list[Any], other: Any
) -> None:
    refused = tenant.post(path, {**body(tenant), field: other})
    assert refused.status_code == 400, refused.text
    assert _fields(refused) == [f"body.{field}"]
    assert tenant.get(path).json()["pagination"]["total"] == 0
    for value in neutral:
        created = tenant.created(path, {**body(tenant), field: value})
        assert field not in created
        tenant.delete(f"{path}/{created['id']}")


def test_a_price_delete_takes_the_sdk_body_and_refuses_an_end_date(tenant: Tenant) -> None:
    price = factories.price(tenant)
    refused = tenant.request("DELETE", f"/v1/prices/{price['id']}", {"end_date": "2030-01-01T00:00:00Z"})
    assert refused.status_code == 400 and _fields(refused) == ["body.end_date"], refused.text
    assert tenant.get(f"/v1/prices/{price['id']}").status_code == 200
    deleted = tenant.request("DELETE", f"/v1/prices/{price['id']}", {})  # what the SDK sends
    assert deleted.status_code == 200, deleted.text
    assert tenant.get(f"/v1/prices/{price['id']}").status_code == 404
    other = factories.price(tenant)
    assert tenant.delete(f"/v1/prices/{other['id']}").status_code == 200  # no body at all


def test_a_price_update_sets_its_display_name(tenant: Tenant) -> None:
    price = factories.price(tenant)
    response = tenant.put(f"/v1/prices/{price['id']}", {"display_name": "Platform fee"})
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Platform fee"
    assert tenant.get(f"/v1/prices/{price['id']}").json()["display_name"] == "Platform fee"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"expand": "tax_applied.tax_rate"}, "expand"),
        ({"expand_by_source": "true"}, "expand_by_source"),
        ({"group_by": "feature_id"}, "group_by"),
    ],
)
def test_invoice_get_query_parameters_are_neutral(tenant: Tenant, query: dict[str, str], field: str) -> None:
    invoice = factories.invoice(tenant)
    for neutral in [{}, {"expand": ""}, {"expand_by_source": "false"}]:
        response = tenant.get(f"/v1/invoices/{invoice['id']}", **neutral)
        assert response.status_code == 200, (neutral, response.text)
        assert response.json()["id"] == invoice["id"]
    refused = tenant.get(f"/v1/invoices/{invoice['id']}", **query)
    assert refused.status_code == 400, refused.text
    assert _fields(refused) == [f"query.{field}"]
    assert "not supported yet" in refused.json()["message"]


def test_invoice_pdf_query_parameters_are_neutral(tenant: Tenant) -> None:
    invoice = factories.invoice(tenant)
    for field in ("url", "force_generate"):
        refused = tenant.get(f"/v1/invoices/{invoice['id']}/pdf", **{field: "true"})
        assert refused.status_code == 400, refused.text
        assert _fields(refused) == [f"query.{field}"]


# -- tax associations: Flexprice's tax_rate_code and external_customer_id ----------------------------


def test_a_tax_association_is_created_by_rate_code_for_an_external_customer(tenant: Tenant) -> None:
    rate = factories.tax_rate(tenant)
    customer = factories.customer(tenant)
    body = {"tax_rate_code": rate["code"], "external_customer_id": customer["external_id"]}
    created = tenant.created("/v1/taxes/associations", body)
    assert (created["tax_rate_id"], created["entity_type"], created["entity_id"]) == (
        rate["id"],
        "CUSTOMER",
        customer["id"],
    )
    # Flexprice's lower-case entity types are read too.
    lower = {"tax_rate_code": rate["code"], "entity_type": "customer", "entity_id": customer["id"]}
    assert tenant.created("/v1/taxes/associations", lower)["entity_type"] == "CUSTOMER"

    listed = tenant.get("/v1/taxes/associations", external_customer_id=customer["external_id"]).json()
    assert [a["entity_id"] for a in listed["items"]] == [customer["id"], customer["id"]]
    factories.tax_association(tenant)  # another customer's
    assert tenant.get("/v1/taxes/associations").json()["pagination"]["total"] == 3
    assert (
        tenant.get("/v1/taxes/associations", external_customer_id=customer["external_id"]).json()[
            "pagination"
        ]["total"]
        == 2
    )
    unknown = tenant.get("/v1/taxes/associations", external_customer_id="nobody")
    assert (
        unknown.status_code == 404 and unknown.json()["details"][0]["field"] == "query.external_customer_id"
    )


def test_a_tax_association_create_names_what_is_wrong(tenant: Tenant, other_tenant: Tenant) -> None:
    rate = factories.tax_rate(tenant)
    inactive = factories.tax_rate(tenant, tax_rate_status="INACTIVE")
    customer = factories.customer(tenant)
    another = factories.customer(tenant)
    foreign = factories.customer(other_tenant)
    code, ext = rate["code"], customer["external_id"]
    cases: list[tuple[Obj, int, str]] = [
        ({"tax_rate_code": "nope", "external_customer_id": ext}, 404, "body.tax_rate_code"),
        ({"tax_rate_code": inactive["code"], "external_customer_id": ext}, 400, "body.tax_rate_code"),
        ({"tax_rate_code": code, "tax_rate_id": inactive["id"], "external_customer_id": ext}, 400,
         "body.tax_rate_code"),
        ({"external_customer_id": ext}, 400, "body.tax_rate_code"),
        ({"tax_rate_code": code, "external_customer_id": "nobody"}, 404, "body.external_customer_id"),
        ({"tax_rate_code": code, "external_customer_id": foreign["external_id"]}, 404,
         "body.external_customer_id"),
        ({"tax_rate_code": code, "external_customer_id": ext, "entity_id": another["id"]}, 400,
         "body.external_customer_id"),
        ({"tax_rate_code": code, "external_customer_id": ext, "entity_type": "INVOICE"}, 400,
         "body.external_customer_id"),
        ({"tax_rate_code": code}, 400, "body.entity_type"),
        ({"tax_rate_code": code, "entity_type": "CUSTOMER"}, 400, "body.entity_id"),
        ({"tax_rate_code": code, "external_customer_id": ext, "tax_behavior": "inclusive"}, 400,
         "body.tax_behavior"),
    ]  # fmt: skip
    for body, status, field in cases:
        response = tenant.post("/v1/taxes/associations", body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["details"][0]["field"] == field, (body, response.text)
    assert tenant.get("/v1/taxes/associations").json()["pagination"]["total"] == 0
    # Both spellings of the same rate and customer agree: created.
    agreed = {"tax_rate_code": code, "tax_rate_id": rate["id"], "external_customer_id": ext,
              "entity_type": "CUSTOMER", "entity_id": customer["id"], "tax_behavior": "exclusive"}  # fmt: skip
    assert tenant.created("/v1/taxes/associations", agreed)["entity_id"] == customer["id"]


def test_a_customer_is_created_with_its_tax_rate_overrides(tenant: Tenant) -> None:
    vat, gst = factories.tax_rate(tenant), factories.tax_rate(tenant)
    inactive = factories.tax_rate(tenant, tax_rate_status="INACTIVE")
    body: Obj = {"external_id": "taxed", "name": "Taxed"}
    for overrides, status, field in [
        ([{"tax_rate_code": vat["code"], "currency": "usd"}, {"tax_rate_code": "nope", "currency": "usd"}], 404,
         "body.tax_rate_overrides.1.tax_rate_code"),
        ([{"tax_rate_code": inactive["code"], "currency": "usd"}], 400, "body.tax_rate_overrides.0.tax_rate_code"),
        ([{"tax_rate_code": vat["code"]}], 400, "body.tax_rate_overrides.0.currency"),
    ]:  # fmt: skip
        refused = tenant.post("/v1/customers", {**body, "tax_rate_overrides": overrides})
        assert refused.status_code == status, refused.text
        assert refused.json()["details"][0]["field"] == field
    # All or nothing: no customer, no association was written.
    assert tenant.get("/v1/customers").json()["pagination"]["total"] == 0
    assert tenant.get("/v1/taxes/associations").json()["pagination"]["total"] == 0
    overrides = [
        {"tax_rate_code": vat["code"], "currency": "USD", "priority": 1},
        {"tax_rate_code": gst["code"], "currency": "usd", "auto_apply": False, "metadata": {"k": "v"}},
    ]
    customer = tenant.created("/v1/customers", {**body, "tax_rate_overrides": overrides})
    listed = tenant.get("/v1/taxes/associations", external_customer_id="taxed").json()["items"]
    got = [(a["tax_rate_id"], a["entity_type"], a["entity_id"], a["currency"], a["priority"], a["auto_apply"],
            a["metadata"]) for a in listed]  # fmt: skip
    assert got == [
        (vat["id"], "CUSTOMER", customer["id"], "usd", 1, True, {}),
        (gst["id"], "CUSTOMER", customer["id"], "usd", 100, False, {"k": "v"}),
    ]


# -- tax rates list: Flexprice's filters --------------------------------------------------------------


def test_the_tax_rate_list_takes_flexprice_filters(tenant: Tenant) -> None:
    a = factories.tax_rate(tenant)
    b = factories.tax_rate(tenant, scope="EXTERNAL")
    c = factories.tax_rate(tenant)

    def ids(**query: Any) -> list[str]:
        response = tenant.get("/v1/taxes/rates", **query)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert ids() == [a["id"], b["id"], c["id"]]
    assert ids(order="desc") == [c["id"], b["id"], a["id"]]
    assert ids(taxrate_ids=f"{a['id']},{c['id']}") == [a["id"], c["id"]]  # the SDK's comma form
    assert ids(taxrate_ids=[a["id"], b["id"]]) == [a["id"], b["id"]]  # repeated keys
    assert ids(taxrate_codes=f"{b['code']},{c['code']}") == [b["id"], c["id"]]
    assert ids(scope="EXTERNAL") == [b["id"]]
    assert ids(status="published") == [a["id"], b["id"], c["id"]]
    assert ids(start_time=b["created_at"]) == [b["id"], c["id"]]
    assert ids(end_time=b["created_at"]) == [a["id"]]  # half-open: created before end_time
    assert tenant.delete(f"/v1/taxes/rates/{a['id']}").status_code == 204
    assert ids(status="deleted") == [a["id"]]
    assert ids() == [b["id"], c["id"]]
    assert ids(status="archived") == []
    assert ids(expand="") == [b["id"], c["id"]]
    for query, field in [({"expand": "tax_associations"}, "query.expand"), ({"order": "up"}, "query.order"),
                         ({"scope": "WORLD"}, "query.scope"), ({"start_time": "yesterday"}, "query.start_time"),
                         ({"start_time": c["created_at"], "end_time": b["created_at"]}, "query.end_time")]:  # fmt: skip
        refused = tenant.get("/v1/taxes/rates", **query)
        assert refused.status_code == 400, (query, refused.text)
        assert refused.json()["details"][0]["field"] == field, refused.text
