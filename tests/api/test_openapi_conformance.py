"""The OpenAPI document says what the API does: every status a route answers is documented for that
operation, every body it sends validates against the documented schema, and the request schema calls
valid exactly the values the validators take (patterns and types included).

In-process and fast; ``test_schemathesis.py`` runs the same checks on generated requests.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import jsonschema
import orjson
import pytest
from pydantic import TypeAdapter, ValidationError

from api.app import openapi_schema
from api.schemas.common import Currency, Money, Name, PositiveMoney, Text, When
from api.schemas.entitlements import EntitlementCreate
from api.schemas.events import EVENT_SCHEMA
from flexprice_pipelines.events.schema import EventValidationError, TenantScope, validate_batch
from tests.api import factories
from tests.api.conftest import FROZEN_NOW, Tenant
from tests.api.test_isolation import _PUBLIC, ID_ROUTES, ROUTES, _body, _collection

DOCUMENT = openapi_schema()
BODY_ROUTES = [
    (m, p) for m, p in ROUTES if "requestBody" in DOCUMENT["paths"][p][m.lower()] and p not in _PUBLIC
]


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    root = {**schema, "components": DOCUMENT["components"]}
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_documented(method: str, path: str, response: Any) -> None:
    """``response`` is a status the operation documents, with a body valid against its schema."""
    operation = DOCUMENT["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], (method, path, status, sorted(operation["responses"]))
    content = operation["responses"][status].get("content", {})
    if "application/json" not in content:
        assert not response.content or response.headers["content-type"] in content, response.headers
        return
    assert response.headers["content-type"].startswith("application/json")
    errors = list(_validator(content["application/json"]["schema"]).iter_errors(response.json()))
    assert not errors, (method, path, status, response.text[:500], [e.message for e in errors[:3]])


def _concrete(path: str, value: str = "anything") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[1] not in _PUBLIC])
def test_a_missing_key_is_a_documented_401(tenant: Tenant, method: str, path: str) -> None:
    response = tenant.client.request(method, _concrete(path), json=_body(method, path))
    assert response.status_code == 401
    assert_documented(method, path, response)
    assert response.headers["www-authenticate"] == "ApiKey"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_repeated_header_is_a_documented_400(tenant: Tenant, method: str, path: str) -> None:
    headers = [("x-api-key", tenant.key), ("x-api-key", tenant.key)]
    response = tenant.client.request(method, _concrete(path), json=_body(method, path), headers=headers)
    assert response.status_code == 400, response.text
    assert_documented(method, path, response)


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_an_unknown_id_is_a_documented_404(tenant: Tenant, method: str, path: str) -> None:
    response = tenant.request(method, path.replace("{id}", "nope_0"), _body(method, path))
    assert response.status_code == 404, response.text
    assert_documented(method, path, response)


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_malformed_json_is_a_documented_400(tenant: Tenant, method: str, path: str) -> None:
    headers = {**tenant.headers, "content-type": "application/json"}
    response = tenant.client.request(method, _concrete(path, "nope_0"), content=b'{"a": ', headers=headers)
    assert response.status_code == 400, response.text
    assert_documented(method, path, response)


def _refuses_unknown_fields(method: str, path: str) -> bool:
    """Searches, our own webhook-endpoint bodies and ``StrictInputModel`` bodies: their schema says so."""
    content = DOCUMENT["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    name = content["$ref"].rsplit("/", 1)[-1] if "$ref" in content else None
    schema = DOCUMENT["components"]["schemas"][name] if name else content
    return schema.get("additionalProperties") is False


def test_strict_bodies_are_the_ones_documented_as_strict() -> None:
    strict = sorted(f"{m} {p}" for m, p in BODY_ROUTES if _refuses_unknown_fields(m, p))
    assert "POST /v1/subscriptions" in strict and "POST /v1/wallets/{id}/top-up" in strict, strict
    assert all(
        p.endswith("/search")
        or "/webhooks/endpoints" in p
        or "subscriptions" in p
        or "wallets" in p
        or "creditgrants" in p
        for p in strict
    ), strict


def _named(response: Any) -> list[str]:
    return [d["field"] for d in response.json()["details"]] if response.status_code >= 400 else []


@pytest.mark.parametrize(("method", "path"), [r for r in BODY_ROUTES if not r[1].startswith("/v1/events")])
def test_an_unknown_field_is_ignored_except_by_a_search(tenant: Tenant, method: str, path: str) -> None:
    """As Flexprice's JSON binding, an unknown field changes nothing: the answer is the one without it. A search
    refuses it (400): an ignored filter would widen the result; so do our own webhook-endpoint routes (no
    Flexprice binding to follow there, and an ignored ``secret`` would mislead)."""
    response = tenant.request(method, _concrete(path, "nope_0"), {"no_such_field": 1})
    assert_documented(method, path, response)
    if _refuses_unknown_fields(method, path):
        assert response.status_code == 400 and "body.no_such_field" in _named(response), response.text
        return
    without = tenant.request(method, _concrete(path, "nope_0"), {})
    assert (response.status_code, _named(response)) == (without.status_code, _named(without)), response.text
    assert "body.no_such_field" not in _named(response)


def test_duplicates_and_forbidden_state_changes_are_documented_409s(tenant: Tenant) -> None:
    customer = factories.customer(tenant)
    duplicate = tenant.post("/v1/customers", {"external_id": customer["external_id"], "name": "Again"})
    assert duplicate.status_code == 409
    assert_documented("POST", "/v1/customers", duplicate)
    plan = factories.plan(tenant, lookup_key="gold")
    taken = tenant.put(f"/v1/plans/{factories.plan(tenant)['id']}", {"lookup_key": "gold"})
    assert taken.status_code == 409 and plan["lookup_key"] == "gold"
    assert_documented("PUT", "/v1/plans/{id}", taken)
    subscription = factories.subscription(tenant)
    cancel = f"/v1/subscriptions/{subscription['id']}/cancel"
    assert tenant.post(cancel, factories.ACTION_BODIES["cancel"]).status_code == 200
    again = tenant.post(cancel, factories.ACTION_BODIES["cancel"])
    assert again.status_code == 409
    assert_documented("POST", "/v1/subscriptions/{id}/cancel", again)


@pytest.mark.parametrize("collection", sorted(factories.BY_COLLECTION))
def test_objects_and_lists_match_their_documented_schemas(tenant: Tenant, collection: str) -> None:
    obj = factories.BY_COLLECTION[collection](tenant)
    for method, path in [(m, p) for m, p in ROUTES if m == "GET" and _collection(p) == collection]:
        response = tenant.get(path.replace("{id}", obj["id"]))
        assert response.status_code == 200, (path, response.text)
        assert_documented(method, path, response)


def test_an_invalid_event_is_a_documented_400(tenant: Tenant) -> None:
    for path, body in (("/v1/events", {"event_name": " "}), ("/v1/events/bulk", {"events": [{}]})):
        response = tenant.client.post(
            path, content=orjson.dumps(body), headers={**tenant.headers, "content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert_documented("POST", path, response)


# -- the request schema and the validators agree ---------------------------------------------------------


def _schema_of(model: str, field: str) -> dict[str, Any]:
    schema: dict[str, Any] = DOCUMENT["components"]["schemas"][model]["properties"][field]
    return schema


def _documented_valid(schema: dict[str, Any], value: Any) -> bool:
    return bool(_validator(schema).is_valid(value))


def _as_json(value: Any) -> Any:
    # The schema judges a Decimal as the JSON number it was parsed from.
    return float(value) if isinstance(value, Decimal) else value


def _accepted(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


MONEY = [
    "12.50", "1.5e3", "1E+3", "-0", "+1", ".5", "5.", "0.000000000001", Decimal("1.5E+3"), Decimal("12.5"),
    " 1.5", "1.5 ", "1_000", "\u0661\u0662", "0x10", "1e", "", "abc",
]  # fmt: skip
WHEN = [
    "2024-03-20T15:04:05Z", "2024-03-20t15:04:05.123456+05:30", "1970-01-01T00:00:00Z", "2200-12-31T23:59:59Z",
    0, 1700000000, "1700000000", "2024-03-20 15:04:05Z", "2024-03-20T15:04Z", "2024-03-20T15:04:05",
    "2024-03-20T15:04:05+0100", "1969-12-31T23:59:59Z", "2201-01-01T00:00:00Z", "2024-13-01T00:00:00Z",
]  # fmt: skip
POSITIVE_NUMBERS = [0, 1, Decimal("0.5"), -1, Decimal("1E+15"), Decimal("999999999999999")]
TEXT = ["plain", "", "a\x00b", "\x00"]
CURRENCY = ["usd", "USD", " eur ", "us", "usdd", "u5d", "\u212aaa", 840]


@pytest.mark.parametrize(
    ("model", "field", "annotation", "values"),
    [
        ("CouponCreate", "amount_off", Money, MONEY),
        ("CouponCreate", "redeem_after", When, WHEN),
        ("CouponCreate", "currency", Currency, CURRENCY),
        ("TopUpRequest", "amount", PositiveMoney, POSITIVE_NUMBERS),
        ("CustomerCreate", "email", Text, TEXT),
    ],
)
def test_a_value_is_documented_valid_exactly_when_it_is_accepted(
    model: str, field: str, annotation: Any, values: list[Any]
) -> None:
    schema = _schema_of(model, field)
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    disagree = [v for v in values if _documented_valid(schema, _as_json(v)) != _accepted(adapter, v)]
    assert disagree == []


@pytest.mark.parametrize("amount", ['"1.3e9154606"', '"+.79E+21481790426"', "-1e1000000", "1e9154606"])
def test_a_decimal_past_the_context_exponent_is_a_400_not_a_500(tenant: Tenant, amount: str) -> None:
    # Found by schemathesis once the schema documented exponents: abs() overflowed the decimal context.
    content = f'{{"name": "Huge", "type": "fixed", "amount_off": {amount}, "currency": "usd"}}'.encode()
    headers = {**tenant.headers, "content-type": "application/json"}
    response = tenant.client.post("/v1/coupons", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["field"] == "body.amount_off"
    assert_documented("POST", "/v1/coupons", response)


@pytest.mark.parametrize("body", [b"1.5", b"2.46e16", b"5", b"true", b'"x"', b"[]"])
def test_a_body_that_is_not_a_json_object_is_refused(tenant: Tenant, body: bytes) -> None:
    # Found by schemathesis: FastAPI validates with from_attributes, so a Decimal body passed as {}.
    meter = factories.meter(tenant)
    headers = {**tenant.headers, "content-type": "application/json"}
    response = tenant.client.put(f"/v1/meters/{meter['id']}", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["field"] == "body"
    assert_documented("PUT", "/v1/meters/{id}", response)


def test_a_name_longer_than_documented_is_refused_even_if_it_trims_shorter() -> None:
    schema = _schema_of("CouponCreate", "name")
    adapter: TypeAdapter[Any] = TypeAdapter(Name)
    for value in (" " + "a" * 255, "a" * 255 + "\t"):
        assert not _documented_valid(schema, value)
        assert not _accepted(adapter, value)
    assert adapter.validate_python("  Launch ") == "Launch"


def test_a_boolean_or_integer_field_takes_only_json_booleans_and_numbers(tenant: Tenant) -> None:
    schema = DOCUMENT["components"]["schemas"]["EntitlementCreate"]
    base = {"feature_id": "feat_x", "entity_type": "PLAN", "entity_id": "plan_x"}
    for field, value in (
        ("is_enabled", 1),
        ("is_enabled", "true"),
        ("usage_limit", "5"),
        ("usage_limit", True),
    ):
        body = {**base, field: value}
        assert not _documented_valid(schema, body)
        with pytest.raises(ValidationError) as caught:
            EntitlementCreate.model_validate(body)
        assert caught.value.errors()[0]["loc"] == (field,)
    valid: list[tuple[str, Any]] = [
        ("is_enabled", False),
        ("usage_limit", 5),
        ("usage_limit", Decimal("5.0")),
    ]
    for field, value in valid:
        assert _documented_valid(schema, {**base, field: _as_json(value)})
        EntitlementCreate.model_validate({**base, field: value})


def test_a_null_timestamp_or_optional_event_field_is_documented_as_accepted() -> None:
    event = {"event_name": "api_call", "external_customer_id": "c-1", "timestamp": None, "source": None}
    event |= {"event_id": None, "customer_id": None, "properties": None}
    assert _documented_valid(EVENT_SCHEMA, event)
    [accepted] = validate_batch([event], TenantScope("t", "e"), FROZEN_NOW)
    assert accepted.timestamp == FROZEN_NOW
    for blank in ({**event, "event_name": "  "}, {**event, "external_customer_id": ""}):
        assert not _documented_valid(EVENT_SCHEMA, blank)
        with pytest.raises(EventValidationError):
            validate_batch([blank], TenantScope("t", "e"), FROZEN_NOW)
