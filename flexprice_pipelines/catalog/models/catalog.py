"""What a tenant sells: customers, meters, features, plans, prices and entitlements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    Metadata,
    ScopedModel,
    metadata_column,
    ref,
    scope_index,
    unique_in_scope,
)


class Customer(ScopedModel):
    __tablename__ = "customers"
    __id_prefix__ = "cust"
    __entity_name__ = "customer"
    __table_args__ = (scope_index("customers"), unique_in_scope("customers", "external_id"))

    external_id: Mapped[str]
    name: Mapped[str]
    email: Mapped[str | None]
    address_line1: Mapped[str | None]
    address_line2: Mapped[str | None]
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(100))
    address_postal_code: Mapped[str | None] = mapped_column(String(20))
    address_country: Mapped[str | None] = mapped_column(String(2))
    metadata_: Metadata = metadata_column()


class Meter(ScopedModel):
    __tablename__ = "meters"
    __id_prefix__ = "meter"
    __entity_name__ = "meter"
    __table_args__ = (scope_index("meters"),)

    event_name: Mapped[str]
    name: Mapped[str]
    # {type, field?, multiplier?, bucket_size?} — docs/billing-semantics.md §2.
    aggregation: Mapped[dict[str, Any]]
    # [{key, values[]}]
    filters: Mapped[list[Any]] = mapped_column(default=list)
    reset_usage: Mapped[str] = mapped_column(String(20), default="BILLING_PERIOD")


class Feature(ScopedModel):
    __tablename__ = "features"
    __id_prefix__ = "feat"
    __entity_name__ = "feature"
    __table_args__ = (
        scope_index("features"),
        Index("ix_features_meter", "tenant_id", "environment_id", "meter_id"),
        unique_in_scope("features", "lookup_key"),
    )

    name: Mapped[str]
    lookup_key: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(20))  # metered | boolean | static | config
    meter_id: Mapped[str | None] = mapped_column(String(64), ref("meters"))
    unit_singular: Mapped[str | None]
    unit_plural: Mapped[str | None]
    metadata_: Metadata = metadata_column()


class Plan(ScopedModel):
    __tablename__ = "plans"
    __id_prefix__ = "plan"
    __entity_name__ = "plan"
    __table_args__ = (scope_index("plans"), unique_in_scope("plans", "lookup_key"))

    name: Mapped[str]
    lookup_key: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Metadata = metadata_column()


class Price(ScopedModel):
    """A price attached to an entity (``entity_type`` PLAN | SUBSCRIPTION | ADDON, ``entity_id``)."""

    __tablename__ = "prices"
    __id_prefix__ = "price"
    __entity_name__ = "price"
    __entity_ref__ = ("entity_type", "entity_id")
    __table_args__ = (
        scope_index("prices"),
        Index("ix_prices_entity_id", "tenant_id", "environment_id", "entity_id"),
        Index("ix_prices_meter", "tenant_id", "environment_id", "meter_id"),
        unique_in_scope("prices", "lookup_key"),
        Index("ix_prices_entity", "tenant_id", "environment_id", "entity_type", "entity_id"),
    )

    amount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    display_amount: Mapped[str | None]
    display_name: Mapped[str | None]
    currency: Mapped[str] = mapped_column(String(3))
    type: Mapped[str] = mapped_column(String(20))  # USAGE | FIXED
    billing_model: Mapped[str] = mapped_column(String(20))  # FLAT_FEE | PACKAGE | TIERED
    tier_mode: Mapped[str | None] = mapped_column(String(20))  # VOLUME | SLAB
    tiers: Mapped[list[Any] | None]
    transform_quantity: Mapped[dict[str, Any] | None]
    billing_period: Mapped[str] = mapped_column(String(20))
    billing_period_count: Mapped[int] = mapped_column(Integer, default=1)
    invoice_cadence: Mapped[str] = mapped_column(String(20))  # ADVANCE | ARREAR
    billing_cadence: Mapped[str] = mapped_column(String(20), default="RECURRING")  # RECURRING | ONETIME
    meter_id: Mapped[str | None] = mapped_column(String(64), ref("meters"))
    entity_type: Mapped[str] = mapped_column(String(20), default="PLAN")
    entity_id: Mapped[str | None] = mapped_column(String(64))
    lookup_key: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    trial_period_days: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Metadata = metadata_column()


class Entitlement(ScopedModel):
    __tablename__ = "entitlements"
    __id_prefix__ = "ent"
    __entity_name__ = "entitlement"
    __entity_ref__ = ("entity_type", "entity_id")
    __table_args__ = (
        scope_index("entitlements"),
        Index("ix_entitlements_feature", "tenant_id", "environment_id", "feature_id"),
        Index("ix_entitlements_entity_id", "tenant_id", "environment_id", "entity_id"),
        unique_in_scope("entitlements", "entity_type", "entity_id", "feature_id"),
    )

    entity_type: Mapped[str] = mapped_column(String(20), default="PLAN")  # PLAN | SUBSCRIPTION | ADDON
    entity_id: Mapped[str] = mapped_column(String(64))
    feature_id: Mapped[str] = mapped_column(String(64), ref("features"))
    feature_type: Mapped[str] = mapped_column(String(20))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # None = unlimited (docs/billing-semantics.md §6/§7).
    usage_limit: Mapped[int | None] = mapped_column(BigInteger)
    usage_reset_period: Mapped[str | None] = mapped_column(String(20))
    is_soft_limit: Mapped[bool] = mapped_column(Boolean, default=False)
    static_value: Mapped[str | None] = mapped_column(Text)
