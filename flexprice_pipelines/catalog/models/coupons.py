"""Coupons and their attachment to subscriptions (or single subscription line items)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    Metadata,
    ScopedModel,
    metadata_column,
    ref,
    scope_index,
    unique_in_scope,
)


class Coupon(ScopedModel):
    __tablename__ = "coupons"
    __id_prefix__ = "coupon"
    __entity_name__ = "coupon"
    __table_args__ = (scope_index("coupons"), unique_in_scope("coupons", "coupon_code"))

    name: Mapped[str]
    # Flexprice's redeemable code; unique per scope among live coupons (migration 0007).
    coupon_code: Mapped[str | None]
    coupon_type: Mapped[str] = mapped_column(String(20))  # fixed | percentage
    amount_off: Mapped[Decimal | None]
    percentage_off: Mapped[Decimal | None]
    cadence: Mapped[str] = mapped_column(String(20), default="once")  # once | repeated | forever
    duration_in_periods: Mapped[int | None] = mapped_column(Integer)
    redeem_after: Mapped[datetime | None]
    redeem_before: Mapped[datetime | None]
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    total_redemptions: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str | None] = mapped_column(String(3))
    rules: Mapped[dict[str, Any] | None]
    metadata_: Metadata = metadata_column()


class CouponAssociation(ScopedModel):
    __tablename__ = "coupon_associations"
    __id_prefix__ = "coupon_assoc"
    __entity_name__ = "coupon association"
    __table_args__ = (
        scope_index("coupon_associations"),
        Index("ix_coupon_associations_subscription", "tenant_id", "environment_id", "subscription_id"),
    )

    coupon_id: Mapped[str] = mapped_column(String(64), ref("coupons"))
    subscription_id: Mapped[str] = mapped_column(String(64), ref("subscriptions"))
    # Set when the coupon discounts one line item rather than the whole invoice.
    subscription_line_item_id: Mapped[str | None] = mapped_column(String(64), ref("subscription_line_items"))
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    metadata_: Metadata = metadata_column()
