"""The fast paths behind the throughput targets give exactly the answers of the plain ones.

- Request bodies: ``parse_bulk_body`` (orjson, falling back to the exact parser) equals the standard
  library with ``parse_float=Decimal`` on any JSON, and refuses the same bodies.
- Sink: ``decode_batch`` (one pass into Arrow columns) equals ``decode_event`` message by message,
  including which messages are dead letters and why.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.events.bus import BusUnavailable
from flexprice_pipelines.events.codec import (
    BATCH_COLUMNS,
    PoisonMessage,
    decode_batch,
    decode_event,
    encode_event,
)
from flexprice_pipelines.events.outbox import OutboxBus
from flexprice_pipelines.events.schema import (
    Event,
    EventValidationError,
    TenantScope,
    parse_bulk_body,
    validate_batch,
)
from flexprice_pipelines.events.source import SourceMessage
from flexprice_pipelines.warehouse.base import RAW_EVENT_COLUMNS, events_to_arrow

NOW = datetime(2024, 3, 20, 12, tzinfo=UTC)
SCOPE = TenantScope("tenant-a", "prod")
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**25), max_value=10**25),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.text(max_size=6),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10,
)


def _json_text(value: Any) -> str:
    return json.dumps(value, default=str).replace('"__dec__', "").replace('__dec__"', "")


def _with_numbers(value: Any) -> Any:
    # Decimals are written as bare JSON numbers (json.dumps cannot): a marker stripped after dumping.
    if isinstance(value, Decimal):
        return f"__dec__{value}__dec__"
    if isinstance(value, dict):
        return {k: _with_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_numbers(v) for v in value]
    return value


def _exact(body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=Decimal)
    except ValueError:
        return "refused"


def _fast(body: bytes) -> Any:
    try:
        return {"events": parse_bulk_body(body)}
    except EventValidationError:
        return "refused"


# Outside ``properties`` a number beyond 64 bits is read as a float too (and refused like one, below).
_plain = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text(max_size=6)
)
_bodies = st.lists(
    st.fixed_dictionaries(
        {"event_name": _plain, "external_customer_id": _plain},
        optional={"properties": st.dictionaries(st.text(max_size=4), _values, max_size=4), "n": _plain},
    ),
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(events=_bodies, cut=st.integers(min_value=0, max_value=400))
def test_the_body_parser_equals_the_exact_parser(events: list[dict[str, Any]], cut: int) -> None:
    body = _json_text({"events": _with_numbers(events)}).encode()
    fast = _fast(body)
    assert fast == _exact(body) == {"events": events}
    truncated = body[:cut] if cut < len(body) else body + b"}"
    assert _fast(truncated) == _exact(truncated) == "refused"


def _outcome(items: Any) -> Any:
    try:
        return [replace(e, event_id="assigned") for e in validate_batch(items, SCOPE, NOW)]
    except EventValidationError as exc:
        return exc.errors


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(
        st.dictionaries(
            st.sampled_from(["event_name", "external_customer_id", "event_id", "timestamp", "properties"]),
            _values,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_fraction_outside_properties_is_refused_alike(events: list[dict[str, Any]]) -> None:
    # The fast parser leaves fractions (and integers beyond 64 bits) outside ``properties`` as floats: every
    # field there refuses a number anyway, so the answer is the same.
    body = _json_text({"events": _with_numbers(events)}).encode()
    assert _outcome(parse_bulk_body(body)) == _outcome(_exact(body)["events"])


_texts = st.text(min_size=1, max_size=6)
_events = st.builds(
    Event,
    tenant_id=_texts,
    environment_id=_texts,
    event_id=_texts,
    event_name=_texts,
    external_customer_id=_texts,
    customer_id=st.none() | _texts,
    timestamp=st.integers(min_value=-(10**9), max_value=10**9).map(
        lambda s: NOW + timedelta(microseconds=s * 997)
    ),
    source=st.none() | _texts,
    properties=st.dictionaries(st.text(max_size=4), _values, max_size=3),
    ingested_at=st.integers(min_value=0, max_value=10**6).map(lambda us: NOW + timedelta(microseconds=us)),
)
_foreign = st.sampled_from(
    [
        b"",
        b"{not json",
        b"[]",
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "x", "external_customer_id": "c"}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "x", "event_name": " n ", "external_customer_id": "c",'
        b' "timestamp": "2024-03-20T17:30:00+05:30", "properties": {"f": 0.25, "big": 123456789012345678901234}}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "y", "event_name": "n", "external_customer_id": "c",'
        b' "timestamp": "2024-03-20T12:00:00Z", "ingested_at": "2024-03-20T12:00:00.5Z", "properties": null}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "z", "event_name": "n", "external_customer_id": " ",'
        b' "timestamp": "2024-03-20T12:00:00Z", "ingested_at": "2024-03-20T12:00:00Z"}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "w", "event_name": "n", "external_customer_id": "c",'
        b' "timestamp": "2024-03-20T12:00:00", "ingested_at": "2024-03-20T12:00:00Z"}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "v", "event_name": "n", "external_customer_id": "c",'
        b' "timestamp": "2024-03-20 12:00:00.123456789Z", "ingested_at": "2024-03-20T12:00:00Z", "source": 3}',
    ]
)
_broker_time = st.none() | st.just(NOW)


@settings(max_examples=150, deadline=None)
@given(
    messages=st.lists(st.tuples(st.one_of(_events.map(encode_event), _foreign), _broker_time), max_size=12)
)
def test_decode_batch_equals_decode_event_on_each_message(
    messages: list[tuple[bytes, datetime | None]],
) -> None:
    batch = [SourceMessage(payload, i, None, at) for i, (payload, at) in enumerate(messages)]
    expected_events: list[Event] = []
    expected_dead: list[tuple[int, str]] = []
    for index, message in enumerate(batch):
        if not message.payload:
            expected_dead.append((index, "empty message"))
            continue
        try:
            expected_events.append(
                decode_event(message.payload, fallback_ingested_at=message.fallback_ingested_at)
            )
        except PoisonMessage as poison:
            expected_dead.append((index, poison.reason))

    decoded = decode_batch(batch)
    assert decoded.dead == expected_dead
    assert decoded.events() == expected_events
    assert decoded.table.equals(events_to_arrow(expected_events))


def test_batch_columns_are_the_raw_events_columns() -> None:
    assert BATCH_COLUMNS == RAW_EVENT_COLUMNS


def test_an_outbox_batch_larger_than_one_statement_is_still_one_transaction(tmp_path: Path) -> None:
    bus = OutboxBus(tmp_path / "outbox.db", busy_timeout=0.2)
    events = validate_batch([{"event_name": "x", "external_customer_id": "c"}] * 1000, SCOPE, NOW)
    bus.publish(events + events)  # two statements of 1,000 rows
    with sqlite3.connect(bus.path) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (2000,)
        # The disk refuses a row of the second statement: the first must not stay behind.
        conn.execute(
            "CREATE TRIGGER refuse AFTER INSERT ON outbox WHEN new.seq = 3500 "
            "BEGIN SELECT RAISE(ABORT, 'disk refused the write'); END"
        )
    with pytest.raises(BusUnavailable, match="disk refused"):
        bus.publish(events + events)
    with sqlite3.connect(bus.path) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (2000,)
    bus.close()
