"""The dbt billing inputs of one (tenant, period) partition: ``billing_windows`` and the meter snapshot.

The pipeline writes them next to ``raw_events`` before ``dbt run`` builds ``fct_period_usage`` (dbt/). Every
writer replaces exactly its slice — delete, then insert — so re-running a partition is always safe:

- ``billing_windows``: one row per subscription line item × billing window ending in ``period_key`` (the UTC
  month of ``window_end``); slice = (tenant, environment, period_key).
- ``billing_meters`` + ``billing_meter_filters`` (one row per filter value): the tenant environment's meter
  definitions; slice = (tenant, environment).

Both engines get the same columns. ClickHouse has no NULL in sort keys, so optional text columns are
``''`` there and NULL in DuckDB; the dbt models read both as "none".
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
from clickhouse_connect.driver.client import Client

from flexprice_pipelines.billing.meters import Meter, ResetUsage

Target = duckdb.DuckDBPyConnection | Client
"""A DuckDB connection or a clickhouse-connect client (HTTP server or chdb)."""

_PERIOD_KEY = re.compile(r"\d{4}-(0[1-9]|1[0-2])\Z")

WINDOW_COLUMNS = (
    "tenant_id",
    "environment_id",
    "period_key",
    "window_id",
    "subscription_id",
    "line_item_id",
    "price_id",
    "meter_id",
    "customer_id",
    "external_customer_id",
    "window_start",
    "window_end",
    "usage_start",
)
METER_COLUMNS = (
    "tenant_id",
    "environment_id",
    "meter_id",
    "event_name",
    "aggregation_type",
    "aggregation_field",
    "multiplier",
    "bucket_size",
    "reset_usage",
    "feature_id",
    "feature_name",
)
_CLICKHOUSE_NULLABLE = frozenset({"multiplier"})
FILTER_COLUMNS = ("tenant_id", "environment_id", "meter_id", "filter_key", "filter_value")

DUCKDB_DDL = (
    """
    CREATE TABLE IF NOT EXISTS billing_windows (
        tenant_id VARCHAR NOT NULL,
        environment_id VARCHAR NOT NULL,
        period_key VARCHAR NOT NULL,
        window_id VARCHAR NOT NULL,
        subscription_id VARCHAR NOT NULL,
        line_item_id VARCHAR NOT NULL,
        price_id VARCHAR NOT NULL,
        meter_id VARCHAR NOT NULL,
        customer_id VARCHAR NOT NULL,
        external_customer_id VARCHAR NOT NULL,
        window_start TIMESTAMPTZ NOT NULL,
        window_end TIMESTAMPTZ NOT NULL,
        usage_start TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS billing_meters (
        tenant_id VARCHAR NOT NULL,
        environment_id VARCHAR NOT NULL,
        meter_id VARCHAR NOT NULL,
        event_name VARCHAR NOT NULL,
        aggregation_type VARCHAR NOT NULL,
        aggregation_field VARCHAR,
        multiplier DECIMAL(38, 18),
        bucket_size VARCHAR,
        reset_usage VARCHAR NOT NULL,
        feature_id VARCHAR,
        feature_name VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS billing_meter_filters (
        tenant_id VARCHAR NOT NULL,
        environment_id VARCHAR NOT NULL,
        meter_id VARCHAR NOT NULL,
        filter_key VARCHAR NOT NULL,
        filter_value VARCHAR NOT NULL
    )
    """,
)


def clickhouse_ddl(database: str) -> tuple[str, ...]:
    """The ClickHouse DDL of the three input tables in ``database``."""
    return (
        f"""
        CREATE TABLE IF NOT EXISTS {database}.billing_windows (
            tenant_id LowCardinality(String),
            environment_id LowCardinality(String),
            period_key LowCardinality(String),
            window_id String,
            subscription_id String,
            line_item_id String,
            price_id String,
            meter_id String,
            customer_id String,
            external_customer_id String,
            window_start DateTime64(6, 'UTC'),
            window_end DateTime64(6, 'UTC'),
            usage_start DateTime64(6, 'UTC')
        )
        ENGINE = MergeTree
        ORDER BY (tenant_id, environment_id, period_key, external_customer_id, window_id)
        """,
        f"""
        CREATE TABLE IF NOT EXISTS {database}.billing_meters (
            tenant_id LowCardinality(String),
            environment_id LowCardinality(String),
            meter_id String,
            event_name String,
            aggregation_type LowCardinality(String),
            aggregation_field String,
            multiplier Nullable(Decimal(38, 18)),
            bucket_size LowCardinality(String),
            reset_usage LowCardinality(String),
            feature_id String,
            feature_name String
        )
        ENGINE = MergeTree
        ORDER BY (tenant_id, environment_id, meter_id)
        """,
        f"""
        CREATE TABLE IF NOT EXISTS {database}.billing_meter_filters (
            tenant_id LowCardinality(String),
            environment_id LowCardinality(String),
            meter_id String,
            filter_key String,
            filter_value String
        )
        ENGINE = MergeTree
        ORDER BY (tenant_id, environment_id, meter_id, filter_key, filter_value)
        """,
    )


@dataclass(frozen=True, slots=True)
class BillingWindow:
    """One line item's usage window: usage counts over ``[usage_start, window_end)``.

    ``usage_start`` is ``window_start`` for meters that reset every period, the subscription's start for
    ``reset_usage = NEVER`` meters (cumulative usage); ``None`` means ``window_start``.
    """

    subscription_id: str
    line_item_id: str
    price_id: str
    meter_id: str
    customer_id: str
    external_customer_id: str
    window_start: datetime
    window_end: datetime
    usage_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class MeterFeature:
    """The feature a meter measures, for the usage-by-feature analytics."""

    feature_id: str
    feature_name: str


def window_id(tenant_id: str, environment_id: str, window: BillingWindow) -> str:
    """Deterministic id of a window row: a hash of its natural key (tenant, env, line item, bounds)."""
    key = "\x1f".join(
        (
            tenant_id,
            environment_id,
            window.subscription_id,
            window.line_item_id,
            _utc(window.window_start, "window_start").isoformat(),
            _utc(window.window_end, "window_end").isoformat(),
        )
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def period_key_of(window_end: datetime) -> str:
    """The partition's period key of a window: the UTC calendar month in which it ends."""
    return _utc(window_end, "window_end").strftime("%Y-%m")


def window_rows(
    tenant_id: str, environment_id: str, period_key: str, windows: Sequence[BillingWindow]
) -> list[tuple[Any, ...]]:
    """The ``billing_windows`` rows of a partition (in ``WINDOW_COLUMNS`` order), validated.

    Raises ``ValueError`` for a malformed period key, a naive or inverted window, or a window that ends
    after ``period_key`` (one ending earlier is a line item that ended inside the billing period).
    """
    if not _PERIOD_KEY.match(period_key):
        raise ValueError(f"period_key must be 'YYYY-MM', got {period_key!r}")
    rows = []
    for window in windows:
        start = _utc(window.window_start, "window_start")
        end = _utc(window.window_end, "window_end")
        usage_start = start if window.usage_start is None else _utc(window.usage_start, "usage_start")
        if not usage_start <= start <= end:
            raise ValueError(f"window {window.line_item_id}: need usage_start <= window_start <= window_end")
        # A window belongs to the partition of the billing period it is invoiced with: it ends in that
        # month, or earlier when its line item ends inside the period (usage counted up to the item's end).
        if period_key_of(end) > period_key:
            raise ValueError(
                f"window {window.line_item_id} ends {end.isoformat()}, after period {period_key}"
            )
        rows.append(
            (
                tenant_id,
                environment_id,
                period_key,
                window_id(tenant_id, environment_id, window),
                window.subscription_id,
                window.line_item_id,
                window.price_id,
                window.meter_id,
                window.customer_id,
                window.external_customer_id,
                start,
                end,
                usage_start,
            )
        )
    return rows


def meter_rows(
    tenant_id: str,
    environment_id: str,
    meters: Sequence[Meter],
    features: Mapping[str, MeterFeature] | None = None,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The ``billing_meters`` and ``billing_meter_filters`` rows of a meter snapshot (NULL for "none").

    Every meter needs an ``id``; ``features`` maps meter ids to the feature they measure.
    """
    features = features or {}
    meter_table: list[tuple[Any, ...]] = []
    filter_table: list[tuple[Any, ...]] = []
    for meter in meters:
        if not meter.id:
            raise ValueError(f"meter {meter.event_name!r} has no id")
        agg = meter.aggregation
        feature = features.get(meter.id)
        meter_table.append(
            (
                tenant_id,
                environment_id,
                meter.id,
                meter.event_name,
                agg.type.value,
                agg.field,
                agg.multiplier,
                agg.bucket_size.value if agg.bucket_size else None,
                (meter.reset_usage or ResetUsage.BILLING_PERIOD).value,
                feature.feature_id if feature else None,
                feature.feature_name if feature else None,
            )
        )
        filter_table.extend(
            (tenant_id, environment_id, meter.id, meter_filter.key, value)
            for meter_filter in meter.filters
            for value in dict.fromkeys(meter_filter.values)
        )
    return meter_table, filter_table


def ensure_billing_inputs(target: Target, *, database: str = "default") -> None:
    """Create the three input tables if missing (``database`` is used by ClickHouse only)."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        for statement in DUCKDB_DDL:
            target.execute(statement)
        return
    for statement in clickhouse_ddl(_identifier(database)):
        target.command(statement)


def write_billing_windows(
    target: Target,
    tenant_id: str,
    environment_id: str,
    period_key: str,
    windows: Sequence[BillingWindow],
    *,
    database: str = "default",
) -> int:
    """Replace the partition's ``billing_windows`` slice with ``windows``; return the row count."""
    rows = window_rows(tenant_id, environment_id, period_key, windows)
    scope = {"tenant_id": tenant_id, "environment_id": environment_id, "period_key": period_key}
    _replace(target, database, "billing_windows", WINDOW_COLUMNS, scope, rows)
    return len(rows)


def write_billing_meters(
    target: Target,
    tenant_id: str,
    environment_id: str,
    meters: Sequence[Meter],
    features: Mapping[str, MeterFeature] | None = None,
    *,
    database: str = "default",
) -> int:
    """Replace the tenant environment's meter snapshot (meters and filters); return the meter count."""
    meter_table, filter_table = meter_rows(tenant_id, environment_id, meters, features)
    scope = {"tenant_id": tenant_id, "environment_id": environment_id}
    _replace(target, database, "billing_meters", METER_COLUMNS, scope, meter_table)
    _replace(target, database, "billing_meter_filters", FILTER_COLUMNS, scope, filter_table)
    return len(meter_table)


def _replace(
    target: Target,
    database: str,
    table: str,
    columns: Sequence[str],
    scope: Mapping[str, str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    if isinstance(target, duckdb.DuckDBPyConnection):
        where = " AND ".join(f"{column} = ${column}" for column in scope)
        placeholders = ", ".join("?" for _ in columns)
        target.execute("BEGIN TRANSACTION")
        try:
            target.execute(f"DELETE FROM {table} WHERE {where}", dict(scope))
            if rows:
                target.executemany(f"INSERT INTO {table} VALUES ({placeholders})", list(rows))
            target.execute("COMMIT")
        except BaseException:
            target.execute("ROLLBACK")
            raise
        return
    qualified = f"{_identifier(database)}.{table}"
    where = " AND ".join(f"{column} = {{{column}:String}}" for column in scope)
    # Lightweight delete: the rows vanish from reads at once; a partial failure is healed by a re-run.
    target.command(f"DELETE FROM {qualified} WHERE {where}", parameters=dict(scope))
    if rows:
        data = [_clickhouse_row(row, columns) for row in rows]
        target.insert(qualified, data, column_names=list(columns))


def _clickhouse_row(row: tuple[Any, ...], columns: Sequence[str]) -> list[Any]:
    # Only the multiplier is Nullable in the ClickHouse DDL; an absent text value is ''.
    return [
        "" if value is None and column not in _CLICKHOUSE_NULLABLE else value
        for column, value in zip(columns, row, strict=True)
    ]


def _utc(moment: datetime, what: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"invalid ClickHouse database name {name!r}")
    return name


__all__ = [
    "DUCKDB_DDL",
    "FILTER_COLUMNS",
    "METER_COLUMNS",
    "WINDOW_COLUMNS",
    "BillingWindow",
    "MeterFeature",
    "Target",
    "clickhouse_ddl",
    "ensure_billing_inputs",
    "meter_rows",
    "period_key_of",
    "window_id",
    "window_rows",
    "write_billing_meters",
    "write_billing_windows",
]
