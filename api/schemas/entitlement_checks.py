"""Customer entitlements, usage summaries and entitlement checks (Flexprice shapes; checks are ours)."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import DecimalOut, Id, InputModel, Text


class FeatureSummary(BaseModel):
    id: str
    name: str
    lookup_key: str | None
    type: str
    meter_id: str | None
    unit_singular: str | None
    unit_plural: str | None
    description: str | None


class EntitlementSourcePublic(BaseModel):
    """Which subscription (and plan or override) grants the feature (Flexprice ``EntitlementSource``)."""

    subscription_id: str
    entity_id: str
    entity_type: str = Field(description="plan | subscription | addon")
    quantity: int = 1
    entity_name: str | None
    entitlement_id: str | None
    is_enabled: bool
    usage_limit: int | None
    static_value: str | None
    usage_reset_period: str | None


class AggregatedEntitlement(BaseModel):
    is_enabled: bool
    usage_limit: int | None = Field(description="Summed across subscriptions; null = unlimited.")
    is_soft_limit: bool
    usage_reset_period: str | None
    static_values: list[str]


class AggregatedFeature(BaseModel):
    feature: FeatureSummary
    entitlement: AggregatedEntitlement
    sources: list[EntitlementSourcePublic]


class SubscriptionRef(BaseModel):
    id: str
    plan_id: str
    subscription_status: str
    start_date: datetime
    current_period_start: datetime
    current_period_end: datetime


class CustomerEntitlementsResponse(BaseModel):
    customer_id: str
    subscriptions: list[SubscriptionRef]
    features: list[AggregatedFeature]


class FeatureUsageSummary(BaseModel):
    feature: FeatureSummary
    total_limit: int | None
    is_unlimited: bool
    current_usage: DecimalOut
    usage_percent: DecimalOut
    is_enabled: bool
    is_soft_limit: bool
    next_usage_reset_at: datetime | None
    sources: list[EntitlementSourcePublic]


class CustomerUsageSummaryResponse(BaseModel):
    customer_id: str
    features: list[FeatureUsageSummary]


class _CustomerRef(InputModel):
    customer_id: Id | None = None
    external_customer_id: Text | None = None

    @model_validator(mode="after")
    def _one_customer(self) -> Self:
        if (self.customer_id is None) == (self.external_customer_id is None):
            raise ValueError("give exactly one of customer_id and external_customer_id")
        return self


class FeatureRefIn(InputModel):
    feature_id: Id | None = None
    feature_lookup_key: Text | None = None

    @model_validator(mode="after")
    def _one_feature(self) -> Self:
        if (self.feature_id is None) == (self.feature_lookup_key is None):
            raise ValueError("give exactly one of feature_id and feature_lookup_key")
        return self


class EntitlementCheckRequest(_CustomerRef):
    feature_id: Id | None = None
    feature_lookup_key: Text | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"external_customer_id": "acme-1", "feature_lookup_key": "api_calls"}]
        },
    )

    @model_validator(mode="after")
    def _one_feature(self) -> Self:
        if (self.feature_id is None) == (self.feature_lookup_key is None):
            raise ValueError("give exactly one of feature_id and feature_lookup_key")
        return self


class BatchEntitlementCheckRequest(_CustomerRef):
    features: list[FeatureRefIn] = Field(min_length=1, max_length=100)


class EntitlementCheckResult(BaseModel):
    """``allowed`` is false when the feature is disabled (or not granted) or a hard limit is reached."""

    customer_id: str
    feature_id: str
    feature_lookup_key: str | None
    allowed: bool
    reason: str = Field(
        description="disabled | enabled | unlimited | within_limit | limit_reached | soft_limit_exceeded"
    )
    is_enabled: bool
    usage_limit: int | None
    current_usage: DecimalOut
    remaining: DecimalOut | None
    is_soft_limit: bool
    next_usage_reset_at: datetime | None
    usage_reset_period: str | None
    static_values: list[str]


class BatchEntitlementCheckResponse(BaseModel):
    customer_id: str
    results: list[EntitlementCheckResult]
