"""``raw_events`` in a DuckDB file (the embedded default).

DuckDB allows one writing process per file, and Dagster runs write this file too: the store never keeps it
open between calls. Each call opens, works and closes; a lock held by another process is retried with
backoff for up to ``lock_timeout`` seconds. The sink may hold one connection for a short drain cycle of
several batches (``holding()``): opening a file and checkpointing it on close costs more than inserting
20,000 rows, so per-batch opening would cap its throughput.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.warehouse.base import RAW_EVENT_COLUMNS, events_to_arrow

_DDL = """
CREATE TABLE IF NOT EXISTS raw_events (
    tenant_id VARCHAR NOT NULL,
    environment_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    event_name VARCHAR NOT NULL,
    external_customer_id VARCHAR NOT NULL,
    customer_id VARCHAR,
    "timestamp" TIMESTAMPTZ NOT NULL,
    source VARCHAR,
    properties VARCHAR NOT NULL,
    ingested_at TIMESTAMPTZ NOT NULL
);
CREATE OR REPLACE VIEW raw_events_latest AS
SELECT *
FROM raw_events
QUALIFY row_number() OVER (
    PARTITION BY tenant_id, environment_id, event_id
    ORDER BY ingested_at DESC, "timestamp" DESC, properties DESC
) = 1;
"""

_COLUMNS = ", ".join(f'"{c}"' for c in RAW_EVENT_COLUMNS)


class WarehouseBusy(RuntimeError):
    """Another process kept the DuckDB file locked for longer than the lock timeout."""


class DuckDBWarehouse:
    """``Warehouse`` over one DuckDB file, opened per call."""

    dialect = "duckdb"

    def __init__(self, path: str | Path, *, lock_timeout: float = 60.0) -> None:
        self.path = str(path)
        self.lock_timeout = lock_timeout
        self._held: duckdb.DuckDBPyConnection | None = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection (UTC session time zone), retried while another process holds the lock.

        Inside ``holding()`` this is a cursor on the held connection instead.
        """
        if self._held is not None:
            cursor = self._held.cursor()
            try:
                cursor.execute("SET TimeZone = 'UTC'")
                yield cursor
            finally:
                cursor.close()
            return
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    def _open(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.05
        while True:
            try:
                conn = duckdb.connect(self.path)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(f"{self.path} stayed locked for {self.lock_timeout}s: {exc}") from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
        try:
            conn.execute("SET TimeZone = 'UTC'")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Keep one connection open for every call inside the block (a sink drain cycle), then close it.

        Keep the block short: while it lasts, other processes (Dagster runs) wait for the file.
        """
        if self._held is not None:
            yield
            return
        self._held = self._open()
        try:
            yield
        finally:
            conn, self._held = self._held, None
            conn.close()

    def ensure_schema(self) -> None:
        """Create the table and the de-duplicating view."""
        with self.connect() as conn:
            conn.execute(_DDL)

    def insert_events(self, events: Sequence[Event]) -> int:
        """Append the events in one transaction."""
        if not events:
            return 0
        return self.insert_arrow(events_to_arrow(events))

    def insert_arrow(self, table: pa.Table) -> int:
        """Append an Arrow table with the ``raw_events`` columns in one transaction (the sink's path)."""
        if not table.num_rows:
            return 0
        with self.connect() as conn:
            conn.register("incoming_events", table)
            try:
                conn.execute(f"INSERT INTO raw_events ({_COLUMNS}) SELECT {_COLUMNS} FROM incoming_events")
            finally:
                conn.unregister("incoming_events")
        return table.num_rows

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run DuckDB SQL (``$name`` parameters)."""
        with self.connect() as conn:
            return conn.execute(sql, dict(params) if params else None).fetchall()

    def close(self) -> None:
        """Nothing stays open between calls."""
