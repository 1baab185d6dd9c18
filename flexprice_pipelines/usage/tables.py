"""The read model's tables, in the catalog database (created by catalog migration 0002).

Core tables on their own ``MetaData`` rather than ORM models: the updater writes them with plain
statements on the sink's hot path, and they are never edited through the scoped ``Repository``.
Every key starts with ``(tenant_id, environment_id)``; usage is keyed by the event's
``external_customer_id`` so events count even before their customer exists in the catalog.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, MetaData, String, Table, Text

from flexprice_pipelines.catalog.models.base import NAMING_CONVENTION
from flexprice_pipelines.catalog.types import ExactDecimal, UTCDateTime

usage_metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _scope_columns() -> list[Column[str]]:
    return [
        Column("tenant_id", String(64), primary_key=True),
        Column("environment_id", String(64), primary_key=True),
    ]


def _window_key() -> list[Column[object]]:
    return [
        Column("external_customer_id", String(255), primary_key=True),
        Column("meter_id", String(64), primary_key=True),
        Column("window_start", UTCDateTime(), primary_key=True),
        Column("window_end", UTCDateTime(), primary_key=True),
    ]


# The winning version of every event id seen, matched by a meter or not: a late older version of an
# id must not count once a newer one (perhaps no longer matching any meter) has been applied.
event_versions = Table(
    "usage_event_versions",
    usage_metadata,
    *_scope_columns(),
    Column("event_id", String(255), primary_key=True),
    Column("ingested_at", UTCDateTime(), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
)

# One row per (event, matching meter): the source of truth windows are folded from.
meter_events = Table(
    "usage_meter_events",
    usage_metadata,
    *_scope_columns(),
    Column("event_id", String(255), primary_key=True),
    Column("meter_id", String(64), primary_key=True),
    Column("external_customer_id", String(255), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("ingested_at", UTCDateTime(), nullable=False),
    Column("value", ExactDecimal(), nullable=True),
    Column("unique_value", Text, nullable=True),
    Index(
        "ix_usage_meter_events_window",
        "tenant_id",
        "environment_id",
        "external_customer_id",
        "meter_id",
        "timestamp",
    ),
)

# Running aggregates per (customer, meter, window): what a check reads, O(1) in the event count.
windows = Table(
    "usage_windows",
    usage_metadata,
    *_scope_columns(),
    *_window_key(),
    Column("is_billing_window", Boolean, nullable=False, default=False),
    Column("event_count", BigInteger, nullable=False, default=0),
    Column("value_count", BigInteger, nullable=False, default=0),
    Column("value_sum", ExactDecimal(), nullable=False),
    # Σ value × µs(window_end − timestamp): WEIGHTED_SUM without rescanning.
    Column("weighted_sum", ExactDecimal(), nullable=False),
    Column("value_min", ExactDecimal(), nullable=True),
    Column("value_max", ExactDecimal(), nullable=True),
    Column("latest_value", ExactDecimal(), nullable=True),
    Column("latest_timestamp", UTCDateTime(), nullable=True),
    Column("latest_ingested_at", UTCDateTime(), nullable=True),
    Column("latest_event_id", String(255), nullable=True),
    Column("unique_count", BigInteger, nullable=False, default=0),
    # Σ of per-bucket maxima (bucketed MAX meters only).
    Column("bucket_max_total", ExactDecimal(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(
        "ix_usage_windows_end",
        "tenant_id",
        "environment_id",
        "external_customer_id",
        "meter_id",
        "window_end",
    ),
)

# COUNT_UNIQUE: how many of a window's events carry each distinct value.
window_values = Table(
    "usage_window_values",
    usage_metadata,
    *_scope_columns(),
    *_window_key(),
    Column("unique_value", Text, primary_key=True),
    Column("refcount", BigInteger, nullable=False),
)

# Bucketed MAX: each bucket's maximum, so the window total is a delta update.
window_buckets = Table(
    "usage_window_buckets",
    usage_metadata,
    *_scope_columns(),
    *_window_key(),
    Column("bucket_start", UTCDateTime(), primary_key=True),
    Column("bucket_max", ExactDecimal(), nullable=True),
)

__all__ = ["event_versions", "meter_events", "usage_metadata", "window_buckets", "window_values", "windows"]
