"""webhooks: tenant endpoints, system events, deliveries and their attempts (catalog/models/webhooks.py)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 21:23:29.408405
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import flexprice_pipelines.catalog.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "system_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "occurred_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_system_events_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_system_events_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_events")),
    )
    with op.batch_alter_table("system_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_system_events_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_system_events_idempotency_key",
            ["tenant_id", "environment_id", "idempotency_key"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column(
            "enabled_events",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("endpoint_status", sa.String(length=20), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_webhook_endpoints_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_endpoints_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_endpoints_scope", ["tenant_id", "environment_id", "status"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("delivery_status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "delivered_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.id"], name=op.f("fk_webhook_deliveries_endpoint_id")
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_webhook_deliveries_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["system_events.id"], name=op.f("fk_webhook_deliveries_event_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_deliveries_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_deliveries_due", ["delivery_status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_webhook_deliveries_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_webhook_deliveries_event_id_endpoint_id",
            ["tenant_id", "environment_id", "event_id", "endpoint_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "webhook_delivery_attempts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "attempted_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "delivered_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["webhook_deliveries.id"], name=op.f("fk_webhook_delivery_attempts_delivery_id")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["webhook_endpoints.id"], name=op.f("fk_webhook_delivery_attempts_endpoint_id")
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_webhook_delivery_attempts_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["system_events.id"], name=op.f("fk_webhook_delivery_attempts_event_id")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_delivery_attempts_tenant_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery_attempts")),
    )
    with op.batch_alter_table("webhook_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_delivery_attempts_endpoint",
            ["tenant_id", "environment_id", "endpoint_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_webhook_delivery_attempts_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_webhook_delivery_attempts_delivery_id_attempt",
            ["tenant_id", "environment_id", "delivery_id", "attempt"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_webhook_delivery_attempts_delivery_id_attempt",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_webhook_delivery_attempts_scope")
        batch_op.drop_index("ix_webhook_delivery_attempts_endpoint")

    op.drop_table("webhook_delivery_attempts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_webhook_deliveries_event_id_endpoint_id",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_webhook_deliveries_scope")
        batch_op.drop_index("ix_webhook_deliveries_due")

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_endpoints_scope")

    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("system_events", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_system_events_idempotency_key",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_system_events_scope")

    op.drop_table("system_events")
