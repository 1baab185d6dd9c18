"""Plan bodies (Flexprice ``/plans``): a plan is created with its prices and entitlements."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    InputModel,
    LongText,
    Metadata,
    MetadataOut,
    Name,
    Text,
    metadata_out,
    neutral,
)
from api.schemas.entitlements import EntitlementFields, EntitlementPublic
from api.schemas.prices import TIERED_EXAMPLE, PriceFields, PricePublic

_DISPLAY_ORDER = "Where the plan is listed in a pricing table."


class PlanCreate(InputModel):
    name: Name
    lookup_key: Text | None = Field(default=None, description="Unique per environment.")
    description: LongText | None = None
    metadata: Metadata = Field(default_factory=dict)
    prices: list[PriceFields] = Field(default_factory=list, max_length=50)
    entitlements: list[EntitlementFields] = Field(default_factory=list, max_length=50)
    display_order: int | None = neutral(description=_DISPLAY_ORDER)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Pro",
                    "lookup_key": "pro",
                    "prices": [
                        {
                            "type": "FIXED",
                            "billing_model": "FLAT_FEE",
                            "amount": "49.00",
                            "currency": "usd",
                            "billing_period": "MONTHLY",
                            "invoice_cadence": "ADVANCE",
                        },
                        TIERED_EXAMPLE,
                    ],
                    "entitlements": [{"feature_id": "feat_01J…", "usage_limit": 100000}],
                }
            ]
        },
    )


class PlanUpdate(InputModel):
    name: Name | None = None
    lookup_key: Text | None = None
    description: LongText | None = None
    metadata: Metadata | None = None
    display_order: int | None = neutral(description=_DISPLAY_ORDER)


class PlanPublic(AuditPublic):
    name: str
    lookup_key: str | None
    description: str | None
    metadata: MetadataOut = metadata_out()
    prices: list[PricePublic] = Field(default_factory=list)
    entitlements: list[EntitlementPublic] = Field(default_factory=list)
