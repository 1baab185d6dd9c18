"""IngestService: every bad input is a clear 4xx-class error naming index and field; nothing is accepted."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.events.bus import BusUnavailable
from flexprice_pipelines.events.codec import decode_event, encode_event
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.outbox import OutboxBus, connect_outbox
from flexprice_pipelines.events.schema import (
    MAX_BODY_BYTES,
    EventValidationError,
    PayloadTooLarge,
    TenantScope,
    TimestampPolicy,
    numeric_problem,
    parse_bulk_body,
    parse_single_body,
    validate_batch,
)
from tests.warehouse.shared import NOW

SCOPE = TenantScope("tenant-a", "prod")


def _good(i: int = 0, **extra: Any) -> dict[str, Any]:
    return {"event_name": "api_call", "external_customer_id": f"cust-{i}", "properties": {"n": i}, **extra}


def _queued(bus: OutboxBus) -> list[bytes]:
    conn = connect_outbox(bus.path)
    try:
        return [row[0] for row in conn.execute("SELECT payload FROM outbox ORDER BY seq")]
    finally:
        conn.close()


def _rejects(service: IngestService, items: Any) -> list[dict[str, Any]]:
    with pytest.raises(EventValidationError) as caught:
        service.ingest(SCOPE, items, NOW)
    assert _queued(service.bus) == []  # type: ignore[arg-type]
    return caught.value.errors


def test_accepted_batch_is_on_the_bus_with_scope_from_the_key(outbox: OutboxBus) -> None:
    service = IngestService(outbox)
    body = (
        b'{"events": [{"event_id": "e-1", "event_name": "  api_call ", "external_customer_id": "c1", "tenant_id": "evil",'
        b' "timestamp": "2024-03-20T16:30:00+05:30", "properties": {"tokens": 12.50, "model": "gpt"}},'
        b' {"event_name": "api_call", "external_customer_id": "c2"}]}'
    )
    ids = service.ingest(SCOPE, parse_bulk_body(body), NOW)

    events = [decode_event(payload) for payload in _queued(outbox)]
    assert [e.event_id for e in events] == ids and ids[0] == "e-1" and ids[1].startswith("event_")
    first, second = events
    assert (first.tenant_id, first.environment_id, first.event_name) == ("tenant-a", "prod", "api_call")
    assert first.timestamp == NOW - timedelta(hours=1)
    assert first.properties == {"tokens": "12.50", "model": "gpt"}  # exact decimal text, never a float
    assert second.timestamp == NOW  # receipt time
    assert (first.ingested_at, second.ingested_at) == (NOW, NOW + timedelta(microseconds=1))


def test_every_bad_index_and_field_is_listed(outbox: OutboxBus) -> None:
    items = [
        _good(0),
        {"event_name": "   ", "external_customer_id": "c"},
        {"event_name": "x"},
        {"event_name": 5, "external_customer_id": ["c"], "properties": "nope"},
        "not an object",
        _good(5, timestamp=1710936000),
        _good(6, timestamp="2024-03-20T10:00:00"),
        _good(7, timestamp="yesterday"),
    ]
    errors = _rejects(IngestService(outbox), items)
    assert {(e["index"], e["field"]) for e in errors} == {
        (1, "event_name"),
        (2, "external_customer_id"),
        (3, "event_name"),
        (3, "external_customer_id"),
        (3, "properties"),
        (4, "event"),
        (5, "timestamp"),
        (6, "timestamp"),
        (7, "timestamp"),
    }
    assert all(e["message"] for e in errors)


def test_far_future_and_far_past_name_the_bound(outbox: OutboxBus) -> None:
    service = IngestService(outbox)
    items = [
        _good(0, timestamp=(NOW + timedelta(minutes=5)).isoformat()),  # on the bound: accepted
        _good(1, timestamp=(NOW + timedelta(minutes=5, seconds=1)).isoformat()),
        _good(2, timestamp=(NOW - timedelta(days=35, seconds=1)).isoformat()),
        _good(3, timestamp="2999-01-01T00:00:00Z"),
    ]
    errors = _rejects(service, items)
    assert [(e["index"], e["field"]) for e in errors] == [
        (1, "timestamp"),
        (2, "timestamp"),
        (3, "timestamp"),
    ]
    assert "future (max_future bound)" in errors[0]["message"] and "5 minutes" in errors[0]["message"]
    assert "past (max_past bound)" in errors[1]["message"] and "35 days" in errors[1]["message"]
    # A tenant with a wider policy accepts the same far-past event.
    wide = TimestampPolicy(max_past=timedelta(days=90))
    assert len(service.ingest(SCOPE, [items[2]], NOW, policy=wide)) == 1


def test_batch_size_limits_name_events(outbox: OutboxBus) -> None:
    service = IngestService(outbox)
    too_many = _rejects(service, [_good(i) for i in range(1001)])
    assert too_many == [{"index": None, "field": "events", "message": "holds 1001 events; at most 1000"}]
    assert _rejects(service, [])[0]["field"] == "events"
    assert len(service.ingest(SCOPE, [_good(i) for i in range(1000)], NOW)) == 1000


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (b'{"events": [{"event_name": "x",', "body", "malformed JSON"),
        (b"\xff\xfe", "body", "malformed JSON"),
        (
            b'{"events": [{"event_name": "x", "external_customer_id": "c", "properties": {"n": NaN}}]}',
            "body",
            "malformed",
        ),
        (b'{"events": {"event_name": "x"}}', "events", "list"),
        (b'[{"event_name": "x", "external_customer_id": "c"}]', "events", "list"),
    ],
)
def test_malformed_bulk_bodies(body: bytes, field: str, fragment: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_bulk_body(body)
    assert caught.value.errors[0]["index"] is None
    assert caught.value.errors[0]["field"] == field and fragment in caught.value.errors[0]["message"]


def test_oversize_body_is_refused_before_parsing() -> None:
    body = b'{"events": [' + b" " * MAX_BODY_BYTES + b"]}"
    with pytest.raises(PayloadTooLarge) as caught:
        parse_bulk_body(body)
    assert caught.value.errors[0]["field"] == "body" and "limit" in caught.value.errors[0]["message"]


def test_single_event_body() -> None:
    assert parse_single_body(
        b'{"event_name": "x", "external_customer_id": "c", "properties": {"v": 0.1}}'
    ) == [{"event_name": "x", "external_customer_id": "c", "properties": {"v": Decimal("0.1")}}]
    with pytest.raises(EventValidationError, match="must be a JSON object"):
        parse_single_body(b"[1]")


def test_a_float_is_a_programming_error_not_a_client_error(outbox: OutboxBus) -> None:
    with pytest.raises(TypeError, match="parse_float=Decimal"):
        IngestService(outbox).ingest(SCOPE, [_good(0, properties={"tokens": 0.1})], NOW)
    assert _queued(outbox) == []


def test_bus_failure_mid_batch_writes_nothing(tmp_path: Path) -> None:
    bus = OutboxBus(tmp_path / "outbox.db", busy_timeout=0.2)
    service = IngestService(bus)
    service.ingest(SCOPE, [_good(0)], NOW)
    with sqlite3.connect(bus.path) as conn:
        # A real failure on the third row of the batch: the disk/engine refuses it.
        conn.execute(
            "CREATE TRIGGER refuse_third AFTER INSERT ON outbox WHEN new.seq = 4 "
            "BEGIN SELECT RAISE(ABORT, 'disk refused the write'); END"
        )
    with pytest.raises(BusUnavailable, match="disk refused the write"):
        service.ingest(SCOPE, [_good(i) for i in range(1, 6)], NOW)
    assert len(_queued(bus)) == 1


def test_locked_outbox_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    bus = OutboxBus(tmp_path / "outbox.db", busy_timeout=0.2)
    service = IngestService(bus)
    service.ingest(SCOPE, [_good(0)], NOW)
    blocker = sqlite3.connect(bus.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(BusUnavailable, match="did not accept the batch"):
            service.ingest(SCOPE, [_good(1), _good(2)], NOW)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert len(_queued(bus)) == 1
    service.ingest(SCOPE, [_good(3)], NOW)  # the bus recovers once the lock is gone
    assert len(_queued(bus)) == 2


_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    # Numbers the engines count exactly (|v| < 1e20, numeric_problem); the rest is refused at ingest.
    st.integers(min_value=-(10**20) + 1, max_value=10**20 - 1),
    st.decimals(min_value=-(10**13), max_value=10**13, allow_nan=False, allow_infinity=False, places=6),
    st.text(max_size=12).filter(lambda text: numeric_problem(text) is None),
)
_properties = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.recursive(
        _json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    ),
    max_size=5,
)


def _as_wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _as_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_wire(v) for v in value]
    return value


@settings(max_examples=150, deadline=None)
@given(properties=_properties)
def test_properties_survive_the_bus_exactly(properties: dict[str, Any]) -> None:
    [event] = validate_batch([_good(0, properties=properties)], SCOPE, NOW)
    assert decode_event(encode_event(event)).properties == _as_wire(properties)


def test_json_numbers_are_exact_decimals_end_to_end(outbox: OutboxBus) -> None:
    body = b'{"event_name": "x", "external_customer_id": "c", "properties": {"p": 0.123456789012345678, "e": 1e-7}}'
    IngestService(outbox).ingest(SCOPE, parse_single_body(body), NOW)
    [payload] = _queued(outbox)
    assert decode_event(payload).properties == {"p": "0.123456789012345678", "e": "1E-7"}
