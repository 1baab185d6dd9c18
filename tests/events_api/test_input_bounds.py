"""Issue 11 items 1, 6 and 8 at the API: what the sink or an engine could not process is a 400 naming the
field (never a 202, never a 500), and a body that is not declared JSON is a 415 on every route."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from flexprice_pipelines.catalog.models import TenantSettings
from flexprice_pipelines.events.schema import (
    MAX_FIELD_LENGTH,
    MAX_PROPERTIES_CHARS,
    MAX_PROPERTIES_DEPTH,
    MAX_PROPERTY_KEY_LENGTH,
    MAX_PROPERTY_STRING_LENGTH,
    MAX_PROPERTY_VALUES,
)
from tests.api.conftest import Tenant
from tests.events_api.conftest import FROZEN_NOW, outbox_rows

BASE = '{"event_name": "api_call", "external_customer_id": "c"'


def _post(tenant: Tenant, path: str, body: str, content_type: str | None = "application/json") -> Any:
    headers = dict(tenant.headers)
    if content_type is not None:
        headers["content-type"] = content_type
    return tenant.client.post(path, content=body.encode(), headers=headers)


def _nested(depth: int) -> str:
    """``properties`` nested ``depth`` levels deep (the object itself is level 1)."""
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def _details(response: Any) -> list[tuple[str, str]]:
    return [(d["field"], d["message"]) for d in response.json()["details"]]


@pytest.mark.parametrize("depth", [MAX_PROPERTIES_DEPTH + 1, 255, 300, 980, 995, 1023, 1100, 5000])
def test_deep_properties_are_400_naming_properties_single_and_bulk(
    tenant: Tenant, app: FastAPI, depth: int
) -> None:
    event = f'{BASE}, "properties": {_nested(depth)}}}'
    single = _post(tenant, "/v1/events", event)
    assert single.status_code == 400, single.text
    assert _details(single) == [("properties", f"nests deeper than {MAX_PROPERTIES_DEPTH} levels")]
    bulk = _post(tenant, "/v1/events/bulk", f'{{"events": [{BASE}}}, {event}]}}')
    assert bulk.status_code == 400, bulk.text
    assert _details(bulk) == [("events.1.properties", f"nests deeper than {MAX_PROPERTIES_DEPTH} levels")]
    assert outbox_rows(app) == []


def test_properties_at_the_depth_limit_are_accepted(tenant: Tenant, app: FastAPI) -> None:
    response = _post(tenant, "/v1/events", f'{BASE}, "properties": {_nested(MAX_PROPERTIES_DEPTH)}}}')
    assert response.status_code == 202, response.text
    assert len(outbox_rows(app)) == 1


@pytest.mark.parametrize(
    ("properties", "field", "message"),
    [
        ({"k" * (MAX_PROPERTY_KEY_LENGTH + 1): 1}, "properties", "has a key of 256 characters; at most 255"),
        (
            {"a": {"s": "x" * (MAX_PROPERTY_STRING_LENGTH + 1)}},
            "properties.a.s",
            f"is a string of {MAX_PROPERTY_STRING_LENGTH + 1} characters; at most {MAX_PROPERTY_STRING_LENGTH}",
        ),
        (
            {"list": list(range(MAX_PROPERTY_VALUES))},
            "properties",
            f"holds more than {MAX_PROPERTY_VALUES} keys and list items",
        ),
        (
            {f"k{i}": "x" * 8000 for i in range(MAX_PROPERTIES_CHARS // 8000 + 1)},
            "properties",
            f"keys and strings hold more than {MAX_PROPERTIES_CHARS} characters",
        ),
    ],
)
def test_oversized_properties_are_400_naming_the_field(
    tenant: Tenant, app: FastAPI, properties: dict[str, Any], field: str, message: str
) -> None:
    event = {"event_name": "x", "external_customer_id": "c", "properties": properties}
    single = tenant.post("/v1/events", event)
    assert single.status_code == 400 and _details(single) == [(field, message)], single.text
    bulk = tenant.post("/v1/events/bulk", {"events": [event]})
    assert bulk.status_code == 400 and _details(bulk) == [(f"events.0.{field}", message)], bulk.text
    assert outbox_rows(app) == []


@pytest.mark.parametrize("name", ["event_id", "event_name", "external_customer_id", "customer_id", "source"])
def test_every_event_field_has_a_length_limit(tenant: Tenant, app: FastAPI, name: str) -> None:
    on_limit = {"event_name": "x", "external_customer_id": "c", name: "v" * MAX_FIELD_LENGTH}
    assert tenant.post("/v1/events", on_limit).status_code == 202
    over = {**on_limit, name: "v" * (MAX_FIELD_LENGTH + 1)}
    single = tenant.post("/v1/events", over)
    assert single.status_code == 400
    assert _details(single) == [
        (name, f"is {MAX_FIELD_LENGTH + 1} characters long; at most {MAX_FIELD_LENGTH}")
    ]
    bulk = tenant.post("/v1/events/bulk", {"events": [on_limit, over]})
    assert bulk.status_code == 400 and [f for f, _ in _details(bulk)] == [f"events.1.{name}"]
    assert len(outbox_rows(app)) == 1


OUT_OF_RANGE = "is a number outside -1e20 < v < 1e20 (DECIMAL(38,18))"


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("1e400", OUT_OF_RANGE),
        ('"1e400"', OUT_OF_RANGE),
        ("-1e30", OUT_OF_RANGE),
        ('"-1e30"', OUT_OF_RANGE),
        ("100000000000000000000", OUT_OF_RANGE),
        ('"-100000000000000000000.0"', OUT_OF_RANGE),
        ("1e20", OUT_OF_RANGE),
        ("1.0000000000000000001", "has 19 digits after the decimal point; at most 18 (DECIMAL(38,18))"),
        ('"0.0000000000000000001"', "has 19 digits after the decimal point; at most 18 (DECIMAL(38,18))"),
        ("1e-19", "has 19 digits after the decimal point; at most 18 (DECIMAL(38,18))"),
    ],
)
def test_numbers_no_engine_counts_exactly_are_400_naming_the_key_path(
    tenant: Tenant, app: FastAPI, literal: str, message: str
) -> None:
    single = _post(tenant, "/v1/events", f'{BASE}, "properties": {{"usage": {{"tokens": [1, {literal}]}}}}}}')
    assert single.status_code == 400, single.text
    assert _details(single) == [("properties.usage.tokens.1", message)]
    bulk = _post(
        tenant, "/v1/events/bulk", f'{{"events": [{BASE}}}, {BASE}, "properties": {{"n": {literal}}}}}]}}'
    )
    assert bulk.status_code == 400 and _details(bulk) == [("events.1.properties.n", message)], bulk.text
    assert outbox_rows(app) == []


@pytest.mark.parametrize(
    "literal",
    [
        "99999999999999999999.999999999999999999",
        '"-99999999999999999999.999999999999999999"',
        "99999999999999999999",
        "1.500000000000000000000000000000",  # trailing zeros do not count
        '"12.5"',
        "1e19",
        "0e-400",
        '"NaN"',
        '"Infinity"',
        '"-Infinity"',
        '" 1e400"',  # not a numeric string (whitespace): plain text, as every engine reads it
        '"1_000"',
        '"1e400 tokens"',
    ],
)
def test_representable_numbers_and_non_numeric_strings_are_accepted(
    tenant: Tenant, app: FastAPI, literal: str
) -> None:
    response = _post(tenant, "/v1/events", f'{BASE}, "properties": {{"n": {literal}}}}}')
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "timestamp",
    ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59.999999-00:01"],
)
def test_timestamps_without_a_utc_instant_are_400_not_500(
    tenant: Tenant, app: FastAPI, timestamp: str
) -> None:
    event = {"event_name": "x", "external_customer_id": "c", "timestamp": timestamp}
    single = tenant.post("/v1/events", event)
    assert single.status_code == 400, single.text
    [(field, message)] = _details(single)
    assert field == "timestamp" and "supported range" in message
    bulk = tenant.post("/v1/events/bulk", {"events": [event]})
    assert bulk.status_code == 400 and [f for f, _ in _details(bulk)] == ["events.0.timestamp"]
    assert outbox_rows(app) == []


def test_a_tenant_policy_wider_than_the_stores_still_stops_at_their_range(
    tenant: Tenant, app: FastAPI
) -> None:
    with app.state.database.session() as session:
        session.execute(
            update(TenantSettings)
            .where(
                TenantSettings.tenant_id == tenant.scope.tenant_id,
                TenantSettings.environment_id == tenant.scope.environment_id,
            )
            .values(event_max_past_days=100 * 366)
        )
        session.commit()
    inside = FROZEN_NOW - timedelta(days=100 * 365)
    assert inside.year < 1930
    ok = tenant.post(
        "/v1/events", {"event_name": "x", "external_customer_id": "c", "timestamp": inside.isoformat()}
    )
    assert ok.status_code == 202, ok.text
    before_1900 = {"event_name": "x", "external_customer_id": "c", "timestamp": "1899-12-31T23:59:59Z"}
    refused = tenant.post("/v1/events", before_1900)
    assert refused.status_code == 400 and _details(refused)[0][0] == "timestamp"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/json", None]
)
@pytest.mark.parametrize(
    "path",
    ["/v1/events", "/v1/events/bulk", "/v1/customers", "/v1/entitlements/check", "/v1/meters"],
)
def test_a_body_not_declared_json_is_415_on_every_route(
    tenant: Tenant, app: FastAPI, path: str, content_type: str | None
) -> None:
    body = f'{{"events": [{BASE}}}]}}' if path.endswith("bulk") else f"{BASE}}}"
    response = _post(tenant, path, body, content_type)
    assert response.status_code == 415, response.text
    assert response.json()["details"][0]["field"] == "header.content-type"
    assert outbox_rows(app) == []


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_media_types_with_parameters_or_suffix_are_read(
    tenant: Tenant, app: FastAPI, content_type: str
) -> None:
    assert _post(tenant, "/v1/events", f"{BASE}}}", content_type).status_code == 202
    assert _post(tenant, "/v1/events/bulk", f'{{"events": [{BASE}}}]}}', content_type).status_code == 202


def test_an_empty_body_is_left_to_the_route(tenant: Tenant) -> None:
    # No body, no media type to check: the route answers as before (here: its body is required).
    response = tenant.client.post("/v1/customers", headers=tenant.headers)
    assert response.status_code == 400, response.text
    assert _details(response) == [("body", "Field required")]
