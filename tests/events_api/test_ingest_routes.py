"""``POST /v1/events`` and ``/v1/events/bulk`` over HTTP on the embedded outbox: 202 only when durable,
every bad input a clear 4xx naming index and field, nothing half-written, scope from the key."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from flexprice_pipelines.catalog.models import TenantSettings
from flexprice_pipelines.events.codec import decode_event
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.outbox import OutboxBus, OutboxSource
from flexprice_pipelines.events.schema import MAX_BODY_BYTES
from flexprice_pipelines.events.sink import Sink
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.api.conftest import Tenant
from tests.events_api.conftest import FROZEN_NOW, outbox_rows


def _event(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"ev-{i}",
        "event_name": "api_call",
        "external_customer_id": f"cust-{i % 3}",
        "timestamp": (FROZEN_NOW - timedelta(minutes=i)).isoformat(),
        "properties": {"tokens": i},
        **extra,
    }


def _raw(t: Tenant, path: str, content: bytes) -> Any:
    return t.client.post(path, content=content, headers={**t.headers, "content-type": "application/json"})


def test_single_event_is_durable_before_the_202(tenant: Tenant, app: FastAPI) -> None:
    response = tenant.post("/v1/events", _event(1, event_name="  api_call  "))
    assert response.status_code == 202, response.text
    assert response.json()["event_id"] == "ev-1"
    [event] = [decode_event(p) for p in outbox_rows(app)]
    assert (event.tenant_id, event.environment_id) == (tenant.scope.tenant_id, tenant.scope.environment_id)
    assert (event.event_id, event.event_name, event.external_customer_id) == ("ev-1", "api_call", "cust-1")
    assert event.timestamp == FROZEN_NOW - timedelta(minutes=1)
    assert event.ingested_at == FROZEN_NOW  # the first request of the app's clock


def test_missing_id_and_timestamp_are_assigned_and_returned(tenant: Tenant, app: FastAPI) -> None:
    response = tenant.post("/v1/events", {"event_name": "api_call", "external_customer_id": "c"})
    assert response.status_code == 202, response.text
    assigned = response.json()["event_id"]
    assert assigned.startswith("event_")
    [event] = [decode_event(p) for p in outbox_rows(app)]
    assert event.event_id == assigned and event.timestamp == FROZEN_NOW


def test_bulk_answers_flexprices_message_and_keeps_request_order(tenant: Tenant, app: FastAPI) -> None:
    events = [_event(i) for i in range(5)] + [{"event_name": "x", "external_customer_id": "c"}]
    response = tenant.post("/v1/events/bulk", {"events": events})
    assert response.status_code == 202, response.text
    # Flexprice's body is a string map (its SDK reads Dict[str, str]): no id list.
    assert response.json() == {"message": "Events accepted for processing"}
    ids = [decode_event(p).event_id for p in outbox_rows(app)]
    assert ids[:5] == [f"ev-{i}" for i in range(5)] and ids[5].startswith("event_") and len(ids) == 6


def test_scope_comes_from_the_key_never_from_the_body(
    tenant: Tenant, other_tenant: Tenant, app: FastAPI
) -> None:
    forged = {"tenant_id": other_tenant.scope.tenant_id, "environment_id": other_tenant.scope.environment_id}
    assert tenant.post("/v1/events", _event(1, **forged)).status_code == 202
    assert tenant.post("/v1/events/bulk", {"events": [_event(2, **forged)], **forged}).status_code == 202
    scopes = {(e.tenant_id, e.environment_id) for e in map(decode_event, outbox_rows(app))}
    assert scopes == {(tenant.scope.tenant_id, tenant.scope.environment_id)}


def test_a_resent_id_is_accepted_and_counted_once_downstream(
    tenant: Tenant, app: FastAPI, tmp_path: Path
) -> None:
    assert tenant.post("/v1/events", _event(7, properties={"tokens": 10})).status_code == 202
    again = tenant.post("/v1/events/bulk", {"events": [_event(7, properties={"tokens": 25}), _event(8)]})
    assert again.status_code == 202, again.text

    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    warehouse.ensure_schema()
    source = OutboxSource(app.state.settings.home / "outbox.db")
    try:
        assert Sink(source, warehouse, poll_timeout=0).run(once=True).inserted == 3
    finally:
        source.close()
    rows = warehouse.query(
        "SELECT event_id, properties FROM raw_events_latest WHERE tenant_id = $t ORDER BY event_id",
        {"t": tenant.scope.tenant_id},
    )
    assert rows == [("ev-7", '{"tokens":25}'), ("ev-8", '{"tokens":8}')]  # the later request wins


def test_numbers_are_kept_exactly(tenant: Tenant, app: FastAPI) -> None:
    # 99999999999999999999: beyond 64 bits (orjson reads it as a float) yet within DECIMAL(38,18).
    body = (
        b'{"event_name": "x", "external_customer_id": "c",'
        b' "properties": {"price": 0.1, "big": 99999999999999999999, "n": 3, "deep": [{"f": 2.50}]}}'
    )
    assert _raw(tenant, "/v1/events", body).status_code == 202
    [event] = [decode_event(p) for p in outbox_rows(app)]
    assert event.properties == {
        "price": "0.1",
        "big": 99999999999999999999,
        "n": 3,
        "deep": [{"f": "2.50"}],
    }


def test_a_bad_batch_lists_every_index_and_field_and_writes_nothing(tenant: Tenant, app: FastAPI) -> None:
    events = [
        _event(0),
        {"event_name": "   ", "external_customer_id": "c"},
        {"event_name": "x"},
        {"event_name": 5, "external_customer_id": ["c"], "properties": "nope", "event_id": 12},
        "not an event",
        _event(5, timestamp=1710936000),
        _event(6, timestamp="2025-03-10T11:00:00"),
        _event(7),
    ]
    response = tenant.post("/v1/events/bulk", {"events": events})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "validation_error" and "nothing was accepted" in error["message"]
    assert {(d["index"], d["field"]) for d in error["details"]} == {
        (1, "events.1.event_name"),
        (2, "events.2.external_customer_id"),
        (3, "events.3.event_name"),
        (3, "events.3.external_customer_id"),
        (3, "events.3.properties"),
        (3, "events.3.event_id"),
        (4, "events.4.event"),
        (5, "events.5.timestamp"),
        (6, "events.6.timestamp"),
    }
    by_field = {d["field"]: d["message"] for d in error["details"]}
    assert by_field["events.2.external_customer_id"] == "required"
    assert by_field["events.1.event_name"] == "must not be empty"
    assert "RFC 3339" in by_field["events.5.timestamp"]
    assert "UTC offset" in by_field["events.6.timestamp"]
    assert outbox_rows(app) == []


def test_far_future_names_the_field_and_the_bound(tenant: Tenant, app: FastAPI) -> None:
    on_bound = _event(0, timestamp=(FROZEN_NOW + timedelta(minutes=5)).isoformat())
    too_far = _event(1, timestamp="2999-01-01T00:00:00Z")
    response = tenant.post("/v1/events/bulk", {"events": [on_bound, too_far]})
    assert response.status_code == 400
    [detail] = response.json()["details"]
    assert detail["field"] == "events.1.timestamp" and detail["index"] == 1
    assert "max_future" in detail["message"] and "5 minutes" in detail["message"]
    single = tenant.post("/v1/events", too_far)
    assert single.status_code == 400
    assert single.json()["details"][0]["field"] == "timestamp"
    assert outbox_rows(app) == []


def test_the_tenants_own_timestamp_policy_applies(tenant: Tenant, app: FastAPI) -> None:
    old = _event(0, timestamp=(FROZEN_NOW - timedelta(days=60)).isoformat())
    assert "max_past" in tenant.post("/v1/events", old).json()["message"]
    with app.state.database.session() as session:
        session.execute(
            update(TenantSettings)
            .where(
                TenantSettings.tenant_id == tenant.scope.tenant_id,
                TenantSettings.environment_id == tenant.scope.environment_id,
            )
            .values(event_max_past_days=90)
        )
        session.commit()
    assert tenant.post("/v1/events", old).status_code == 202


def test_batch_size_limits_name_events(tenant: Tenant, app: FastAPI) -> None:
    too_many = tenant.post("/v1/events/bulk", {"events": [_event(i) for i in range(1001)]})
    assert too_many.status_code == 400
    assert too_many.json()["details"] == [
        {"field": "events", "message": "holds 1001 events; at most 1000", "index": None}
    ]
    empty = tenant.post("/v1/events/bulk", {"events": []})
    assert empty.status_code == 400 and empty.json()["details"][0]["field"] == "events"
    assert tenant.post("/v1/events/bulk", {"events": [_event(i) for i in range(1000)]}).status_code == 202
    assert len(outbox_rows(app)) == 1000


@pytest.mark.parametrize(
    ("path", "body", "field", "fragment"),
    [
        ("/v1/events/bulk", b'{"events": [{"event_name": "x",', "body", "malformed JSON"),
        ("/v1/events/bulk", b"\xff\xfe\x00", "body", "malformed JSON"),
        ("/v1/events/bulk", b'{"events": [{"properties": {"n": NaN}}]}', "body", "malformed JSON"),
        ("/v1/events/bulk", b"", "body", "malformed JSON"),
        ("/v1/events/bulk", b'{"events": {"event_name": "x"}}', "events", "list"),
        ("/v1/events/bulk", b'[{"event_name": "x", "external_customer_id": "c"}]', "events", "list"),
        ("/v1/events", b'[{"event_name": "x", "external_customer_id": "c"}]', "body", "JSON object"),
        ("/v1/events", b'{"event_name": "x"', "body", "malformed JSON"),
        ("/v1/events", b'{"event_name": "\\ud800", "external_customer_id": "c"}', "body", "malformed JSON"),
    ],
)
def test_malformed_bodies_are_400(
    tenant: Tenant, app: FastAPI, path: str, body: bytes, field: str, fragment: str
) -> None:
    response = _raw(tenant, path, body)
    assert response.status_code == 400, response.text
    [detail] = response.json()["details"]
    assert detail["field"] == field and fragment in detail["message"] and detail["index"] is None
    assert outbox_rows(app) == []


def test_an_oversize_body_is_413_before_parsing(tenant: Tenant, app: FastAPI) -> None:
    body = b'{"events": [' + b" " * MAX_BODY_BYTES + b"]}"
    response = _raw(tenant, "/v1/events/bulk", body)
    assert response.status_code == 413
    error = response.json()
    assert error["code"] == "validation_error" and error["http_status_code"] == 413
    assert error["details"][0]["field"] == "body"
    assert str(MAX_BODY_BYTES) in error["message"]
    assert outbox_rows(app) == []


def test_no_key_or_a_bad_key_is_401(tenant: Tenant, app: FastAPI) -> None:
    for headers in ({}, {"x-api-key": "fp_not-a-key"}):
        for path, body in (("/v1/events", _event(0)), ("/v1/events/bulk", {"events": [_event(0)]})):
            response = tenant.client.post(path, json=body, headers=headers)
            assert response.status_code == 401 and response.json()["code"] == "permission_denied"
    assert outbox_rows(app) == []


def test_a_locked_outbox_is_503_and_nothing_is_written(tenant: Tenant, app: FastAPI) -> None:
    path = app.state.settings.home / "outbox.db"
    app.state.ingest_service = IngestService(OutboxBus(path, busy_timeout=0.2))
    assert tenant.post("/v1/events", _event(0)).status_code == 202
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        response = tenant.post("/v1/events/bulk", {"events": [_event(i) for i in range(1, 50)]})
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "1"
    assert len(outbox_rows(app)) == 1
    # The client retries the same ids once the bus is back.
    assert tenant.post("/v1/events/bulk", {"events": [_event(i) for i in range(1, 50)]}).status_code == 202
    assert len(outbox_rows(app)) == 50


def test_routes_are_documented_with_an_example_body(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for path, example_key in (("/v1/events", "event_name"), ("/v1/events/bulk", "events")):
        operation = paths[path]["post"]
        content = operation["requestBody"]["content"]["application/json"]
        assert example_key in content["example"] and content["schema"]["type"] == "object"
        assert {"202", "400", "401", "413", "503"} <= set(operation["responses"])
    bulk = paths["/v1/events/bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert bulk["properties"]["events"]["maxItems"] == 1000


def test_a_json_fraction_in_a_timestamp_is_refused_not_a_server_error(tenant: Tenant, app: FastAPI) -> None:
    response = _raw(tenant, "/v1/events", orjson.dumps(_event(0, timestamp=1.5)))
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "timestamp"
    assert outbox_rows(app) == []
