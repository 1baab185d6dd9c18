"""Coupon bodies (Flexprice ``/coupons``, docs/billing-semantics.md §7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    Currency,
    DecimalOut,
    InputModel,
    Metadata,
    MetadataOut,
    Name,
    NonNegativeMoney,
    When,
    metadata_out,
    neutral,
)
from flexprice_pipelines.billing.invoicing import CouponCadence, CouponType


class CouponCreate(InputModel):
    name: Name
    coupon_code: Name | None = Field(
        default=None, description="The code customers redeem; unique among the environment's live coupons."
    )
    type: CouponType = Field(description="fixed: amount_off + currency; percentage: percentage_off (0–100).")
    amount_off: NonNegativeMoney | None = None
    percentage_off: NonNegativeMoney | None = None
    currency: Currency | None = None
    cadence: CouponCadence = CouponCadence.ONCE
    duration_in_periods: int | None = Field(default=None, ge=1, le=1200)
    redeem_after: When | None = None
    redeem_before: When | None = None
    max_redemptions: int | None = Field(default=None, ge=1, le=2**31 - 1)
    metadata: Metadata = Field(default_factory=dict)
    rules: dict[str, Any] | None = neutral({}, description="Which line items the coupon applies to.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Launch",
                    "type": "percentage",
                    "percentage_off": "20",
                    "cadence": "repeated",
                    "duration_in_periods": 3,
                }
            ]
        },
    )


class CouponUpdate(InputModel):
    name: Name | None = None
    metadata: Metadata | None = None


class CouponPublic(AuditPublic):
    name: str
    coupon_code: str | None = None
    type: str = Field(validation_alias="coupon_type")
    amount_off: DecimalOut | None
    percentage_off: DecimalOut | None
    currency: str | None
    cadence: str
    duration_in_periods: int | None
    redeem_after: datetime | None
    redeem_before: datetime | None
    max_redemptions: int | None
    total_redemptions: int
    rules: dict[str, Any] | None
    metadata: MetadataOut = metadata_out()
