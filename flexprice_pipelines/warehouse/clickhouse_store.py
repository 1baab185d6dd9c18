"""``raw_events`` in ClickHouse (production), through clickhouse-connect — a server, or chdb in-process.

DDL choices (see README.md): ReplacingMergeTree versioned by ``ingested_at`` so background merges fold exact
redeliveries and same-timestamp re-sends; monthly partitions on the event time so a billing window prunes to
one or two partitions; ORDER BY (tenant, environment, customer, timestamp, id) so a customer's window is one
contiguous range of the primary index. Merges are eventual and never cross partitions (a re-send may move
an event to another month), so correctness comes from the read-time view ``raw_events_latest``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.client import Client

from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.warehouse.base import events_to_arrow
from flexprice_pipelines.warehouse.reads import (
    EVENT_COLUMNS,
    BillingReads,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The billing reads (``reads.py`` says what their rows become); ``{name:Type}`` parameters, ``{db}`` the database.
_EVENTS_SQL = (
    f"select {', '.join(EVENT_COLUMNS)} from {{db}}.raw_events_latest where tenant_id = {{tenant:String}} "
    "and environment_id = {env:String} and has({customers:Array(String)}, external_customer_id) "
    "and timestamp >= {start:DateTime64(6, 'UTC')} and timestamp < {end:DateTime64(6, 'UTC')} "
    "order by external_customer_id, timestamp"
)
_USAGE_SQL = (
    "select window_id, meter_id, quantity, event_count from {db}.fct_period_usage "
    "where tenant_id = {tenant:String} and has({periods:Array(String)}, period_key)"
)
_BUCKETS_SQL = (
    "select window_id, bucket_start, bucket_quantity from {db}.fct_period_usage_buckets "
    "where tenant_id = {tenant:String} and has({periods:Array(String)}, period_key)"
)
_INGESTED_SQL = (
    "select tenant_id, environment_id, external_customer_id, min(timestamp), max(ingested_at) "
    "from {db}.raw_events where ingested_at > {since:DateTime64(6, 'UTC')} "
    "group by 1, 2, 3 order by 1, 2, 3"
)
# Keyed by the interval counted, [usage_start, window_end) (defs/usage_consistency.py).
_FCT_CONSISTENCY_SQL = (
    "select environment_id, external_customer_id, meter_id, window_start, window_end, usage_start, "
    "aggregation_type, quantity from {db}.fct_period_usage "
    "where tenant_id = {tenant:String} and period_key = {period:String}"
)


def raw_events_ddl(database: str) -> list[str]:
    """The production DDL of ``raw_events`` and ``raw_events_latest`` in ``database``."""
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}",
        f"""
        CREATE TABLE IF NOT EXISTS {database}.raw_events (
            tenant_id LowCardinality(String),
            environment_id LowCardinality(String),
            event_id String,
            event_name LowCardinality(String),
            external_customer_id String,
            customer_id Nullable(String),
            `timestamp` DateTime64(6, 'UTC'),
            source LowCardinality(Nullable(String)),
            properties String CODEC(ZSTD(3)),
            ingested_at DateTime64(6, 'UTC'),
            INDEX idx_event_id event_id TYPE bloom_filter(0.01) GRANULARITY 4
        )
        ENGINE = ReplacingMergeTree(ingested_at)
        PARTITION BY toYYYYMM(`timestamp`)
        ORDER BY (tenant_id, environment_id, external_customer_id, `timestamp`, event_id)
        SETTINGS index_granularity = 8192
        """,
        f"""
        CREATE VIEW IF NOT EXISTS {database}.raw_events_latest AS
        SELECT
            tenant_id,
            environment_id,
            event_id,
            latest.1 AS event_name,
            latest.2 AS external_customer_id,
            latest.3 AS customer_id,
            latest.4 AS `timestamp`,
            latest.5 AS source,
            latest.6 AS properties,
            latest.7 AS ingested_at
        FROM (
            SELECT
                tenant_id,
                environment_id,
                event_id,
                argMax(
                    (event_name, external_customer_id, customer_id, `timestamp`, source, properties, ingested_at),
                    (ingested_at, `timestamp`, properties)
                ) AS latest
            FROM {database}.raw_events
            GROUP BY tenant_id, environment_id, event_id
        )
        """,
    ]


class ClickHouseWarehouse(BillingReads):
    """``Warehouse`` over a clickhouse-connect client (HTTP server or chdb)."""

    EVENTS_SQL = _EVENTS_SQL
    USAGE_SQL = _USAGE_SQL
    BUCKETS_SQL = _BUCKETS_SQL
    FCT_CONSISTENCY_SQL = _FCT_CONSISTENCY_SQL
    INGESTED_SQL = _INGESTED_SQL

    dialect = "clickhouse"

    def __init__(self, client: Client, *, database: str = "default") -> None:
        if not _IDENTIFIER.match(database):
            raise ValueError(f"invalid ClickHouse database name {database!r}")
        self.client = client
        self.database = database

    @classmethod
    def from_url(cls, url: str, *, database: str | None = None) -> ClickHouseWarehouse:
        """``clickhouse[s]://user:password@host:8123/db`` or ``chdb:///path`` (database ``default``)."""
        parts = urlsplit(url)
        if parts.scheme == "chdb":
            return cls(clickhouse_connect.get_client(dsn=url), database=database or "default")
        client = clickhouse_connect.get_client(
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if parts.scheme == "clickhouses" else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            secure=parts.scheme == "clickhouses",
        )
        return cls(client, database=database or parts.path.strip("/") or "default")

    def ensure_schema(self) -> None:
        """Create the database, table and view if missing."""
        for statement in raw_events_ddl(self.database):
            self.client.command(statement)

    def insert_events(self, events: Sequence[Event]) -> int:
        """Append the events as one insert (one part)."""
        if not events:
            return 0
        return self.insert_arrow(events_to_arrow(events))

    def insert_arrow(self, table: pa.Table) -> int:
        """Append an Arrow table with the ``raw_events`` columns as one insert (the sink's path)."""
        if not table.num_rows:
            return 0
        self.client.insert_arrow(f"{self.database}.raw_events", table)
        return int(table.num_rows)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ClickHouse SQL (``{name:Type}`` parameters); ``{db}`` in ``sql`` names this database."""
        result = self.client.query(
            sql.replace("{db}", self.database), parameters=dict(params) if params else None
        )
        return [tuple(row) for row in result.result_rows]

    @contextmanager
    def billing_inputs_target(self) -> Iterator[tuple[Any, str]]:
        """(clickhouse-connect client, database) for the ``warehouse.billing_inputs`` writers."""
        yield self.client, self.database

    def close(self) -> None:
        """Close the client."""
        self.client.close()
