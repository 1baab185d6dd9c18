"""Entitlement bodies (Flexprice ``/entitlements``, docs/billing-semantics.md §7)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from api.schemas.common import AuditPublic, Id, InputModel, LongText, When, neutral
from flexprice_pipelines.billing.entitlements import FeatureType
from flexprice_pipelines.billing.errors import InvalidEntitlement

ResetPeriod = Literal["DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "HALF_YEARLY", "ANNUAL", "NEVER"]


class EntitlementFields(InputModel):
    """An entitlement without its owner: what a plan's ``entitlements[]`` entries hold."""

    feature_id: Id
    feature_type: FeatureType | None = Field(
        default=None, description="When sent, must be the feature's type (Flexprice requires it)."
    )
    is_enabled: bool = True
    usage_limit: int | None = Field(
        default=None, ge=0, le=2**53, description="Metered only; null = unlimited."
    )
    usage_reset_period: ResetPeriod | None = None
    is_soft_limit: bool = False
    static_value: LongText | None = Field(default=None, description="Static and config features.")


class EntitlementCreate(EntitlementFields):
    """Flexprice's ``CreateEntitlementRequest``. The owner is ``entity_type`` + ``entity_id``, or
    ``plan_id`` (Flexprice's older spelling of a PLAN owner); the grant and date fields are accepted
    only at their neutral values (``neutral()``)."""

    entity_type: Literal["PLAN", "SUBSCRIPTION"] = "PLAN"
    entity_id: Id | None = Field(default=None, description="Required unless plan_id is given.")
    plan_id: Id | None = Field(
        default=None, description="The plan: the same as entity_type PLAN with this entity_id."
    )
    aggregation_mode: str | None = neutral(description="How a subscription's entitlements combine.")
    config_value: dict[str, Any] | None = neutral({}, description="A config feature's structured value.")
    start_date: When | None = neutral(description="When the entitlement starts.")
    end_date: When | None = neutral(description="When the entitlement ends.")
    parent_entitlement_id: Id | None = neutral(description="The plan entitlement a subscription's overrides.")
    grant_allocation_behavior: str | None = neutral(description="Credit grants on entitlements.")
    grant_duration_unit: str | None = neutral(description="Credit grants on entitlements.")
    grant_duration_value: int | None = neutral(description="Credit grants on entitlements.")
    grant_measure: str | None = neutral(description="Credit grants on entitlements.")
    grant_quota: str | None = neutral(description="Credit grants on entitlements.")
    grant_unlimited: bool | None = neutral(False, description="Credit grants on entitlements.")

    def owner(self) -> tuple[Literal["PLAN", "SUBSCRIPTION"], str]:
        """``(entity_type, entity_id)``, from ``plan_id`` or the entity fields; a clash names the field."""
        if self.plan_id is not None:
            if "entity_type" in self.model_fields_set and self.entity_type != "PLAN":
                raise InvalidEntitlement("names a plan, but entity_type is not PLAN", field="body.plan_id")
            if self.entity_id is not None and self.entity_id != self.plan_id:
                raise InvalidEntitlement("names another plan than entity_id", field="body.plan_id")
            return "PLAN", self.plan_id
        if self.entity_id is None:
            raise InvalidEntitlement("is required (or plan_id)", field="body.entity_id")
        return self.entity_type, self.entity_id

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
    """Flexprice's ``UpdateEntitlementRequest``; its grant and config fields are accepted only at their
    neutral values (``neutral()``), as on create."""

    is_enabled: bool | None = None
    usage_limit: int | None = Field(default=None, ge=0, le=2**53)
    usage_reset_period: ResetPeriod | None = None
    is_soft_limit: bool | None = None
    static_value: LongText | None = None
    aggregation_mode: str | None = neutral(description="How a subscription's entitlements combine.")
    config_value: dict[str, Any] | None = neutral({}, description="A config feature's structured value.")
    clear_grant_config: bool | None = neutral(False, description="Credit grants on entitlements.")
    grant_allocation_behavior: str | None = neutral(description="Credit grants on entitlements.")
    grant_duration_unit: str | None = neutral(description="Credit grants on entitlements.")
    grant_duration_value: int | None = neutral(description="Credit grants on entitlements.")
    grant_measure: str | None = neutral(description="Credit grants on entitlements.")
    grant_quota: str | None = neutral(description="Credit grants on entitlements.")
    grant_unlimited: bool | None = neutral(False, description="Credit grants on entitlements.")


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
    plan_id: str | None = Field(default=None, description="The plan, when entity_type is PLAN.")

    @model_validator(mode="after")
    def _plan(self) -> EntitlementPublic:
        if self.entity_type == "PLAN":
            self.plan_id = self.entity_id
        return self
