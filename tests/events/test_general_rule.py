"""The general rule of issue 11 item 1, on both buses: every event the API accepts is processed by the sink
(it lands in the warehouse, whose JSON functions read its properties), or is dead-lettered — never does it
stop the sink. Events are generated near every documented bound. And whatever a foreign producer writes
straight to the bus, the sink sets it aside or lands it, and the events after it still flow."""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.kafka import KafkaBus, KafkaSource, ensure_topics
from flexprice_pipelines.events.outbox import OutboxBus, OutboxSource, connect_outbox
from flexprice_pipelines.events.schema import (
    MAX_FIELD_LENGTH,
    MAX_PROPERTIES_DEPTH,
    MAX_PROPERTY_KEY_LENGTH,
    MAX_PROPERTY_STRING_LENGTH,
    MAX_PROPERTY_VALUES,
    Event,
    EventValidationError,
    TenantScope,
    validate_batch,
)
from flexprice_pipelines.events.sink import Sink
from flexprice_pipelines.warehouse.base import RAW_EVENT_COLUMNS, Warehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.events.poison import envelope
from tests.warehouse.shared import NOW, fresh_clickhouse

SCOPE = TenantScope("tenant-a", "prod")


def _near(bound: int) -> st.SearchStrategy[int]:
    return st.sampled_from([0, 1, bound - 1, bound, bound + 1])


_EDGE_NUMBERS = [
    "99999999999999999999.999999999999999999",
    "-99999999999999999999.999999999999999999",
    "100000000000000000000",
    "1e20",
    "-1e20",
    "9.9999999999999999999e19",
    "1e19",
    "1e-18",
    "1e-19",
    "0.000000000000000001",
    "0.0000000000000000001",
    "1.5" + "0" * 40,
    "0e-8190",
    "0e-8191",
    "1e400",
    "-1e30",
    "12.5",
    "18446744073709551616",  # beyond 64 bits
    "-0",
]
_numbers = st.one_of(
    st.sampled_from(_EDGE_NUMBERS).map(Decimal),
    st.sampled_from([10**20 - 1, 10**20, -(10**20) + 1, -(10**20), 2**63, 2**64]),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
)
_strings = st.one_of(
    st.text(max_size=10),
    st.sampled_from([*_EDGE_NUMBERS, "NaN", "Infinity", "-Infinity", " 1", "1_000", "1e400x"]),
    _near(MAX_PROPERTY_STRING_LENGTH).map(lambda n: "s" * n),
)
_keys = st.one_of(st.text(max_size=6), _near(MAX_PROPERTY_KEY_LENGTH).map(lambda n: "k" * n))
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _strings)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=10,
)


def _wrapped(value: Any, depth: int) -> dict[str, Any]:
    for _ in range(depth - 1):
        value = {"n": value}
    return value if isinstance(value, dict) else {"v": value}


_properties = st.one_of(
    st.dictionaries(_keys, _values, max_size=5),
    st.builds(
        _wrapped,
        _values,
        st.sampled_from([MAX_PROPERTIES_DEPTH - 1, MAX_PROPERTIES_DEPTH, MAX_PROPERTIES_DEPTH + 1, 255, 980]),
    ),
    _near(MAX_PROPERTY_VALUES).map(lambda n: {"l": list(range(max(n - 1, 0)))}),
    st.integers(7, 9).map(lambda n: {f"k{i}": "x" * 8192 for i in range(n)}),
)
_field_text = st.one_of(st.text(min_size=1, max_size=8), _near(MAX_FIELD_LENGTH).map(lambda n: "f" * n))
_offsets = st.sampled_from(["Z", "+14:00", "-12:00", "+05:30", "-00:01"])
_timestamps = st.one_of(
    st.none(),
    st.builds(
        lambda seconds, offset: (
            (NOW + timedelta(seconds=seconds)).astimezone(UTC).isoformat().replace("+00:00", offset)
        ),
        st.integers(-35 * 86400 - 2, 5 * 60 + 2),
        _offsets,
    ),
    st.sampled_from(["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+14:00", "2299-12-31T23:59:59Z"]),
)


@st.composite
def _events(draw: st.DrawFn, count: int) -> list[dict[str, Any]]:
    items = []
    for i in range(count):
        item: dict[str, Any] = {
            "event_id": f"g{i}-"
            + draw(st.one_of(st.just(""), _near(MAX_FIELD_LENGTH - 4).map(lambda n: "i" * n))),
            "event_name": draw(_field_text),
            "external_customer_id": draw(_field_text),
            "properties": draw(_properties),
        }
        for optional in ("customer_id", "source"):
            if draw(st.booleans()):
                item[optional] = draw(_field_text)
        timestamp = draw(_timestamps)
        if timestamp is not None:
            item["timestamp"] = timestamp
        items.append(item)
    return items


def _accepted(items: list[dict[str, Any]]) -> list[Event]:
    """What the API would accept of ``items``, one request each (the route calls exactly this)."""
    events = []
    for item in items:
        try:
            events.extend(validate_batch([item], SCOPE, NOW))
        except EventValidationError:
            continue
    return events


def _check_landed(
    warehouse: Warehouse, accepted: list[Event], dead: set[str], table: str = "raw_events"
) -> None:
    landed = {row[0] for row in warehouse.query(f"SELECT event_id FROM {table}")}
    ids = {event.event_id for event in accepted}
    assert landed | dead == ids  # the general rule: processed or dead-lettered, nothing else
    assert not dead, dead  # and the API's limits are the sink's: nothing it accepted is refused later


def _json_readable_duckdb(warehouse: DuckDBWarehouse) -> None:
    # The dbt models read properties with DuckDB's JSON functions: each landed document must parse.
    [(bad,)] = warehouse.query(
        "SELECT count(*) FROM raw_events WHERE NOT json_valid(properties) OR json_type(properties) <> 'OBJECT'"
    )
    assert bad == 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(items=_events(6))
def test_outbox_every_accepted_event_lands_or_is_dead_lettered(items: list[dict[str, Any]]) -> None:
    accepted = _accepted(items)
    with tempfile.TemporaryDirectory() as tmp:
        bus = OutboxBus(Path(tmp) / "outbox.db")
        for event in accepted:
            bus.publish([event])
        warehouse = DuckDBWarehouse(Path(tmp) / "w.duckdb")
        warehouse.ensure_schema()
        totals = Sink(OutboxSource(bus.path), warehouse, batch_size=4, poll_timeout=0.01).run(once=True)
        conn = connect_outbox(bus.path)
        dead = {orjson.loads(p)["event_id"] for (p,) in conn.execute("SELECT payload FROM dlq")}
        conn.close()
        bus.close()
        assert totals.inserted + totals.dead == len(accepted)
        _check_landed(warehouse, accepted, dead)
        _json_readable_duckdb(warehouse)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(items=_events(6))
def test_clickhouse_reads_every_accepted_event(items: list[dict[str, Any]]) -> None:
    accepted = _accepted(items)
    with tempfile.TemporaryDirectory() as tmp:
        bus = OutboxBus(Path(tmp) / "outbox.db")
        bus.publish(accepted)
        warehouse = fresh_clickhouse()
        Sink(OutboxSource(bus.path), warehouse, poll_timeout=0.01).run(once=True)
        bus.close()
        _check_landed(warehouse, accepted, set(), table="{db}.raw_events")
        [(bad,)] = warehouse.query("SELECT count() FROM {db}.raw_events WHERE NOT isValidJSON(properties)")
        assert bad == 0


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(items=_events(40))
def test_kafka_every_accepted_event_lands_or_is_dead_lettered(
    items: list[dict[str, Any]], kafka_bootstrap: str
) -> None:
    accepted = _accepted(items)
    topic = f"events_{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, [topic, f"{topic}_dlq"], partitions=2)
    bus = KafkaBus(kafka_bootstrap, topic=topic)
    bus.publish(accepted)
    bus.close()
    with tempfile.TemporaryDirectory() as tmp:
        warehouse = DuckDBWarehouse(Path(tmp) / "w.duckdb")
        warehouse.ensure_schema()
        source = KafkaSource(
            kafka_bootstrap,
            topic=topic,
            dlq_topic=f"{topic}_dlq",
            group_id=f"g_{topic}",
            session_timeout_ms=2000,
        )
        try:
            totals = Sink(source, warehouse, batch_size=9).run(once=True)
        finally:
            source.close()
        assert totals.dead == 0 and totals.inserted == len(accepted)
        _check_landed(warehouse, accepted, set())
        _json_readable_duckdb(warehouse)


# -- bypassing the API ----------------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_FIELDS = list(RAW_EVENT_COLUMNS)  # the bus message carries one key per warehouse column


@st.composite
def _foreign_message(draw: st.DrawFn, index: int) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "field", "deep", "text"]))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return json.dumps(draw(_json_values)).encode()
    document = envelope(f"foreign-{index}")
    if kind == "field":
        document[draw(st.sampled_from(_FIELDS))] = draw(_json_values | _strings | _numbers.map(str))
        return json.dumps(document, default=str).encode()
    if kind == "deep":
        depth = draw(st.sampled_from([33, 254, 255, 600, 1023, 1024, 1100, 3000]))
        text = '{"a": ' * depth + "1" + "}" * depth
        return (
            json.dumps({**document, "properties": None}).encode()[:-1]
            + b', "properties": '
            + text.encode()
            + b"}"
        )
    # A hand-written literal where orjson and json disagree (fractions, huge ints, escapes).
    literal = draw(
        st.sampled_from(["1.5", "1e400", "123456789012345678901234567890", '"\\ud800"', "-0.0", "1E-400"])
    )
    return (
        json.dumps({**document, "properties": None}).encode()[:-1]
        + b', "properties": {"x": '
        + literal.encode()
        + b"}}"
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_whatever_is_written_to_the_bus_the_sink_goes_on(data: st.DataObject) -> None:
    messages = [data.draw(_foreign_message(i)) for i in range(data.draw(st.integers(1, 8)))]
    with tempfile.TemporaryDirectory() as tmp:
        bus = OutboxBus(Path(tmp) / "outbox.db")
        conn = connect_outbox(bus.path)
        conn.executemany(
            "INSERT INTO outbox (payload, enqueued_at) VALUES (?, 'foreign')", [(m,) for m in messages]
        )
        later = validate_batch(
            [{"event_id": "later", "event_name": "x", "external_customer_id": "c"}], SCOPE, NOW
        )
        IngestService(bus).bus.publish(later)
        warehouse = DuckDBWarehouse(Path(tmp) / "w.duckdb")
        warehouse.ensure_schema()
        totals = Sink(OutboxSource(bus.path), warehouse, batch_size=3, poll_timeout=0.01).run(once=True)
        dead = conn.execute("SELECT count(*) FROM dlq").fetchone()
        conn.close()
        bus.close()
        assert totals.inserted + totals.dead == len(messages) + 1 and dead == (totals.dead,)
        assert ("later",) in warehouse.query("SELECT event_id FROM raw_events")
        _json_readable_duckdb(warehouse)
