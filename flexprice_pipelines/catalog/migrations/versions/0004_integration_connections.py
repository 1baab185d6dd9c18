"""integration connections (per-scope Stripe keys) and processed webhook events (integrations/stripe/tables.py)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import flexprice_pipelines.catalog.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_connections",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("provider_type", sa.String(length=30), nullable=False),
        sa.Column("secret_key", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.Text(), nullable=True),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "environment_id", "provider_type", name=op.f("pk_integration_connections")
        ),
    )
    op.create_table(
        "integration_webhook_events",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("provider_type", sa.String(length=30), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=30), nullable=False),
        sa.Column(
            "received_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "environment_id",
            "provider_type",
            "event_id",
            name=op.f("pk_integration_webhook_events"),
        ),
    )


def downgrade() -> None:
    op.drop_table("integration_webhook_events")
    op.drop_table("integration_connections")
