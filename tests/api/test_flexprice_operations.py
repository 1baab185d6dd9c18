"""Flexprice's operations against ours, generated from Flexprice's OpenAPI document and our app.

- Every Flexprice operation we claim (our router sends its method and path, parameter names aside, to a
  route of ours with the same template) documents exactly Flexprice's success status.
- Every operation of our OpenAPI document that Flexprice does not have is a declared extension (with a
  reason), never a near miss of a Flexprice path (spelling, plurals, segment order, a path parameter
  more or less, a typo).
- ``docs/flexprice-compatibility.md`` is what ``make compat-table`` generates from the two.

Known differences are listed, with their issue, in ``KNOWN_MISMATCHES`` of
``tests/support/flexprice_compat.py`` and expected to fail strictly: fixing one fails here until its
entry is removed. The tests reading Flexprice's document are skipped where it is absent.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Response

from api.schemas.common import InputModel, neutral
from tests.support import flexprice_compat as compat
from tests.support.flexprice_spec import flexprice_spec


def _spec_or_reason() -> tuple[dict[str, Any] | None, str]:
    try:
        return flexprice_spec(), ""
    except pytest.skip.Exception as skipped:
        return None, str(skipped)


SPEC, ABSENT = _spec_or_reason()
REPORT = compat.current_report(SPEC) if SPEC is not None else None
NEEDS_SPEC = pytest.mark.skipif(SPEC is None, reason=ABSENT)


def _params(items: list[tuple[str, str, Any]], side: str) -> list[Any]:
    """One param per (method, path, value), strictly xfailed where KNOWN_MISMATCHES tracks it."""
    if REPORT is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="no-flexprice-spec")]
    params = []
    for method, path, value in items:
        known = compat.KNOWN_MISMATCHES.get((side, method, path))
        marks = [pytest.mark.xfail(reason=known, strict=True)] if known else []
        params.append(pytest.param(value, marks=marks, id=f"{method} {path}"))
    return params


CLAIMED = _params(
    [(r.op.method, r.op.path, r) for r in REPORT.rows if r.ours is not None] if REPORT else [], "flexprice"
)
OURS_NOT_FLEXPRICE = _params(
    [(op.method, op.path, (op, verdict, near)) for op, verdict, near in REPORT.ours_unmatched]
    if REPORT
    else [],
    "ours",
)


@pytest.mark.parametrize("row", CLAIMED)
def test_a_claimed_operation_is_served_with_flexprice_method_path_and_status(row: compat.Row) -> None:
    assert row.ours is not None
    _, routes = compat.our_app_inputs()
    reached = compat.dispatched_route(routes, row.op.method, row.op.path)
    assert reached is not None and compat.normalize(reached) == compat.normalize(row.ours.path), (
        f"{row.op.method} {row.op.path} reaches {reached}, not our {row.ours.path}"
    )
    assert row.ours.success == row.op.success, (
        f"{row.op.method} {row.ours.path} documents {sorted(row.ours.success)}; "
        f"Flexprice's {row.op.operation_id} answers {sorted(row.op.success)}"
    )
    assert row.status in (compat.SERVED, compat.NEUTRAL)


@pytest.mark.parametrize("judged", OURS_NOT_FLEXPRICE)
def test_our_operation_not_in_flexprice_is_a_declared_extension_not_a_misspelling(
    judged: tuple[compat.OurOp, str, list[compat.FlexOp]],
) -> None:
    op, verdict, near = judged
    spelled = ", ".join(f"{f.method} {f.path}" for f in near)
    assert not near or (op.method, op.path) in compat.EXTENSIONS, (
        f"{op.method} {op.path} is Flexprice's {spelled} spelled differently"
    )
    assert verdict == "extension", (
        f"{op.method} {op.path} is not in Flexprice's document: declare it in EXTENSIONS with a reason, "
        "or spell it as Flexprice does"
    )


@NEEDS_SPEC
def test_the_allow_lists_name_routes_that_exist() -> None:
    assert SPEC is not None and REPORT is not None
    document, _ = compat.our_app_inputs()
    ours = {(op.method, op.path) for op in compat.our_operations(document)}
    flex = {(f.method, compat.normalize(f.path)) for f in compat.flexprice_operations(SPEC)}
    for method, path in compat.EXTENSIONS:
        assert (method, path) in ours, f"EXTENSIONS names {method} {path}, which we do not serve"
        assert (method, compat.normalize(path)) not in flex, f"{method} {path} is Flexprice's, not ours"
    claimed = {(r.op.method, r.op.path) for r in REPORT.rows if r.ours is not None}
    for side, method, path in compat.KNOWN_MISMATCHES:
        where = ours if side == "ours" else claimed
        assert (method, path) in where, f"KNOWN_MISMATCHES names {side} {method} {path}, which is gone"
    assert all(r.sdk for r in REPORT.rows if r.ours is not None), "an operation we serve has no SDK method"


@NEEDS_SPEC
def test_the_compatibility_table_is_up_to_date() -> None:
    assert SPEC is not None
    diff = compat.stale_diff(SPEC)
    assert not diff, f"docs/flexprice-compatibility.md is stale: run `{compat.REGENERATE}`\n{diff[:4000]}"


# ---------------------------------------------------------------- the generator's rules, without the spec


def _flex(method: str, path: str, success: str = "200", tag: str = "Things") -> compat.FlexOp:
    return compat.FlexOp(method, compat.flexprice_path(path), path, tag, None, frozenset({success}))


@pytest.mark.parametrize(
    ("ours", "theirs", "near"),
    [
        (("GET", "/v1/customers/{id}/usage"), ("GET", "/customers/usage"), True),  # a parameter more
        (("PUT", "/v1/customers/{id}"), ("PUT", "/customers"), True),  # the SDK's ?id= update
        (("GET", "/v1/credit-grants/{id}"), ("GET", "/creditgrants/{id}"), True),  # spelling
        (("GET", "/v1/customer/{id}"), ("GET", "/customers/{id}"), True),  # plural
        (("POST", "/v1/wallets/{id}/topup"), ("POST", "/wallets/{id}/top-up"), True),
        (("GET", "/v1/invoices/{id}/summary"), ("GET", "/invoices/summary/{id}"), True),  # order
        (("GET", "/v1/subscriptions/{id}/entitlement"), ("GET", "/subscriptions/{id}/entitlements"), True),
        (("POST", "/v1/prices/serach"), ("POST", "/prices/search"), True),  # a typo
        (("GET", "/v1/creditgrants"), ("GET", "/creditgrants/{id}"), False),  # collection vs item
        (("POST", "/v1/events"), ("POST", "/events/usage"), False),  # another operation
        (("POST", "/v1/subscriptions/{id}/pause"), ("POST", "/subscriptions/{id}/cancel"), False),
        (("DELETE", "/v1/customers/{id}/usage"), ("GET", "/customers/usage"), False),  # other method
        (("GET", "/v1/plans/{id}/usage"), ("GET", "/customers/usage"), False),  # other resource
        (("GET", "/v1/customers/{customer_id}"), ("GET", "/customers/{id}"), False),  # the same, not near
    ],
)
def test_near_misses_are_spelling_order_and_parameter_differences(
    ours: tuple[str, str], theirs: tuple[str, str], near: bool
) -> None:
    assert compat.near_miss(*ours, _flex(*theirs)) is near


class _ThingCreate(InputModel):
    name: str
    colour: str | None = neutral(None, brought_by="issue 99")


def _toy_app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/things", status_code=201)
    def create(body: _ThingCreate) -> dict[str, str]:
        return {"name": body.name}

    @app.get("/v1/things/{thing_id}")
    def get(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.delete("/v1/things/{thing_id}", status_code=204)
    def delete(thing_id: str) -> Response:
        return Response(status_code=204)

    @app.get("/v1/things/{thing_id}/usage")
    def usage(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.get("/v1/gadgets")
    def gadgets() -> list[str]:
        return []

    return app


def test_the_report_derives_each_status_from_the_spec_and_the_app() -> None:
    app = _toy_app()
    spec = {
        "info": {"version": "t"},
        "paths": {
            "/things": {"post": {"tags": ["Things"], "operationId": "createThing", "responses": {"201": {}}}},
            "/things/{id}": {
                "get": {
                    "tags": ["Things"],
                    "operationId": "getThing",
                    "parameters": [{"name": "expand", "in": "query"}, {"name": "id", "in": "path"}],
                    "responses": {"200": {}},
                },
                "delete": {"tags": ["Things"], "operationId": "deleteThing", "responses": {"200": {}}},
            },
            "/things/usage": {
                "get": {"tags": ["Things"], "operationId": "thingUsage", "responses": {"200": {}}}
            },
            "/payments": {"post": {"tags": ["Payments"], "responses": {"201": {}}}},
            "/widgets": {"post": {"tags": ["Widgets"], "responses": {"201": {}}}},
            "/webhook-events/thing.created": {"post": {"tags": ["Webhook Events"], "responses": {"200": {}}}},
        },
    }
    sdk = (
        {
            "getThing": compat.SdkMethod("things.get_thing", "GET", "/things/{id}"),
            "thingUsage": compat.SdkMethod("things.usage", "GET", "/things/{id}/usage"),
        },
        "9.9",
    )
    report = compat.build_report(spec, app.openapi(), app.router.routes, sdk, ["thing.created", "ours.only"])
    rows = {(r.op.method, r.op.path): r for r in report.rows}

    create = rows["POST", "/v1/things"]
    assert (create.status, create.note) == (compat.NEUTRAL, "neutral: colour (issue 99)")
    assert (rows["GET", "/v1/things/{id}"].status, rows["GET", "/v1/things/{id}"].sdk) == (
        compat.SERVED,
        "things.get_thing",
    )
    assert rows["DELETE", "/v1/things/{id}"].status == compat.DIFFERS
    assert rows["DELETE", "/v1/things/{id}"].note.startswith("answers 204, Flexprice 200")
    usage = rows["GET", "/v1/things/usage"]
    assert usage.status == compat.NOT_PLANNED
    assert "reaches our GET /v1/things/{thing_id}" in usage.note
    assert "ours: GET /v1/things/{thing_id}/usage" in usage.note
    assert usage.note.endswith("SDK 9.9 requests GET /v1/things/{id}/usage")
    assert "requests" not in rows["GET", "/v1/things/{id}"].note
    assert (rows["POST", "/v1/payments"].status, rows["POST", "/v1/payments"].issue) == (compat.NOT_YET, 17)
    assert report.counts == {
        compat.SERVED: 1,
        compat.NEUTRAL: 1,
        compat.DIFFERS: 1,
        compat.NOT_YET: 1,
        compat.NOT_PLANNED: 2,
    }
    verdicts = {(op.method, op.path): verdict for op, verdict, _ in report.ours_unmatched}
    assert verdicts == {
        ("GET", "/v1/things/{thing_id}/usage"): "near miss",
        ("GET", "/v1/gadgets"): "undeclared",
    }
    assert report.webhooks == [("thing.created", "emitted")]
    assert report.our_events_not_flexprice == ["ours.only"]
    table = compat.render(report)
    assert "| accepted at neutral values | 1 |" in table
    assert "| not yet | 1 (issue 17: 1) |" in table
    assert (
        "| `GET /v1/things/{id}` | `things.get_thing` | served | query parameters of Flexprice's not declared "
        "here (ignored): expand |"
    ) in table


def test_sdk_method_names_are_methods_of_the_installed_sdk() -> None:
    from flexprice import Flexprice

    methods, version = compat.sdk_methods()
    if not methods:
        pytest.skip("the official flexprice SDK is not installed")
    client = Flexprice(server_url="http://127.0.0.1:9/v1", api_key_auth="k")
    assert version.count(".") == 2
    assert len(methods) > 100
    for operation_id in ("getCustomerUsageSummary", "queryInvoice", "createWallet"):
        group, method = methods[operation_id].name.split(".")
        assert callable(getattr(getattr(client, group), method)), operation_id
    assert (methods["getCustomerUsageSummary"].method, methods["getCustomerUsageSummary"].path) == (
        "GET",
        "/customers/usage",
    )
