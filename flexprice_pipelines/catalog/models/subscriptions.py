"""Subscriptions, their line items and pauses."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import Metadata, ScopedModel, metadata_column, ref, scope_index


class Subscription(ScopedModel):
    __tablename__ = "subscriptions"
    __id_prefix__ = "subs"
    __entity_name__ = "subscription"
    __table_args__ = (
        scope_index("subscriptions"),
        Index("ix_subscriptions_plan", "tenant_id", "environment_id", "plan_id"),
        Index("ix_subscriptions_customer", "tenant_id", "environment_id", "customer_id"),
        Index("ix_subscriptions_period_end", "tenant_id", "environment_id", "current_period_end"),
    )

    customer_id: Mapped[str] = mapped_column(String(64), ref("customers"))
    plan_id: Mapped[str] = mapped_column(String(64), ref("plans"))
    lookup_key: Mapped[str | None]
    currency: Mapped[str] = mapped_column(String(3))
    billing_anchor: Mapped[datetime]
    start_date: Mapped[datetime]
    end_date: Mapped[datetime | None]
    current_period_start: Mapped[datetime]
    current_period_end: Mapped[datetime]
    billing_cycle: Mapped[str] = mapped_column(String(20), default="anniversary")  # anniversary | calendar
    billing_cadence: Mapped[str] = mapped_column(String(20), default="RECURRING")
    billing_period: Mapped[str] = mapped_column(String(20))
    billing_period_count: Mapped[int] = mapped_column(Integer, default=1)
    # active | paused | cancelled | incomplete | trialing
    subscription_status: Mapped[str] = mapped_column(String(20), default="active")
    cancel_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    trial_start: Mapped[datetime | None]
    trial_end: Mapped[datetime | None]
    pause_status: Mapped[str] = mapped_column(String(20), default="none")  # none | active | scheduled
    active_pause_id: Mapped[str | None] = mapped_column(String(64))
    customer_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    metadata_: Metadata = metadata_column()


class SubscriptionLineItem(ScopedModel):
    __tablename__ = "subscription_line_items"
    __id_prefix__ = "subs_line"
    __entity_name__ = "subscription line item"
    __table_args__ = (
        scope_index("subscription_line_items"),
        Index("ix_subscription_line_items_meter", "tenant_id", "environment_id", "meter_id"),
        Index("ix_subscription_line_items_price", "tenant_id", "environment_id", "price_id"),
        Index("ix_subscription_line_items_plan", "tenant_id", "environment_id", "plan_id"),
        Index("ix_subscription_line_items_customer", "tenant_id", "environment_id", "customer_id"),
        Index("ix_subscription_line_items_subscription", "tenant_id", "environment_id", "subscription_id"),
    )

    subscription_id: Mapped[str] = mapped_column(String(64), ref("subscriptions"))
    customer_id: Mapped[str] = mapped_column(String(64), ref("customers"))
    plan_id: Mapped[str | None] = mapped_column(String(64), ref("plans"))
    price_id: Mapped[str] = mapped_column(String(64), ref("prices"))
    price_type: Mapped[str | None] = mapped_column(String(20))
    meter_id: Mapped[str | None] = mapped_column(String(64), ref("meters"))
    display_name: Mapped[str | None]
    quantity: Mapped[Decimal] = mapped_column(default=Decimal(1))
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[str] = mapped_column(String(20))
    invoice_cadence: Mapped[str | None] = mapped_column(String(20))
    trial_period: Mapped[int] = mapped_column(Integer, default=0)
    start_date: Mapped[datetime | None]
    end_date: Mapped[datetime | None]
    metadata_: Metadata = metadata_column()


class SubscriptionPause(ScopedModel):
    __tablename__ = "subscription_pauses"
    __id_prefix__ = "pause"
    __entity_name__ = "subscription pause"
    __table_args__ = (
        scope_index("subscription_pauses"),
        Index("ix_subscription_pauses_subscription", "tenant_id", "environment_id", "subscription_id"),
    )

    subscription_id: Mapped[str] = mapped_column(String(64), ref("subscriptions"))
    pause_status: Mapped[str] = mapped_column(
        String(20), default="active"
    )  # active | scheduled | completed | cancelled
    pause_mode: Mapped[str] = mapped_column(
        String(20), default="immediate"
    )  # immediate | scheduled | period_end
    resume_mode: Mapped[str | None] = mapped_column(String(20))  # immediate | scheduled | auto
    pause_start: Mapped[datetime]
    pause_end: Mapped[datetime | None]
    resumed_at: Mapped[datetime | None]
    original_period_start: Mapped[datetime | None]
    original_period_end: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    metadata_: Metadata = metadata_column()
