"""The catalog file format: one pydantic model per object kind (docs/catalog-as-code.md).

The same models describe what the file asks for and what the database holds, so "unchanged" is
plain model equality: ``Decimal`` fields compare by value (``1.5 == 1.50``) and both sides pass
the same normalizers (currency lower-cased, names trimmed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
# A meter key lives only in the file (Flexprice meters have no lookup_key), so it may be strict.
MeterKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=255)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Metadata = dict[str, str]


class SpecModel(BaseModel):
    """Typos in the file are errors, not silently ignored keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


class AggregationSpec(SpecModel):
    type: str
    field: str | None = None
    multiplier: Decimal | None = None
    bucket_size: str | None = None

    @field_validator("field", mode="before")
    @classmethod
    def _trim(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    _bucket = field_validator("bucket_size", mode="before")(_blank_is_none)


class FilterSpec(SpecModel):
    key: Text
    values: list[str]


class MeterSpec(SpecModel):
    """Matched in the database by (event_name, name); ``lookup_key`` only names it inside the file."""

    lookup_key: MeterKey
    name: Text
    event_name: Text
    aggregation: AggregationSpec
    filters: list[FilterSpec] = Field(default_factory=list)
    reset_usage: str = "BILLING_PERIOD"

    @property
    def identity(self) -> tuple[str, str]:
        return (self.event_name, self.name)


class FeatureSpec(SpecModel):
    lookup_key: Key
    name: Text
    type: Literal["metered", "boolean", "static", "config"]
    meter: str | None = None
    description: str | None = None
    unit_singular: str | None = None
    unit_plural: str | None = None
    metadata: Metadata = Field(default_factory=dict)


class TierSpec(SpecModel):
    up_to: Decimal | None = None
    unit_amount: Decimal
    flat_amount: Decimal = Decimal(0)

    _flat = field_validator("flat_amount", mode="before")(lambda v: Decimal(0) if v is None else v)


class TransformQuantitySpec(SpecModel):
    divide_by: int
    round: Literal["up", "down"] = "up"


class PriceSpec(SpecModel):
    lookup_key: Key
    type: str
    billing_model: str
    tier_mode: str | None = None
    tiers: list[TierSpec] | None = None
    amount: Decimal = Decimal(0)
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]
    transform_quantity: TransformQuantitySpec | None = None
    billing_period: str
    billing_period_count: int = 1
    invoice_cadence: str
    meter: str | None = None
    trial_period_days: int = 0
    description: str | None = None
    metadata: Metadata = Field(default_factory=dict)

    _currency = field_validator("currency", mode="before")(_lower)
    _tier_mode = field_validator("tier_mode", mode="before")(_blank_is_none)

    @property
    def billing_cadence(self) -> str:
        return "ONETIME" if self.billing_period == "ONETIME" else "RECURRING"


class EntitlementSpec(SpecModel):
    feature: Key
    is_enabled: bool = True
    usage_limit: int | None = None
    usage_reset_period: str | None = None
    is_soft_limit: bool = False
    static_value: str | None = None


class PlanSpec(SpecModel):
    lookup_key: Key
    name: Text
    description: str | None = None
    metadata: Metadata = Field(default_factory=dict)
    prices: list[PriceSpec] = Field(default_factory=list)
    entitlements: list[EntitlementSpec] = Field(default_factory=list)


class CouponSpec(SpecModel):
    """Flexprice coupons have no lookup_key; it is kept in the coupon's metadata (``lookup_key``)."""

    lookup_key: Key
    name: Text
    coupon_type: str
    amount_off: Decimal | None = None
    percentage_off: Decimal | None = None
    currency: str | None = None
    cadence: str = "once"
    duration_in_periods: int | None = None
    redeem_after: AwareDatetime | None = None
    redeem_before: AwareDatetime | None = None
    max_redemptions: int | None = None
    rules: dict[str, Any] | None = None
    metadata: Metadata = Field(default_factory=dict)

    _currency = field_validator("currency", mode="before")(_lower)

    @field_validator("rules", mode="before")
    @classmethod
    def _json_numbers(cls, value: object) -> object:
        # Rules are stored as JSON: decimals travel as strings, on both sides of a comparison.
        return _decimals_as_text(value)


def _decimals_as_text(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _decimals_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals_as_text(v) for v in value]
    return value


class TaxRateSpec(SpecModel):
    """A tax rate's ``code`` is its lookup key (unique per tenant and environment, as in Flexprice)."""

    code: Key
    name: Text
    tax_rate_type: str
    percentage_value: Decimal | None = None
    fixed_value: Decimal | None = None
    currency: str | None = None
    scope: str = "INTERNAL"
    tax_rate_status: str = "ACTIVE"
    description: str | None = None
    metadata: Metadata = Field(default_factory=dict)

    _currency = field_validator("currency", mode="before")(_lower)


class CatalogSpec(SpecModel):
    """A whole catalog file."""

    version: Literal[1] = 1
    meters: list[MeterSpec] = Field(default_factory=list)
    features: list[FeatureSpec] = Field(default_factory=list)
    plans: list[PlanSpec] = Field(default_factory=list)
    coupons: list[CouponSpec] = Field(default_factory=list)
    tax_rates: list[TaxRateSpec] = Field(default_factory=list)

    def sorted(self) -> CatalogSpec:
        """The same catalog in the stable order ``export`` writes (by lookup_key / code)."""
        plans = [
            plan.model_copy(
                update={
                    "prices": sorted(plan.prices, key=lambda p: p.lookup_key),
                    "entitlements": sorted(plan.entitlements, key=lambda e: e.feature),
                }
            )
            for plan in sorted(self.plans, key=lambda p: p.lookup_key)
        ]
        return self.model_copy(
            update={
                "meters": sorted(self.meters, key=lambda m: m.lookup_key),
                "features": sorted(self.features, key=lambda f: f.lookup_key),
                "plans": plans,
                "coupons": sorted(self.coupons, key=lambda c: c.lookup_key),
                "tax_rates": sorted(self.tax_rates, key=lambda t: t.code),
            }
        )
