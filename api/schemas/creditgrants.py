"""Credit grant bodies (Flexprice ``/creditgrants``, docs/billing-semantics.md §7)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    Currency,
    DecimalOut,
    Id,
    Metadata,
    MetadataOut,
    Name,
    PositiveMoney,
    Priority,
    StrictInputModel,
    metadata_out,
)

GrantPeriod = Literal["DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "HALF_YEARLY", "ANNUAL"]


class CreditGrantCreate(StrictInputModel):
    name: Name
    scope: Literal["PLAN", "SUBSCRIPTION"]
    plan_id: Id | None = Field(default=None, description="Required when scope is PLAN.")
    subscription_id: Id | None = Field(default=None, description="Required when scope is SUBSCRIPTION.")
    credits: PositiveMoney
    currency: Currency
    cadence: Literal["ONETIME", "RECURRING"] = "ONETIME"
    period: GrantPeriod | None = Field(default=None, description="Required for RECURRING grants.")
    period_count: int | None = Field(default=None, ge=1, le=120)
    expiration_type: Literal["NEVER", "DURATION", "BILLING_CYCLE"] = "NEVER"
    expiration_duration: int | None = Field(default=None, ge=1, le=3650)
    expiration_duration_unit: Literal["DAY", "WEEK", "MONTH", "YEAR"] | None = None
    priority: Priority | None = None
    metadata: Metadata = Field(default_factory=dict)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Monthly credits",
                    "scope": "PLAN",
                    "plan_id": "plan_01J…",
                    "credits": "100",
                    "currency": "usd",
                    "cadence": "RECURRING",
                    "period": "MONTHLY",
                }
            ]
        },
    )


class CreditGrantUpdate(StrictInputModel):
    name: Name | None = None
    metadata: Metadata | None = None


class CreditGrantPublic(AuditPublic):
    name: str
    scope: str
    plan_id: str | None
    subscription_id: str | None
    credits: DecimalOut
    currency: str
    cadence: str
    period: str | None
    period_count: int | None
    expiration_type: str
    expiration_duration: int | None
    expiration_duration_unit: str | None
    priority: int | None
    metadata: MetadataOut = metadata_out()
