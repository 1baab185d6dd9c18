"""search: tenant-scoped indexes for the id filters of ``POST /v1/<resource>/search``

Every ``…_id`` a search filters on is looked up through an index that starts with the scope
(``tenant_id, environment_id``), so a filter on another row's id never scans the tenant's rows.
Only indexes are added; the downgrade drops them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_features_meter", "features", "meter_id"),
    ("ix_prices_meter", "prices", "meter_id"),
    ("ix_prices_entity_id", "prices", "entity_id"),
    ("ix_entitlements_entity_id", "entitlements", "entity_id"),
    ("ix_entitlements_feature", "entitlements", "feature_id"),
    ("ix_subscriptions_plan", "subscriptions", "plan_id"),
    ("ix_subscription_line_items_customer", "subscription_line_items", "customer_id"),
    ("ix_subscription_line_items_plan", "subscription_line_items", "plan_id"),
    ("ix_subscription_line_items_price", "subscription_line_items", "price_id"),
    ("ix_subscription_line_items_meter", "subscription_line_items", "meter_id"),
    ("ix_invoices_subscription", "invoices", "subscription_id"),
    ("ix_wallet_transactions_customer", "wallet_transactions", "customer_id"),
    ("ix_wallet_transactions_reference", "wallet_transactions", "reference_id"),
]


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, ["tenant_id", "environment_id", column])


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
