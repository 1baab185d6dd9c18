"""initial catalog schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 21:03:23.639772
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import flexprice_pipelines.catalog.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "environments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_environments_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environments")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_environments_tenant_id_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "last_used_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("revoked_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_api_keys_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_scope", ["tenant_id", "environment_id", "status"], unique=False)
        batch_op.create_index("uq_api_keys_key_hash", ["key_hash"], unique=True)

    op.create_table(
        "coupons",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("coupon_type", sa.String(length=20), nullable=False),
        sa.Column("amount_off", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("percentage_off", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("cadence", sa.String(length=20), nullable=False),
        sa.Column("duration_in_periods", sa.Integer(), nullable=True),
        sa.Column(
            "redeem_after", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "redeem_before", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("total_redemptions", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column(
            "rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_coupons_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_coupons_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_scope", ["tenant_id", "environment_id", "status"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("address_line1", sa.String(length=255), nullable=True),
        sa.Column("address_line2", sa.String(length=255), nullable=True),
        sa.Column("address_city", sa.String(length=100), nullable=True),
        sa.Column("address_state", sa.String(length=100), nullable=True),
        sa.Column("address_postal_code", sa.String(length=20), nullable=True),
        sa.Column("address_country", sa.String(length=2), nullable=True),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_customers_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_customers_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_scope", ["tenant_id", "environment_id", "status"], unique=False)
        batch_op.create_index(
            "uq_customers_external_id",
            ["tenant_id", "environment_id", "external_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "entity_integration_mappings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("provider_type", sa.String(length=30), nullable=False),
        sa.Column("provider_entity_id", sa.String(length=255), nullable=False),
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
            ["environment_id"],
            ["environments.id"],
            name=op.f("fk_entity_integration_mappings_environment_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_entity_integration_mappings_tenant_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entity_integration_mappings")),
    )
    with op.batch_alter_table("entity_integration_mappings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entity_integration_mappings_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_eim_entity",
            ["tenant_id", "environment_id", "entity_type", "entity_id", "provider_type"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.create_index(
            "uq_eim_provider_entity",
            ["tenant_id", "environment_id", "provider_type", "provider_entity_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "invoice_sequences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("year_month", sa.String(length=6), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_invoice_sequences_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_invoice_sequences_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_sequences")),
        sa.UniqueConstraint("tenant_id", "environment_id", "year_month", name="uq_invoice_sequences_month"),
    )
    op.create_table(
        "meters",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("event_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "aggregation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reset_usage", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_meters_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_meters_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meters")),
    )
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.create_index("ix_meters_scope", ["tenant_id", "environment_id", "status"], unique=False)

    op.create_table(
        "plans",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("lookup_key", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_plans_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_plans_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.create_index("ix_plans_scope", ["tenant_id", "environment_id", "status"], unique=False)
        batch_op.create_index(
            "uq_plans_lookup_key",
            ["tenant_id", "environment_id", "lookup_key"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "tax_rates",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("code", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tax_rate_status", sa.String(length=20), nullable=False),
        sa.Column("tax_rate_type", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("percentage_value", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("fixed_value", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_tax_rates_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tax_rates_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
    )
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.create_index("ix_tax_rates_scope", ["tenant_id", "environment_id", "status"], unique=False)
        batch_op.create_index(
            "uq_tax_rates_code",
            ["tenant_id", "environment_id", "code"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "tenant_settings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_prefix", sa.String(length=20), nullable=False),
        sa.Column("grace_period_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("event_max_past_days", sa.Integer(), nullable=False),
        sa.Column("event_max_future_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_tenant_settings_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_settings_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_settings")),
        sa.UniqueConstraint("tenant_id", "environment_id", name="uq_tenant_settings_scope"),
    )
    op.create_table(
        "features",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("lookup_key", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=True),
        sa.Column("unit_singular", sa.String(length=255), nullable=True),
        sa.Column("unit_plural", sa.String(length=255), nullable=True),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_features_environment_id")
        ),
        sa.ForeignKeyConstraint(["meter_id"], ["meters.id"], name=op.f("fk_features_meter_id")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_features_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_features")),
    )
    with op.batch_alter_table("features", schema=None) as batch_op:
        batch_op.create_index("ix_features_scope", ["tenant_id", "environment_id", "status"], unique=False)
        batch_op.create_index(
            "uq_features_lookup_key",
            ["tenant_id", "environment_id", "lookup_key"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "prices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("amount", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("display_amount", sa.String(length=255), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("billing_model", sa.String(length=20), nullable=False),
        sa.Column("tier_mode", sa.String(length=20), nullable=True),
        sa.Column(
            "tiers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "transform_quantity",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("billing_period", sa.String(length=20), nullable=False),
        sa.Column("billing_period_count", sa.Integer(), nullable=False),
        sa.Column("invoice_cadence", sa.String(length=20), nullable=False),
        sa.Column("billing_cadence", sa.String(length=20), nullable=False),
        sa.Column("meter_id", sa.String(length=64), nullable=True),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("lookup_key", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("trial_period_days", sa.Integer(), nullable=False),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_prices_environment_id")
        ),
        sa.ForeignKeyConstraint(["meter_id"], ["meters.id"], name=op.f("fk_prices_meter_id")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_prices_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
    )
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prices_entity", ["tenant_id", "environment_id", "entity_type", "entity_id"], unique=False
        )
        batch_op.create_index("ix_prices_scope", ["tenant_id", "environment_id", "status"], unique=False)
        batch_op.create_index(
            "uq_prices_lookup_key",
            ["tenant_id", "environment_id", "lookup_key"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("lookup_key", sa.String(length=255), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "billing_anchor", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("start_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "current_period_start",
            flexprice_pipelines.catalog.types.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "current_period_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("billing_cycle", sa.String(length=20), nullable=False),
        sa.Column("billing_cadence", sa.String(length=20), nullable=False),
        sa.Column("billing_period", sa.String(length=20), nullable=False),
        sa.Column("billing_period_count", sa.Integer(), nullable=False),
        sa.Column("subscription_status", sa.String(length=20), nullable=False),
        sa.Column("cancel_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "cancelled_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("trial_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("trial_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pause_status", sa.String(length=20), nullable=False),
        sa.Column("active_pause_id", sa.String(length=64), nullable=True),
        sa.Column("customer_timezone", sa.String(length=64), nullable=False),
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
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_subscriptions_customer_id")),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_subscriptions_environment_id")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_subscriptions_plan_id")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_subscriptions_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscriptions_customer", ["tenant_id", "environment_id", "customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_subscriptions_period_end", ["tenant_id", "environment_id", "current_period_end"], unique=False
        )
        batch_op.create_index(
            "ix_subscriptions_scope", ["tenant_id", "environment_id", "status"], unique=False
        )

    op.create_table(
        "tax_associations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("tax_rate_id", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("auto_apply", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("start_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_tax_associations_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["tax_rate_id"], ["tax_rates.id"], name=op.f("fk_tax_associations_tax_rate_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_tax_associations_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_associations")),
    )
    with op.batch_alter_table("tax_associations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tax_associations_entity",
            ["tenant_id", "environment_id", "entity_type", "entity_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_tax_associations_scope", ["tenant_id", "environment_id", "status"], unique=False
        )

    op.create_table(
        "wallets",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("credit_balance", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("conversion_rate", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("wallet_type", sa.String(length=20), nullable=False),
        sa.Column("wallet_status", sa.String(length=20), nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
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
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_wallets_customer_id")),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_wallets_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_wallets_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallets")),
    )
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallets_customer", ["tenant_id", "environment_id", "customer_id"], unique=False
        )
        batch_op.create_index("ix_wallets_scope", ["tenant_id", "environment_id", "status"], unique=False)

    op.create_table(
        "credit_grants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=True),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("credits", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cadence", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=True),
        sa.Column("period_count", sa.Integer(), nullable=True),
        sa.Column("expiration_type", sa.String(length=20), nullable=False),
        sa.Column("expiration_duration", sa.Integer(), nullable=True),
        sa.Column("expiration_duration_unit", sa.String(length=10), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_credit_grants_environment_id")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_credit_grants_plan_id")),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_credit_grants_subscription_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_credit_grants_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_grants")),
    )
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_grants_scope", ["tenant_id", "environment_id", "status"], unique=False
        )

    op.create_table(
        "entitlements",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("feature_id", sa.String(length=64), nullable=False),
        sa.Column("feature_type", sa.String(length=20), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("usage_limit", sa.BigInteger(), nullable=True),
        sa.Column("usage_reset_period", sa.String(length=20), nullable=True),
        sa.Column("is_soft_limit", sa.Boolean(), nullable=False),
        sa.Column("static_value", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="published", nullable=False),
        sa.Column("created_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_entitlements_environment_id")
        ),
        sa.ForeignKeyConstraint(["feature_id"], ["features.id"], name=op.f("fk_entitlements_feature_id")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_entitlements_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entitlements")),
    )
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_entitlements_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_entitlements_entity_type_entity_id_feature_id",
            ["tenant_id", "environment_id", "entity_type", "entity_id", "feature_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("invoice_type", sa.String(length=20), nullable=False),
        sa.Column("invoice_status", sa.String(length=20), nullable=False),
        sa.Column("payment_status", sa.String(length=20), nullable=False),
        sa.Column("billing_reason", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_due", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("amount_paid", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("amount_remaining", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("subtotal", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("total_discount", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column(
            "total_prepaid_credits_applied", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False
        ),
        sa.Column("total_tax", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("total", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("billing_period", sa.String(length=20), nullable=True),
        sa.Column(
            "period_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("period_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "finalized_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("voided_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invoice_number", sa.String(length=50), nullable=True),
        sa.Column("invoice_pdf_url", sa.Text(), nullable=True),
        sa.Column("recalculated_invoice_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
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
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_invoices_customer_id")),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_invoices_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["recalculated_invoice_id"], ["invoices.id"], name=op.f("fk_invoices_recalculated_invoice_id")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_invoices_subscription_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_invoices_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoices_customer", ["tenant_id", "environment_id", "customer_id"], unique=False
        )
        batch_op.create_index("ix_invoices_scope", ["tenant_id", "environment_id", "status"], unique=False)
        batch_op.create_index(
            "uq_invoices_idempotency_key",
            ["tenant_id", "environment_id", "idempotency_key"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.create_index(
            "uq_invoices_invoice_number",
            ["tenant_id", "environment_id", "invoice_number"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.create_index(
            "uq_invoices_period",
            [
                "tenant_id",
                "environment_id",
                "subscription_id",
                "billing_reason",
                "period_start",
                "period_end",
            ],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted' AND invoice_status <> 'VOIDED'"),
            postgresql_where=sa.text("status <> 'deleted' AND invoice_status <> 'VOIDED'"),
        )

    op.create_table(
        "subscription_line_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=True),
        sa.Column("price_id", sa.String(length=64), nullable=False),
        sa.Column("price_type", sa.String(length=20), nullable=True),
        sa.Column("meter_id", sa.String(length=64), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("quantity", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_period", sa.String(length=20), nullable=False),
        sa.Column("invoice_cadence", sa.String(length=20), nullable=True),
        sa.Column("trial_period", sa.Integer(), nullable=False),
        sa.Column("start_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_subscription_line_items_customer_id")
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_subscription_line_items_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meters.id"], name=op.f("fk_subscription_line_items_meter_id")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_subscription_line_items_plan_id")),
        sa.ForeignKeyConstraint(
            ["price_id"], ["prices.id"], name=op.f("fk_subscription_line_items_price_id")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_subscription_line_items_subscription_id")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_subscription_line_items_tenant_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_line_items")),
    )
    with op.batch_alter_table("subscription_line_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_line_items_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_subscription_line_items_subscription",
            ["tenant_id", "environment_id", "subscription_id"],
            unique=False,
        )

    op.create_table(
        "subscription_pauses",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("pause_status", sa.String(length=20), nullable=False),
        sa.Column("pause_mode", sa.String(length=20), nullable=False),
        sa.Column("resume_mode", sa.String(length=20), nullable=True),
        sa.Column(
            "pause_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("pause_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resumed_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "original_period_start",
            flexprice_pipelines.catalog.types.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "original_period_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("reason", sa.Text(), nullable=True),
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
            ["environment_id"], ["environments.id"], name=op.f("fk_subscription_pauses_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_subscription_pauses_subscription_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_subscription_pauses_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_pauses")),
    )
    with op.batch_alter_table("subscription_pauses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscription_pauses_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_subscription_pauses_subscription",
            ["tenant_id", "environment_id", "subscription_id"],
            unique=False,
        )

    op.create_table(
        "wallet_transactions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("wallet_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("amount", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("credit_amount", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("credit_balance_before", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("credit_balance_after", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("credits_available", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("expiry_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("transaction_status", sa.String(length=20), nullable=False),
        sa.Column("transaction_reason", sa.String(length=50), nullable=False),
        sa.Column("reference_type", sa.String(length=50), nullable=True),
        sa.Column("reference_id", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_wallet_transactions_customer_id")
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_wallet_transactions_environment_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_wallet_transactions_tenant_id")),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_wallet_transactions_wallet_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_transactions")),
    )
    with op.batch_alter_table("wallet_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_wallet_transactions_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_wallet_transactions_wallet", ["tenant_id", "environment_id", "wallet_id"], unique=False
        )
        batch_op.create_index(
            "uq_wallet_transactions_idempotency_key",
            ["tenant_id", "environment_id", "idempotency_key"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "coupon_associations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("coupon_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_line_item_id", sa.String(length=64), nullable=True),
        sa.Column("start_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_date", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(["coupon_id"], ["coupons.id"], name=op.f("fk_coupon_associations_coupon_id")),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_coupon_associations_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_coupon_associations_subscription_id")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_line_item_id"],
            ["subscription_line_items.id"],
            name=op.f("fk_coupon_associations_subscription_line_item_id"),
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_coupon_associations_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_associations")),
    )
    with op.batch_alter_table("coupon_associations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coupon_associations_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_coupon_associations_subscription",
            ["tenant_id", "environment_id", "subscription_id"],
            unique=False,
        )

    op.create_table(
        "credit_grant_applications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("credit_grant_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("wallet_id", sa.String(length=64), nullable=True),
        sa.Column("wallet_transaction_id", sa.String(length=64), nullable=True),
        sa.Column(
            "scheduled_for", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("applied_at", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "period_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("period_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("credits", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("application_status", sa.String(length=20), nullable=False),
        sa.Column("application_reason", sa.String(length=50), nullable=True),
        sa.Column("subscription_status_at_application", sa.String(length=20), nullable=True),
        sa.Column("is_prorated", sa.Boolean(), nullable=False),
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
            ["credit_grant_id"],
            ["credit_grants.id"],
            name=op.f("fk_credit_grant_applications_credit_grant_id"),
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_credit_grant_applications_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_credit_grant_applications_subscription_id"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_credit_grant_applications_tenant_id")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_credit_grant_applications_wallet_id")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_transaction_id"],
            ["wallet_transactions.id"],
            name=op.f("fk_credit_grant_applications_wallet_transaction_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_grant_applications")),
    )
    with op.batch_alter_table("credit_grant_applications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_grant_applications_scope", ["tenant_id", "environment_id", "status"], unique=False
        )
        batch_op.create_index(
            "uq_credit_grant_applications_period",
            ["tenant_id", "environment_id", "credit_grant_id", "subscription_id", "period_start"],
            unique=True,
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )

    op.create_table(
        "invoice_line_items",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("environment_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.String(length=64), nullable=True),
        sa.Column("plan_id", sa.String(length=64), nullable=True),
        sa.Column("price_id", sa.String(length=64), nullable=True),
        sa.Column("meter_id", sa.String(length=64), nullable=True),
        sa.Column("price_type", sa.String(length=20), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("plan_display_name", sa.String(length=255), nullable=True),
        sa.Column("meter_display_name", sa.String(length=255), nullable=True),
        sa.Column("amount", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("quantity", flexprice_pipelines.catalog.types.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "period_start", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("period_end", flexprice_pipelines.catalog.types.UTCDateTime(timezone=True), nullable=True),
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
            ["customer_id"], ["customers.id"], name=op.f("fk_invoice_line_items_customer_id")
        ),
        sa.ForeignKeyConstraint(
            ["environment_id"], ["environments.id"], name=op.f("fk_invoice_line_items_environment_id")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_line_items_invoice_id")
        ),
        sa.ForeignKeyConstraint(["meter_id"], ["meters.id"], name=op.f("fk_invoice_line_items_meter_id")),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_invoice_line_items_plan_id")),
        sa.ForeignKeyConstraint(["price_id"], ["prices.id"], name=op.f("fk_invoice_line_items_price_id")),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_invoice_line_items_subscription_id")
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_invoice_line_items_tenant_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line_items")),
    )
    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_invoice_line_items_invoice", ["tenant_id", "environment_id", "invoice_id"], unique=False
        )
        batch_op.create_index(
            "ix_invoice_line_items_scope", ["tenant_id", "environment_id", "status"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("invoice_line_items", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_line_items_scope")
        batch_op.drop_index("ix_invoice_line_items_invoice")

    op.drop_table("invoice_line_items")
    with op.batch_alter_table("credit_grant_applications", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_credit_grant_applications_period",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_credit_grant_applications_scope")

    op.drop_table("credit_grant_applications")
    with op.batch_alter_table("coupon_associations", schema=None) as batch_op:
        batch_op.drop_index("ix_coupon_associations_subscription")
        batch_op.drop_index("ix_coupon_associations_scope")

    op.drop_table("coupon_associations")
    with op.batch_alter_table("wallet_transactions", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_wallet_transactions_idempotency_key",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_wallet_transactions_wallet")
        batch_op.drop_index("ix_wallet_transactions_scope")

    op.drop_table("wallet_transactions")
    with op.batch_alter_table("subscription_pauses", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_pauses_subscription")
        batch_op.drop_index("ix_subscription_pauses_scope")

    op.drop_table("subscription_pauses")
    with op.batch_alter_table("subscription_line_items", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_line_items_subscription")
        batch_op.drop_index("ix_subscription_line_items_scope")

    op.drop_table("subscription_line_items")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_invoices_period",
            sqlite_where=sa.text("status <> 'deleted' AND invoice_status <> 'VOIDED'"),
            postgresql_where=sa.text("status <> 'deleted' AND invoice_status <> 'VOIDED'"),
        )
        batch_op.drop_index(
            "uq_invoices_invoice_number",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index(
            "uq_invoices_idempotency_key",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_invoices_scope")
        batch_op.drop_index("ix_invoices_customer")

    op.drop_table("invoices")
    with op.batch_alter_table("entitlements", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_entitlements_entity_type_entity_id_feature_id",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_entitlements_scope")

    op.drop_table("entitlements")
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_grants_scope")

    op.drop_table("credit_grants")
    with op.batch_alter_table("wallets", schema=None) as batch_op:
        batch_op.drop_index("ix_wallets_scope")
        batch_op.drop_index("ix_wallets_customer")

    op.drop_table("wallets")
    with op.batch_alter_table("tax_associations", schema=None) as batch_op:
        batch_op.drop_index("ix_tax_associations_scope")
        batch_op.drop_index("ix_tax_associations_entity")

    op.drop_table("tax_associations")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_scope")
        batch_op.drop_index("ix_subscriptions_period_end")
        batch_op.drop_index("ix_subscriptions_customer")

    op.drop_table("subscriptions")
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_prices_lookup_key",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_prices_scope")
        batch_op.drop_index("ix_prices_entity")

    op.drop_table("prices")
    with op.batch_alter_table("features", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_features_lookup_key",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_features_scope")

    op.drop_table("features")
    op.drop_table("tenant_settings")
    with op.batch_alter_table("tax_rates", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tax_rates_code",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_tax_rates_scope")

    op.drop_table("tax_rates")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_plans_lookup_key",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_plans_scope")

    op.drop_table("plans")
    with op.batch_alter_table("meters", schema=None) as batch_op:
        batch_op.drop_index("ix_meters_scope")

    op.drop_table("meters")
    op.drop_table("invoice_sequences")
    with op.batch_alter_table("entity_integration_mappings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_eim_provider_entity",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index(
            "uq_eim_entity",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_entity_integration_mappings_scope")

    op.drop_table("entity_integration_mappings")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_customers_external_id",
            sqlite_where=sa.text("status <> 'deleted'"),
            postgresql_where=sa.text("status <> 'deleted'"),
        )
        batch_op.drop_index("ix_customers_scope")

    op.drop_table("customers")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index("ix_coupons_scope")

    op.drop_table("coupons")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("uq_api_keys_key_hash")
        batch_op.drop_index("ix_api_keys_scope")

    op.drop_table("api_keys")
    op.drop_table("environments")
    op.drop_table("tenants")
