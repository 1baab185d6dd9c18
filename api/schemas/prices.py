"""Price bodies (Flexprice ``/prices``, docs/billing-semantics.md §3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    Count,
    Currency,
    DecimalOut,
    Id,
    InputModel,
    LongText,
    Metadata,
    MetadataOut,
    NonNegativeMoney,
    PositiveCount,
    PublicModel,
    Text,
    When,
    metadata_out,
    neutral,
)
from flexprice_pipelines.billing.pricing import (
    BillingModel,
    BillingPeriod,
    InvoiceCadence,
    PriceType,
    TierMode,
)


class TierIn(InputModel):
    up_to: NonNegativeMoney | None = Field(
        default=None, description="Inclusive upper bound; null = no bound (last tier only)."
    )
    unit_amount: NonNegativeMoney
    flat_amount: NonNegativeMoney | None = None


class TransformQuantityIn(InputModel):
    divide_by: PositiveCount
    round: Literal["up", "down"] = "up"


class PriceFields(InputModel):
    """A price without its owner: what a plan's ``prices[]`` entries hold."""

    type: PriceType
    billing_model: BillingModel
    currency: Currency
    billing_period: BillingPeriod
    invoice_cadence: InvoiceCadence
    amount: NonNegativeMoney = Field(
        default=Decimal(0), description="FLAT_FEE: per unit; PACKAGE: per package."
    )
    tier_mode: TierMode | None = None
    tiers: list[TierIn] | None = Field(default=None, max_length=100)
    transform_quantity: TransformQuantityIn | None = None
    billing_period_count: int = Field(default=1, ge=1, le=120)
    billing_cadence: Literal["RECURRING", "ONETIME"] = "RECURRING"
    meter_id: Id | None = Field(default=None, description="Required for USAGE prices.")
    lookup_key: Text | None = None
    description: LongText | None = None
    display_amount: Text | None = None
    display_name: Text | None = Field(
        default=None,
        description="Names the subscription line items (and so the invoice lines) made from this price.",
    )
    trial_period_days: Count = Field(default=0, le=3650)
    metadata: Metadata = Field(default_factory=dict)


TIERED_EXAMPLE: dict[str, Any] = {
    "type": "USAGE",
    "billing_model": "TIERED",
    "tier_mode": "SLAB",
    "tiers": [
        {"up_to": 1000, "unit_amount": "0"},
        {"up_to": 10000, "unit_amount": "0.002"},
        {"up_to": None, "unit_amount": "0.001"},
    ],
    "currency": "usd",
    "billing_period": "MONTHLY",
    "invoice_cadence": "ARREAR",
    "meter_id": "meter_01J…",
}


class PriceCreate(PriceFields):
    """Flexprice's ``CreatePriceRequest``; the fields we do not implement are accepted only at their
    neutral values (``neutral()``): prices are in fiat currency, with no dates, groups or filters."""

    entity_type: Literal["PLAN", "SUBSCRIPTION"] = "PLAN"
    entity_id: Id = Field(description="The plan (or subscription) this price belongs to.")
    price_unit_type: str = neutral(
        default="FIAT", description="FIAT: amounts are in ``currency``; CUSTOM price units are not supported."
    )
    price_unit_config: dict[str, Any] | None = neutral(description="A custom price unit's amounts.")
    start_date: When | None = neutral(description="When the price starts to apply.")
    end_date: When | None = neutral(description="When the price stops applying.")
    group_id: Text | None = neutral(description="A price group.")
    filter_values: dict[str, list[Text]] | None = neutral({}, description="Event filters of a usage price.")
    min_quantity: int | None = neutral(description="A minimum quantity billed.")
    bucket_size: str | None = neutral(description="The SDK's bucketed usage price window.")

    model_config = ConfigDict(json_schema_extra={"examples": [{**TIERED_EXAMPLE, "entity_id": "plan_01J…"}]})


_NEW_VERSION = "Flexprice changes these by creating a new version of the price; create a new price instead."


class PriceUpdate(InputModel):
    lookup_key: Text | None = None
    description: LongText | None = None
    display_amount: Text | None = None
    display_name: Text | None = None
    metadata: Metadata | None = None
    group_id: Text | None = neutral("", description="A price group (Flexprice: an empty string removes it).")
    # Flexprice's UpdatePriceRequest also changes what the price charges. Unknown fields are ignored
    # (InputModel), so these are declared: refused when set, never silently left unchanged.
    amount: NonNegativeMoney | None = neutral(description=_NEW_VERSION)
    billing_model: BillingModel | None = neutral(description=_NEW_VERSION)
    tier_mode: TierMode | None = neutral(description=_NEW_VERSION)
    tiers: list[TierIn] | None = neutral(description=_NEW_VERSION)
    transform_quantity: TransformQuantityIn | None = neutral(description=_NEW_VERSION)
    price_unit_amount: NonNegativeMoney | None = neutral(description=_NEW_VERSION)
    price_unit_tiers: list[TierIn] | None = neutral(description=_NEW_VERSION)
    effective_from: When | None = neutral(description=_NEW_VERSION)
    bucket_size: str | None = neutral(description=_NEW_VERSION)


class PriceDelete(InputModel):
    """Flexprice's ``DeletePriceRequest`` (optional body): a price here ends when it is deleted."""

    end_date: When | None = neutral(description="When the price stops applying (Flexprice: later than now).")


class TierPublic(PublicModel):
    up_to: DecimalOut | None = None
    unit_amount: DecimalOut
    flat_amount: DecimalOut | None = None


class TransformQuantityPublic(PublicModel):
    divide_by: int | None = None
    round: str = "up"


class PricePublic(AuditPublic):
    entity_type: str
    entity_id: str | None
    type: str
    billing_model: str
    tier_mode: str | None
    tiers: list[TierPublic] | None
    amount: DecimalOut
    display_amount: str | None
    currency: str
    transform_quantity: TransformQuantityPublic | None
    billing_period: str
    billing_period_count: int
    invoice_cadence: str
    billing_cadence: str
    meter_id: str | None
    lookup_key: str | None
    description: str | None
    trial_period_days: int
    display_name: str | None = None
    price_unit_type: Literal["FIAT"] = Field(default="FIAT", description="Prices are in fiat currency.")
    metadata: MetadataOut = metadata_out()
