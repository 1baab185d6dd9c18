"""Issue 11 item 1 at the sink: no message on the bus can stop it. Every stage (decode, warehouse write,
listeners) dead-letters the rows it cannot process, with the reason, and lands the rest; later events flow.
An outage (an error that is not about the rows) still stops the batch, which is redelivered whole."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.kafka import KafkaBus, KafkaSource, ensure_topics
from flexprice_pipelines.events.outbox import OutboxBus, OutboxSource, connect_outbox
from flexprice_pipelines.events.schema import Event, TenantScope
from flexprice_pipelines.events.sink import Sink
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.events.poison import envelope, poison_messages
from tests.events.test_kafka import _read_all
from tests.warehouse.shared import NOW

SCOPE = TenantScope("tenant-a", "prod")


def _good(prefix: str, count: int) -> list[dict[str, object]]:
    return [
        {
            "event_id": f"{prefix}{i}",
            "event_name": "api_call",
            "external_customer_id": "cust-1",
            "properties": {"amount": i},
        }
        for i in range(count)
    ]


def _landed(warehouse: DuckDBWarehouse) -> set[str]:
    return {row[0] for row in warehouse.query("SELECT event_id FROM raw_events")}


def _warehouse(tmp_path: Path) -> DuckDBWarehouse:
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    return warehouse


def _dlq(outbox: OutboxBus) -> dict[bytes, str]:
    conn = connect_outbox(outbox.path)
    try:
        return dict(conn.execute("SELECT payload, reason FROM dlq").fetchall())
    finally:
        conn.close()


def test_outbox_poison_is_dead_lettered_with_its_reason_and_later_events_flow(
    outbox: OutboxBus, tmp_path: Path
) -> None:
    service = IngestService(outbox)
    service.ingest(SCOPE, _good("before-", 5), NOW)
    poison = poison_messages()
    conn = connect_outbox(outbox.path)
    conn.executemany(
        "INSERT INTO outbox (payload, enqueued_at) VALUES (?, 'foreign')", [(p,) for p, _ in poison.values()]
    )
    conn.close()
    service.ingest(SCOPE, _good("after-", 5), NOW)
    warehouse = _warehouse(tmp_path)

    # Small batches: poison meets good rows in the same batch, and every batch boundary is crossed.
    totals = Sink(OutboxSource(outbox.path), warehouse, batch_size=7).run(once=True)

    assert (totals.inserted, totals.dead) == (10, len(poison))
    assert _landed(warehouse) == {f"before-{i}" for i in range(5)} | {f"after-{i}" for i in range(5)}
    reasons = _dlq(outbox)
    for name, (payload, expected) in poison.items():
        assert reasons[payload].startswith(expected), (name, reasons[payload])
        assert len(reasons[payload]) <= 500

    service.ingest(SCOPE, _good("later-", 3), NOW)  # the sink is not stuck: a new run takes new events
    assert Sink(OutboxSource(outbox.path), warehouse).run(once=True).inserted == 3


def test_kafka_poison_is_dead_lettered_with_its_reason_and_later_events_flow(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = f"events_{uuid.uuid4().hex[:8]}"
    dlq = f"{topic}_dlq"
    ensure_topics(kafka_bootstrap, [topic, dlq], partitions=2)
    bus = KafkaBus(kafka_bootstrap, topic=topic)
    service = IngestService(bus)
    service.ingest(SCOPE, _good("before-", 5), NOW)
    poison = poison_messages()
    raw = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for payload, _ in poison.values():
        raw.produce(topic, key=b"tenant-a:cust-1", value=payload)
    assert raw.flush(10) == 0
    service.ingest(SCOPE, _good("after-", 5), NOW)
    warehouse = _warehouse(tmp_path)

    def source() -> KafkaSource:
        return KafkaSource(
            kafka_bootstrap, topic=topic, dlq_topic=dlq, group_id=f"g_{topic}", session_timeout_ms=2000
        )

    first = source()
    try:
        totals = Sink(first, warehouse, batch_size=7).run(once=True)
    finally:
        first.close()

    assert (totals.inserted, totals.dead) == (10, len(poison))
    assert _landed(warehouse) == {f"before-{i}" for i in range(5)} | {f"after-{i}" for i in range(5)}
    letters = {
        value: headers["dlq_reason"].decode()
        for value, headers in _read_all(kafka_bootstrap, dlq, len(poison))
    }
    for name, (payload, expected) in poison.items():
        assert letters[payload].startswith(expected), (name, letters[payload])

    service.ingest(SCOPE, _good("later-", 3), NOW)
    bus.close()
    second = source()
    try:
        assert Sink(second, warehouse).run(once=True).inserted == 3
    finally:
        second.close()


def test_a_row_the_warehouse_refuses_is_dead_lettered_and_the_rest_of_its_batch_lands(
    outbox: OutboxBus, tmp_path: Path
) -> None:
    # A real store refusal: this warehouse's raw_events carries a CHECK that one event breaks.
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    with warehouse.connect() as conn:
        conn.execute(
            "CREATE TABLE raw_events (tenant_id VARCHAR, environment_id VARCHAR, event_id VARCHAR "
            "CHECK (event_id <> 'refused-by-store'), event_name VARCHAR, external_customer_id VARCHAR, "
            "customer_id VARCHAR, timestamp TIMESTAMPTZ, source VARCHAR, properties VARCHAR, ingested_at TIMESTAMPTZ)"
        )
    warehouse.ensure_schema()
    items = _good("ok-", 40)
    items.insert(17, {"event_id": "refused-by-store", "event_name": "api_call", "external_customer_id": "c"})
    IngestService(outbox).ingest(SCOPE, items, NOW)

    totals = Sink(OutboxSource(outbox.path), warehouse).run(once=True)

    assert (totals.inserted, totals.dead) == (40, 1)
    assert _landed(warehouse) == {f"ok-{i}" for i in range(40)}
    [(payload, reason)] = _dlq(outbox).items()
    assert orjson.loads(payload)["event_id"] == "refused-by-store"
    assert reason.startswith("warehouse: ConstraintException") and "CHECK constraint" in reason


class RefusesOne:
    """A listener whose data rule refuses one event (as the read model would a value it cannot store)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_events(self, events: Sequence[Event]) -> None:
        if any(event.event_id == "refused-by-listener" for event in events):
            raise ValueError("cannot apply refused-by-listener")
        self.seen.extend(event.event_id for event in events)


def test_a_row_a_listener_refuses_is_dead_lettered_and_the_others_reach_it(
    outbox: OutboxBus, tmp_path: Path
) -> None:
    items = _good("ok-", 30)
    items.insert(
        3, {"event_id": "refused-by-listener", "event_name": "api_call", "external_customer_id": "c"}
    )
    IngestService(outbox).ingest(SCOPE, items, NOW)
    warehouse = _warehouse(tmp_path)
    listener = RefusesOne()

    totals = Sink(OutboxSource(outbox.path), warehouse, listeners=[listener]).run(once=True)

    assert (totals.inserted, totals.dead) == (31, 1)  # it is in the warehouse: billing still counts it
    assert sorted(listener.seen) == sorted(f"ok-{i}" for i in range(30))
    [reason] = _dlq(outbox).values()
    assert reason.startswith("listener 0 (RefusesOne, row is in the warehouse): ValueError: cannot apply")


class Outage:
    def on_events(self, events: Sequence[Event]) -> None:
        raise OSError("catalog database unreachable")


def test_an_outage_is_not_dead_lettered_the_batch_is_redelivered(outbox: OutboxBus, tmp_path: Path) -> None:
    IngestService(outbox).ingest(SCOPE, _good("ok-", 10), NOW)
    warehouse = _warehouse(tmp_path)
    with pytest.raises(OSError, match="unreachable"):
        Sink(OutboxSource(outbox.path), warehouse, listeners=[Outage()]).run(once=True)
    assert _dlq(outbox) == {}
    again = Sink(OutboxSource(outbox.path), warehouse).run(once=True)  # redelivered whole
    assert (again.inserted, again.dead) == (10, 0)


def test_the_fast_decoder_agrees_with_the_exact_one_on_poison() -> None:
    # decode_batch takes a fast path for API-shaped messages; poison in that shape must not slip through.
    from flexprice_pipelines.events.codec import PoisonMessage, decode_batch, decode_event
    from flexprice_pipelines.events.source import SourceMessage

    payloads = [payload for payload, _ in poison_messages().values()] + [orjson.dumps(envelope("fine"))]
    batch = decode_batch([SourceMessage(p, i) for i, p in enumerate(payloads)])
    assert [row for row in batch.rows] == [len(payloads) - 1]
    for index, reason in batch.dead:
        with pytest.raises(PoisonMessage) as refused:
            decode_event(payloads[index])
        assert refused.value.reason == reason
