"""usage read model: per-event rows, window aggregates, distinct values and bucket maxima (usage/tables.py)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 21:12:36.737417
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import flexprice_pipelines.catalog.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_event_versions",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column(
            "ingested_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("timestamp", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "environment_id", "event_id", name=op.f("pk_usage_event_versions")
        ),
    )
    op.create_table(
        "usage_meter_events",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column("external_customer_id", sa.String(length=255), nullable=False),
        sa.Column("timestamp", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "ingested_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("value", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("unique_value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id", "environment_id", "event_id", "meter_id", name=op.f("pk_usage_meter_events")
        ),
    )
    with op.batch_alter_table("usage_meter_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_meter_events_window",
            ["tenant_id", "environment_id", "external_customer_id", "meter_id", "timestamp"],
            unique=False,
        )

    op.create_table(
        "usage_window_buckets",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("external_customer_id", sa.String(length=255), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column(
            "window_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("window_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "bucket_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("bucket_max", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "environment_id",
            "external_customer_id",
            "meter_id",
            "window_start",
            "window_end",
            "bucket_start",
            name=op.f("pk_usage_window_buckets"),
        ),
    )
    op.create_table(
        "usage_window_values",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("external_customer_id", sa.String(length=255), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column(
            "window_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("window_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unique_value", sa.Text(), nullable=False),
        sa.Column("refcount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "environment_id",
            "external_customer_id",
            "meter_id",
            "window_start",
            "window_end",
            "unique_value",
            name=op.f("pk_usage_window_values"),
        ),
    )
    op.create_table(
        "usage_windows",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("external_customer_id", sa.String(length=255), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=False),
        sa.Column(
            "window_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("window_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("is_billing_window", sa.Boolean(), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("value_count", sa.BigInteger(), nullable=False),
        sa.Column("value_sum", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("weighted_sum", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("value_min", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("value_max", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("latest_value", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column(
            "latest_timestamp", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "latest_ingested_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("latest_event_id", sa.String(length=255), nullable=True),
        sa.Column("unique_count", sa.BigInteger(), nullable=False),
        sa.Column("bucket_max_total", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "environment_id",
            "external_customer_id",
            "meter_id",
            "window_start",
            "window_end",
            name=op.f("pk_usage_windows"),
        ),
    )
    with op.batch_alter_table("usage_windows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_usage_windows_end",
            ["tenant_id", "environment_id", "external_customer_id", "meter_id", "window_end"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_windows_end")

    op.drop_table("usage_windows")
    op.drop_table("usage_window_values")
    op.drop_table("usage_window_buckets")
    with op.batch_alter_table("usage_meter_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_meter_events_window")

    op.drop_table("usage_meter_events")
    op.drop_table("usage_event_versions")
