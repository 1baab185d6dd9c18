"""``raw_events`` in a DuckDB file (the embedded default).

DuckDB allows one process per file, and Dagster runs, their dbt subprocess and the sink all use this file: the
store never keeps it open between calls, and it opens it only during a turn (``warehouse.turns``), which
makes the processes take turns instead of racing for DuckDB's lock. Each call takes the turn, opens, works,
closes and gives the turn back; a process outside the protocol (a ``duckdb`` shell) that holds the file
is still waited for with backoff, within the same bound. The sink may hold one connection for a drain
cycle of several batches (``holding()``): opening a file and checkpointing it on close costs more than
inserting 20,000 rows, so per-batch opening would cap its throughput; it gives the file back between two
batches as soon as someone waits for it (``turn_wanted()``).
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
from flexprice_pipelines.warehouse import turns
from flexprice_pipelines.warehouse.base import RAW_EVENT_COLUMNS, events_to_arrow
from flexprice_pipelines.warehouse.reads import (
    EVENT_COLUMNS,
    BillingReads,
)
from flexprice_pipelines.warehouse.turns import TURN_TIMEOUT, Turns, WarehouseBusy

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

# The billing reads (``reads.py`` says what their rows become); ``$name`` parameters.
_EVENTS_SQL = (
    "select {columns} from raw_events_latest where tenant_id = $tenant and environment_id = $env "
    'and list_contains($customers, external_customer_id) and "timestamp" >= $start '
    'and "timestamp" < $end order by external_customer_id, "timestamp"'
).format(columns=", ".join('"timestamp"' if c == "timestamp" else c for c in EVENT_COLUMNS))
_USAGE_SQL = (
    "select window_id, meter_id, quantity, event_count from fct_period_usage "
    "where tenant_id = $tenant and list_contains($periods, period_key)"
)
_BUCKETS_SQL = (
    "select window_id, bucket_start, bucket_quantity from fct_period_usage_buckets "
    "where tenant_id = $tenant and list_contains($periods, period_key)"
)
_INGESTED_SQL = (
    'select tenant_id, environment_id, external_customer_id, min("timestamp"), max(ingested_at) '
    "from raw_events where ingested_at > $since group by all order by 1, 2, 3"
)
# Keyed by the interval counted, [usage_start, window_end) (defs/usage_consistency.py).
_FCT_CONSISTENCY_SQL = (
    "select environment_id, external_customer_id, meter_id, window_start, window_end, usage_start, "
    "aggregation_type, quantity from fct_period_usage where tenant_id = $tenant and period_key = $period"
)


class DuckDBWarehouse(BillingReads):
    """``Warehouse`` over one DuckDB file, opened per call."""

    EVENTS_SQL = _EVENTS_SQL
    USAGE_SQL = _USAGE_SQL
    BUCKETS_SQL = _BUCKETS_SQL
    FCT_CONSISTENCY_SQL = _FCT_CONSISTENCY_SQL
    INGESTED_SQL = _INGESTED_SQL

    dialect = "duckdb"

    def __init__(self, path: str | Path, *, lock_timeout: float = TURN_TIMEOUT) -> None:
        self.path = str(path)
        self.lock_timeout = lock_timeout
        self._held: duckdb.DuckDBPyConnection | None = None
        self._turns = Turns(self.path) if self.path != ":memory:" else None

    @contextmanager
    def turn(self, *, yielding: bool = False) -> Iterator[None]:
        """Hold this process's turn on the file for the block (nothing for ``:memory:``)."""
        if self._turns is None:
            yield
            return
        with self._turns.turn(yielding=yielding, timeout=self.lock_timeout):
            yield

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The file to this process for the block, for work that opens it without this store (dbt).

        Taking the turn keeps out every process of the protocol; opening the file once also waits out one
        that ignores it (dbt-duckdb would fail at once on its lock).
        """
        with self.turn():
            self._open().close()
            yield

    def turn_wanted(self) -> bool:
        """Whether another process waits for the file (the sink gives it back between batches)."""
        return self._turns is not None and self._turns.wanted()

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
        with self.turn():
            conn = self._open()
            try:
                yield conn
            finally:
                conn.close()

    def _open(self) -> duckdb.DuckDBPyConnection:
        # Within a turn the file is free unless a process outside the protocol holds it.
        started = time.monotonic()
        deadline, next_report = started + self.lock_timeout, started + turns.PROGRESS_EVERY
        delay = 0.05
        while True:
            try:
                conn = duckdb.connect(self.path)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                now = time.monotonic()
                if now >= next_report:
                    turns.log.warning("waiting %.0fs for the warehouse %s: %s", now - started, self.path, exc)
                    next_report = now + turns.PROGRESS_EVERY
                if now >= deadline:
                    raise WarehouseBusy(
                        f"{self.path} stayed locked for {self.lock_timeout}s by a process outside the "
                        f"turn protocol: {exc}"
                    ) from exc
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

        The sink's turn: taken politely (waiting runs go first) and without a bound, since the sink has
        nothing better to do than wait. Keep the block short and end it when ``turn_wanted()``: while it
        lasts, other processes (Dagster runs) wait for the file.
        """
        if self._held is not None:
            yield
            return
        with self.turn(yielding=True):
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
        return int(table.num_rows)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run DuckDB SQL (``$name`` parameters)."""
        with self.connect() as conn:
            return conn.execute(sql, dict(params) if params else None).fetchall()

    @contextmanager
    def billing_inputs_target(self) -> Iterator[tuple[Any, str]]:
        """(connection, database) for the ``warehouse.billing_inputs`` writers, for the block."""
        with self.connect() as conn:
            yield conn, "main"

    def close(self) -> None:
        """Nothing stays open between calls."""
