"""Subscription bodies (Flexprice ``/subscriptions``, docs/billing-semantics.md §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    Currency,
    DecimalOut,
    Id,
    InputModel,
    LongText,
    Metadata,
    MetadataOut,
    Name,
    NonNegativeMoney,
    PublicModel,
    StrictInputModel,
    Text,
    TimeZone,
    When,
    metadata_out,
)
from api.schemas.entitlement_checks import AggregatedFeature
from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod


class OverrideLineItem(InputModel):
    price_id: Id = Field(description="A price of the plan.")
    quantity: NonNegativeMoney | None = Field(default=None, description="FIXED prices only.")
    amount: NonNegativeMoney | None = Field(
        default=None, description="Replaces the price's amount for this subscription."
    )


class SubscriptionCreate(StrictInputModel):
    customer_id: Id | None = Field(default=None, description="Takes precedence over external_customer_id.")
    external_customer_id: Name | None = None
    plan_id: Id
    currency: Currency
    billing_period: BillingPeriod = Field(
        description="Plan prices with this billing period (and ONETIME ones) are copied."
    )
    billing_period_count: int = Field(default=1, ge=1, le=120)
    billing_cadence: Literal["RECURRING"] = "RECURRING"
    billing_cycle: BillingCycle = BillingCycle.ANNIVERSARY
    start_date: When | None = Field(default=None, description="Default: now.")
    end_date: When | None = None
    trial_end: When | None = Field(
        default=None, description="Default: start + the prices' trial_period_days."
    )
    customer_timezone: TimeZone = "UTC"
    lookup_key: Text | None = None
    metadata: Metadata = Field(default_factory=dict)
    override_line_items: list[OverrideLineItem] = Field(default_factory=list, max_length=100)
    coupons: list[Id] = Field(
        default_factory=list,
        max_length=20,
        description="Coupon ids applied to the whole invoice from the first period (Flexprice `coupons`).",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_customer_id": "acme-1",
                    "plan_id": "plan_01J…",
                    "currency": "usd",
                    "billing_period": "MONTHLY",
                    "billing_cycle": "calendar",
                    "start_date": "2025-04-15T10:00:00Z",
                    "customer_timezone": "Europe/Berlin",
                    "override_line_items": [{"price_id": "price_01J…", "amount": "39.00"}],
                }
            ]
        },
    )


class CancelRequest(StrictInputModel):
    cancellation_type: Literal["immediate", "end_of_period", "scheduled_date"]
    cancel_at: When | None = Field(
        default=None, description="Required for scheduled_date; must be in the future."
    )
    reason: LongText | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"cancellation_type": "end_of_period", "reason": "downgrade"}]},
    )


class PauseRequest(StrictInputModel):
    pause_mode: Literal["immediate", "scheduled"] = "immediate"
    pause_start: When | None = Field(default=None, description="Required for scheduled pauses.")
    pause_end: When | None = None
    pause_days: int | None = Field(default=None, ge=1, le=3650)
    reason: LongText | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{"pause_mode": "immediate", "pause_days": 14}]})


class ResumeRequest(StrictInputModel):
    resume_mode: Literal["immediate"] = "immediate"
    reason: LongText | None = None


class LineItemPublic(AuditPublic):
    subscription_id: str
    customer_id: str
    plan_id: str | None
    price_id: str
    price_type: str | None
    meter_id: str | None
    display_name: str | None
    quantity: DecimalOut
    currency: str
    billing_period: str
    invoice_cadence: str | None
    trial_period: int
    start_date: datetime | None
    end_date: datetime | None
    metadata: MetadataOut = metadata_out()


class PausePublic(AuditPublic):
    subscription_id: str
    pause_status: str
    pause_mode: str
    resume_mode: str | None
    pause_start: datetime
    pause_end: datetime | None
    resumed_at: datetime | None
    original_period_start: datetime | None
    original_period_end: datetime | None
    reason: str | None
    metadata: MetadataOut = metadata_out()


class SubscriptionPublic(AuditPublic):
    customer_id: str
    plan_id: str
    lookup_key: str | None
    currency: str
    billing_anchor: datetime
    start_date: datetime
    end_date: datetime | None
    current_period_start: datetime
    current_period_end: datetime
    billing_cycle: str
    billing_cadence: str
    billing_period: str
    billing_period_count: int
    subscription_status: str
    cancel_at: datetime | None
    cancelled_at: datetime | None
    cancel_at_period_end: bool
    trial_start: datetime | None
    trial_end: datetime | None
    pause_status: str
    active_pause_id: str | None
    customer_timezone: str
    metadata: MetadataOut = metadata_out()
    line_items: list[LineItemPublic] = Field(default_factory=list)


class PauseResponse(PublicModel):
    """Flexprice's ``dto.PauseSubscriptionResponse`` / ``ResumeSubscriptionResponse``: the subscription
    after the change and the pause it started (pause) or ended (resume)."""

    subscription: SubscriptionPublic
    pause: PausePublic


class CancelResponse(PublicModel):
    """Flexprice's ``dto.CancelSubscriptionResponse``."""

    subscription_id: str
    cancellation_type: str
    effective_date: datetime = Field(
        description="When the subscription ends (now, the period end or cancel_at)."
    )
    status: str = Field(description="The subscription's status after the call.")
    reason: str | None
    processed_at: datetime
    total_credit_amount: DecimalOut = Field(
        description="Unused ADVANCE fixed charges credited to the customer's wallet (immediate cancels); 0 else."
    )
    proration_details: list[dict[str, str]] = Field(
        default_factory=list, description="Always empty: the credit is one wallet transaction, not itemised."
    )
    message: str
    subscription: SubscriptionPublic = Field(description="Ours: the subscription as cancelled.")


class SubscriptionEntitlements(PublicModel):
    """Flexprice's ``dto.SubscriptionEntitlementsResponse``: the subscription's features, its plan's
    entitlements with its own overrides applied, aggregated per feature as the customer's are."""

    subscription_id: str
    plan_id: str
    features: list[AggregatedFeature]
