"""The outbox path end to end: IngestService → outbox → Sink → DuckDB / ClickHouse, with DLQ and listeners."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.outbox import OutboxBus, OutboxSource, connect_outbox
from flexprice_pipelines.events.schema import Event, TenantScope
from flexprice_pipelines.events.sink import Sink
from flexprice_pipelines.warehouse.base import Warehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.events.scenario import usage_stream
from tests.warehouse.shared import NOW, billed_totals, fresh_clickhouse, raw_row_count

SCOPE = TenantScope("tenant-a", "prod")


class Recorder:
    """A real listener: the read model of a later issue will look like this (idempotent by identity)."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.seen: dict[tuple[str, str, str], Event] = {}
        self.durable_when_called: list[bool] = []

    def on_events(self, events: Sequence[Event]) -> None:
        count, _ = billed_totals(self.warehouse)
        self.durable_when_called.append(count > 0)
        for event in events:
            self.seen[event.identity] = event


@pytest.fixture(params=["duckdb", "clickhouse"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
        warehouse.ensure_schema()
        return warehouse
    return fresh_clickhouse()


def test_resent_ids_count_once_at_their_latest_version(outbox: OutboxBus, store: Warehouse) -> None:
    stream = usage_stream(NOW, events=3000, batch_size=250, seed=7)
    assert stream.resent > 200 and stream.moved > 100
    service = IngestService(outbox)
    for i, batch in enumerate(stream.batches):
        service.ingest(SCOPE, batch, NOW + timedelta(seconds=i))  # later batches are later versions

    listener = Recorder(store)
    source = OutboxSource(outbox.path)
    totals = Sink(source, store, listeners=[listener], batch_size=700).run(once=True)

    assert totals.inserted == 3000 and totals.dead == 0
    assert billed_totals(store) == stream.expected
    assert len(listener.seen) == len(stream.latest) and all(listener.durable_when_called)
    assert source.drained()
    assert connect_outbox(outbox.path).execute("SELECT count(*) FROM outbox").fetchone() == (0,)  # pruned


def test_poison_rows_go_to_the_dlq_and_the_sink_keeps_going(outbox: OutboxBus, tmp_path: Path) -> None:
    service = IngestService(outbox)
    service.ingest(
        SCOPE,
        [{"event_id": "ok-1", "event_name": "x", "external_customer_id": "c", "properties": {"amount": 1}}],
        NOW,
    )
    poison = [
        b"{not json",
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "x", "external_customer_id": "c"}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": 5, "event_name": "x", "external_customer_id": "c",'
        b' "timestamp": "2024-03-20T00:00:00Z", "ingested_at": "2024-03-20T00:00:00Z"}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "y", "event_name": "x", "external_customer_id": "c",'
        b' "timestamp": "last tuesday", "ingested_at": "2024-03-20T00:00:00Z"}',
        b"[]",
    ]
    conn = connect_outbox(outbox.path)
    conn.executemany("INSERT INTO outbox (payload, enqueued_at) VALUES (?, 'test')", [(p,) for p in poison])
    service.ingest(
        SCOPE,
        [{"event_id": "ok-2", "event_name": "x", "external_customer_id": "c", "properties": {"amount": 2}}],
        NOW,
    )

    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    totals = Sink(OutboxSource(outbox.path), warehouse, batch_size=3).run(once=True)

    assert (totals.inserted, totals.dead) == (2, 5)
    assert warehouse.query("SELECT event_id FROM raw_events_latest ORDER BY event_id") == [
        ("ok-1",),
        ("ok-2",),
    ]
    reasons = dict(conn.execute("SELECT payload, reason FROM dlq ORDER BY seq").fetchall())
    assert reasons[poison[0]].startswith("not JSON")
    assert reasons[poison[1]] == "event_name: required non-empty string"
    assert reasons[poison[2]] == "event_id: required non-empty string"
    assert reasons[poison[3]].startswith("timestamp: not an RFC 3339 timestamp")
    assert reasons[poison[4]] == "not a JSON object"


def test_a_crash_before_commit_redelivers_and_still_counts_once(outbox: OutboxBus, tmp_path: Path) -> None:
    stream = usage_stream(NOW, events=400, batch_size=100, seed=3)
    service = IngestService(outbox)
    for i, batch in enumerate(stream.batches):
        service.ingest(SCOPE, batch, NOW + timedelta(seconds=i))
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()

    class CrashAfterInsert:
        def on_events(self, events: Sequence[Event]) -> None:
            raise RuntimeError("process died after the insert, before the commit")

    with pytest.raises(RuntimeError):
        Sink(OutboxSource(outbox.path), warehouse, listeners=[CrashAfterInsert()], batch_size=150).run(
            once=True
        )
    Sink(OutboxSource(outbox.path), warehouse, batch_size=150).run(once=True)

    assert raw_row_count(warehouse) == 550  # the first 150 were inserted twice
    assert billed_totals(warehouse) == stream.expected
