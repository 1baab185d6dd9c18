"""sdk creates: ``prices.display_name`` and ``coupons.coupon_code`` (unique per scope among live coupons)

The official Flexprice SDK creates prices with a ``display_name`` and coupons with a ``coupon_code``;
both are stored as sent. A coupon code is unique per tenant + environment among coupons that are not
deleted (as lookup keys are), so a deleted coupon's code can be used again. Both columns are nullable:
existing rows keep null. The downgrade drops the index, then the columns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LIVE_ROWS = sa.text("status <> 'deleted'")


def upgrade() -> None:
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=255), nullable=True))
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coupon_code", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "uq_coupons_coupon_code",
            ["tenant_id", "environment_id", "coupon_code"],
            unique=True,
            sqlite_where=LIVE_ROWS,
            postgresql_where=LIVE_ROWS,
        )


def downgrade() -> None:
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index("uq_coupons_coupon_code", sqlite_where=LIVE_ROWS, postgresql_where=LIVE_ROWS)
        batch_op.drop_column("coupon_code")
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_column("display_name")
