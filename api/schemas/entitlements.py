"""Entitlement bodies (Flexprice ``/entitlements``, docs/billing-semantics.md §7)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.common import AuditPublic, Id, InputModel, LongText

ResetPeriod = Literal["DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "HALF_YEARLY", "ANNUAL", "NEVER"]


class EntitlementFields(InputModel):
    """An entitlement without its owner: what a plan's ``entitlements[]`` entries hold."""

    feature_id: Id
    is_enabled: bool = True
    usage_limit: int | None = Field(
        default=None, ge=0, le=2**53, description="Metered only; null = unlimited."
    )
    usage_reset_period: ResetPeriod | None = None
    is_soft_limit: bool = False
    static_value: LongText | None = Field(default=None, description="Static and config features.")


class EntitlementCreate(EntitlementFields):
    entity_type: Literal["PLAN", "SUBSCRIPTION"] = "PLAN"
    entity_id: Id

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entity_type": "PLAN",
                    "entity_id": "plan_01J…",
                    "feature_id": "feat_01J…",
                    "usage_limit": 1000,
                    "usage_reset_period": "MONTHLY",
                }
            ]
        },
    )


class EntitlementUpdate(InputModel):
    is_enabled: bool | None = None
    usage_limit: int | None = Field(default=None, ge=0, le=2**53)
    usage_reset_period: ResetPeriod | None = None
    is_soft_limit: bool | None = None
    static_value: LongText | None = None


class EntitlementPublic(AuditPublic):
    entity_type: str
    entity_id: str
    feature_id: str
    feature_type: str
    is_enabled: bool
    usage_limit: int | None
    usage_reset_period: str | None
    is_soft_limit: bool
    static_value: str | None
