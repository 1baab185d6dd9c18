"""Sink throughput (outbox → warehouse) into DuckDB and into chdb, beside a direct-insert ceiling.

    .venv/bin/python bench/bench_sink.py [--events 500000] [--batch-size 10000]

The sink figure covers everything the sink does per event: read the outbox, decode and check the message,
build the insert, write it, commit the position. The ceiling writes the same rows, already in memory as
Python values, straight into the store in the same batch size: the store's own cost, nothing else.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import clickhouse_connect
import duckdb
import pyarrow as pa

from flexprice_pipelines.events.codec import properties_json
from flexprice_pipelines.events.outbox import OutboxBus, OutboxSource
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.events.sink import Sink
from flexprice_pipelines.warehouse.base import RAW_EVENT_COLUMNS
from flexprice_pipelines.warehouse.clickhouse_store import ClickHouseWarehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

NOW = datetime(2024, 3, 20, 12, tzinfo=UTC)


def make_events(count: int) -> list[Event]:
    return [
        Event(
            tenant_id="tenant-a",
            environment_id="prod",
            event_id=f"event_{i:010d}",
            event_name="api_call" if i % 3 else "storage",
            external_customer_id=f"cust-{i % 500}",
            customer_id=None,
            timestamp=NOW - timedelta(seconds=i),
            source="bench",
            properties={"tokens": Decimal(i % 1000) / 4, "model": "m1", "region": "eu"},
            ingested_at=NOW + timedelta(microseconds=i),
        )
        for i in range(count)
    ]


def fill_outbox(path: Path, events: list[Event]) -> None:
    bus = OutboxBus(path)
    for start in range(0, len(events), 1000):
        bus.publish(events[start : start + 1000])
    bus.close()


def time_sink(
    outbox: Path, warehouse: DuckDBWarehouse | ClickHouseWarehouse, batch_size: int
) -> tuple[int, float]:
    source = OutboxSource(outbox)
    started, cpu_started = time.perf_counter(), time.process_time()
    totals = Sink(source, warehouse, batch_size=batch_size, poll_timeout=0.0).run(once=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    source.close()
    print(
        f"  {warehouse.dialect:10} sink used {cpu:.1f} CPU-s of {elapsed:.1f} s wall: "
        f"{totals.inserted / cpu:,.0f} ev per CPU-s"
    )
    return totals.inserted, elapsed


def arrow_chunks(events: list[Event], batch_size: int) -> list[list[tuple[object, ...]]]:
    rows: list[tuple[object, ...]] = [
        (
            e.tenant_id,
            e.environment_id,
            e.event_id,
            e.event_name,
            e.external_customer_id,
            e.customer_id,
            e.timestamp,
            e.source,
            properties_json(e.properties),
            e.ingested_at,
        )
        for e in events
    ]
    return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]


_SCHEMA = pa.schema(
    [
        (c, pa.timestamp("us", tz="UTC") if c in ("timestamp", "ingested_at") else pa.string())
        for c in RAW_EVENT_COLUMNS
    ]
)


def to_arrow(chunk: list[tuple[object, ...]]) -> pa.Table:
    columns = list(zip(*chunk, strict=True))
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, _SCHEMA, strict=True)], schema=_SCHEMA
    )


def ceiling_duckdb(path: Path, chunks: list[list[tuple[object, ...]]]) -> float:
    DuckDBWarehouse(path).ensure_schema()
    conn = duckdb.connect(str(path))
    started = time.perf_counter()
    for chunk in chunks:
        conn.register("chunk", to_arrow(chunk))
        conn.execute("INSERT INTO raw_events SELECT * FROM chunk")
        conn.unregister("chunk")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def ceiling_clickhouse(warehouse: ClickHouseWarehouse, chunks: list[list[tuple[object, ...]]]) -> float:
    started = time.perf_counter()
    for chunk in chunks:
        warehouse.client.insert_arrow(f"{warehouse.database}.raw_events", to_arrow(chunk))
    return time.perf_counter() - started


def report(store: str, count: int, sink_seconds: float, ceiling_seconds: float) -> None:
    sink_rate, ceiling_rate = count / sink_seconds, count / ceiling_seconds
    print(
        f"{store:8} sink {sink_rate:>10,.0f} ev/s   ceiling {ceiling_rate:>10,.0f} ev/s   "
        f"ratio {sink_rate / ceiling_rate:.2f}   [{load()}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fp-bench-"))
    try:
        fill_outbox(work / "outbox.db", make_events(args.events))
        shutil.copy(work / "outbox.db", work / "outbox-ch.db")
        # The sink process holds no other data: collect the generator's objects so that the garbage
        # collector does not walk them during the timed run, and pay the stores' lazy imports up front.
        gc.collect()
        warm_up(work)
        print(f"{args.events:,} events, batches of {args.batch_size:,}   [{load()}]")

        duck = DuckDBWarehouse(work / "sink.duckdb")
        duck.ensure_schema()
        duck_count, duck_seconds = time_sink(work / "outbox.db", duck, args.batch_size)
        assert duck_count == args.events, duck_count
        with duck.connect() as conn:  # what landed, not what the sink believes it wrote
            landed = conn.execute("SELECT count(*) FROM raw_events").fetchone()
        assert landed == (args.events,), landed

        client = clickhouse_connect.get_client(dsn=f"chdb://{work / 'chdb'}")
        sink_store, ceiling_store = (
            ClickHouseWarehouse(client, database="sink"),
            ClickHouseWarehouse(client, database="ceiling"),
        )
        sink_store.ensure_schema()
        ceiling_store.ensure_schema()
        ch_count, ch_seconds = time_sink(work / "outbox-ch.db", sink_store, args.batch_size)
        assert ch_count == args.events, ch_count
        landed_ch = client.command("SELECT count() FROM sink.raw_events")
        assert landed_ch == args.events, landed_ch

        chunks = arrow_chunks(make_events(args.events), args.batch_size)
        report("duckdb", duck_count, duck_seconds, ceiling_duckdb(work / "ceiling.duckdb", chunks))
        report("chdb", ch_count, ch_seconds, ceiling_clickhouse(ceiling_store, chunks))
        client.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def warm_up(work: Path) -> None:
    """One small sink run into a scratch DuckDB file: imports (pandas, via duckdb) are not throughput."""
    fill_outbox(work / "warm.db", make_events(1000))
    store = DuckDBWarehouse(work / "warm.duckdb")
    store.ensure_schema()
    source = OutboxSource(work / "warm.db")
    Sink(source, store, poll_timeout=0.0).run(once=True)
    source.close()


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


if __name__ == "__main__":
    main()
