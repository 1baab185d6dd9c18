"""Meter bodies (Flexprice ``/meters``, docs/billing-semantics.md §2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    DecimalOut,
    InputModel,
    Name,
    PositiveMoney,
    PublicModel,
    Text,
    neutral,
    plain,
)
from flexprice_pipelines.billing.meters import AggregationType, BucketSize, ResetUsage


class AggregationIn(InputModel):
    type: AggregationType
    field: Text | None = None
    multiplier: PositiveMoney | None = None
    bucket_size: BucketSize | None = None
    expression: Text | None = neutral(description="Flexprice's CEL expression per event.")
    group_by: Text | None = neutral(description="Flexprice's grouping of MAX aggregations.")


class MeterFilterIn(InputModel):
    key: Name
    values: list[Text] = Field(min_length=1, max_length=100)


class MeterCreate(InputModel):
    event_name: Name
    name: Name
    aggregation: AggregationIn
    filters: list[MeterFilterIn] = Field(default_factory=list, max_length=50)
    reset_usage: ResetUsage = Field(
        default=ResetUsage.BILLING_PERIOD,
        description="BILLING_PERIOD: usage restarts every period (API calls); NEVER: it accumulates "
        "(storage). Flexprice requires it; here it defaults to BILLING_PERIOD.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_name": "api_call",
                    "name": "API calls",
                    "aggregation": {"type": "COUNT"},
                    "filters": [{"key": "region", "values": ["eu", "us"]}],
                }
            ]
        },
    )


class MeterUpdate(InputModel):
    name: Name | None = None
    filters: list[MeterFilterIn] | None = Field(default=None, max_length=50)


class AggregationPublic(PublicModel):
    type: str
    field: str | None = None
    multiplier: DecimalOut | None = None
    bucket_size: str | None = None


class MeterFilterPublic(PublicModel):
    key: str
    values: list[str]


class MeterPublic(AuditPublic):
    event_name: str
    name: str
    aggregation: AggregationPublic
    filters: list[MeterFilterPublic]
    reset_usage: str


def aggregation_json(aggregation: AggregationIn) -> dict[str, Any]:
    """The stored form of an aggregation (decimals as strings)."""
    multiplier: Decimal | None = aggregation.multiplier
    return {
        "type": aggregation.type.value,
        "field": aggregation.field,
        "multiplier": None if multiplier is None else plain(multiplier),
        "bucket_size": None if aggregation.bucket_size is None else aggregation.bucket_size.value,
    }
