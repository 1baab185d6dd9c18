"""Prices and what a quantity costs under them (docs/billing-semantics.md §3).

``Price`` validates a Flexprice price object (same field names and enum spellings) and raises
``InvalidPrice`` naming the offending field as a dotted path (``tiers.1.up_to``) for every invalid
input. ``calculate_cost`` prices one quantity, ``calculate_bucketed_cost`` prices each bucket of a
bucketed meter separately, and ``cost_breakdown`` explains a cost tier by tier for an invoice line.

Costs are never rounded here: rounding belongs to the invoice line (§4, §6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails

# BillingPeriod is shared with periods and subscriptions; re-exported here as part of the price API.
from flexprice_pipelines.billing.enums import BillingPeriod
from flexprice_pipelines.billing.errors import BillingError, InvalidPrice
from flexprice_pipelines.billing.money import ensure_decimal

__all__ = [
    "BillingModel",
    "BillingPeriod",
    "InvalidPriceDetails",
    "InvoiceCadence",
    "Price",
    "PriceType",
    "Tier",
    "TierCost",
    "TierMode",
    "TransformQuantity",
    "calculate_bucketed_cost",
    "calculate_cost",
    "cost_breakdown",
]

_ZERO = Decimal(0)


class PriceType(StrEnum):
    """What is charged: metered usage or a fixed recurring/one-time charge."""

    USAGE = "USAGE"
    FIXED = "FIXED"


class BillingModel(StrEnum):
    """How a quantity turns into money."""

    FLAT_FEE = "FLAT_FEE"
    PACKAGE = "PACKAGE"
    TIERED = "TIERED"


class TierMode(StrEnum):
    """VOLUME prices every unit at the reached tier; SLAB (graduated) fills tiers one after another."""

    VOLUME = "VOLUME"
    SLAB = "SLAB"


class InvoiceCadence(StrEnum):
    """ADVANCE bills at the start of a period, ARREAR at its end."""

    ADVANCE = "ADVANCE"
    ARREAR = "ARREAR"


class InvalidPriceDetails(InvalidPrice):
    """An ``InvalidPrice`` that also lists every problem found, as ``(field, message)`` pairs.

    ``field`` and ``message`` describe the first problem, exactly as for ``InvalidPrice``.
    """

    def __init__(self, errors: list[tuple[str | None, str]]) -> None:
        field, message = errors[0]
        super().__init__(message, field=field)
        self.errors = errors


def _join(prefix: str, field: str | None) -> str:
    return f"{prefix}.{field}" if field else prefix


def repath(exc: BillingError, prefix: str) -> BillingError:
    """The same error with every field under ``prefix`` (``body``, ``body.prices.0``).

    The core names fields from its own inputs (``tiers.1.up_to``); callers holding a price inside a
    request re-path it to where the client sent it (``body.prices.0.tiers.1.up_to``).
    """
    if isinstance(exc, InvalidPriceDetails):
        return InvalidPriceDetails([(_join(prefix, field), message) for field, message in exc.errors])
    return type(exc)(exc.message, field=_join(prefix, exc.field))


# --- field parsers: amounts refuse floats, because a float has already lost the cents --------------


def _amount(value: object) -> Decimal:
    try:
        return ensure_decimal(value)
    except TypeError as exc:
        # pydantic only turns ValueError into a located error; a TypeError would escape unlocated.
        raise ValueError(str(exc)) from None


def _optional_amount(value: object) -> Decimal | None:
    return None if value is None else _amount(value)


def _amount_or_zero(value: object) -> Decimal:
    # Flexprice omits or nulls an absent flat_amount; both mean "no flat fee".
    return _ZERO if value is None else _amount(value)


def _whole_number(value: object) -> object:
    if isinstance(value, bool | float):
        raise ValueError(f"must be a whole number, not {type(value).__name__}")
    if isinstance(value, str | Decimal):
        number = _amount(value)
        if number != number.to_integral_value():
            raise ValueError(f"must be a whole number: {value!r}")
        return int(number)
    return value


def _currency(value: object) -> object:
    if isinstance(value, str):
        if len(value) != 3 or not (value.isascii() and value.isalpha()):
            raise ValueError(f"must be a 3-letter ISO 4217 code: {value!r}")
        # Flexprice stores currencies lower-cased; so do we, so that codes compare equal.
        return value.lower()
    return value


def _blank_is_none(value: object) -> object:
    # Flexprice serialises absent strings and enums as "", which means "not set".
    return None if value == "" else value


def _round_mode(value: object) -> object:
    return "up" if value in (None, "") else value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _optional_not_negative(value: Decimal | None) -> Decimal | None:
    return None if value is None else _not_negative(value)


def _whole_not_negative(value: int) -> int:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _at_least_one(value: int) -> int:
    if value < 1:
        raise ValueError("must be at least 1")
    return value


Amount = Annotated[Decimal, BeforeValidator(_amount), AfterValidator(_not_negative)]
PositiveWholeNumber = Annotated[int, BeforeValidator(_whole_number), AfterValidator(_at_least_one)]
DayCount = Annotated[int, BeforeValidator(_whole_number), AfterValidator(_whole_not_negative)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_is_none)]


def _dotted(loc: tuple[int | str, ...]) -> str | None:
    return ".".join(str(part) for part in loc) or None


def _message(error: ErrorDetails) -> str:
    # Our own ValueErrors read better without pydantic's "Value error, " prefix.
    cause = error.get("ctx", {}).get("error")
    return str(cause) if isinstance(cause, ValueError) else error["msg"]


class _PriceModel(BaseModel):
    """Shared config; at top level, pydantic's ValidationError becomes ``InvalidPrice``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_validator(mode="wrap")
    @classmethod
    def _raise_invalid_price(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        try:
            model = handler(data)
        except ValidationError as exc:
            # Nested inside another model, let the parent's ValidationError carry the full path.
            if info.field_name is not None:
                raise
            raise InvalidPriceDetails(
                [(_dotted(err["loc"]), _message(err)) for err in exc.errors(include_url=False)]
            ) from None
        problems = model._rule_violations()
        if problems:
            if info.field_name is not None:
                raise ValueError("; ".join(f"{field}: {message}" for field, message in problems))
            raise InvalidPriceDetails(problems)
        return model

    def _rule_violations(self) -> list[tuple[str | None, str]]:
        return []


class Tier(_PriceModel):
    """One price tier; ``up_to`` is inclusive and ``None`` means no upper bound."""

    up_to: Annotated[
        Decimal | None, BeforeValidator(_optional_amount), AfterValidator(_optional_not_negative)
    ] = None
    unit_amount: Amount
    flat_amount: Annotated[Decimal, BeforeValidator(_amount_or_zero), AfterValidator(_not_negative)] = _ZERO


class TransformQuantity(_PriceModel):
    """Package size for PACKAGE prices: ``divide_by`` units make one package, rounded ``up`` or ``down``."""

    divide_by: PositiveWholeNumber | None = None
    round: Annotated[Literal["up", "down"], BeforeValidator(_round_mode)] = "up"


class Price(_PriceModel):
    """A validated Flexprice price; unknown Flexprice fields are ignored.

    >>> Price.model_validate({"type": "FIXED", "billing_model": "FLAT_FEE", "amount": "9.99",
    ...     "currency": "USD", "billing_period": "MONTHLY", "invoice_cadence": "ADVANCE"}).currency
    'usd'
    """

    id: OptionalText = None
    type: PriceType
    billing_model: BillingModel
    tier_mode: Annotated[TierMode | None, BeforeValidator(_blank_is_none)] = None
    tiers: tuple[Tier, ...] | None = None
    amount: Amount = _ZERO
    currency: Annotated[str, BeforeValidator(_currency)]
    transform_quantity: TransformQuantity | None = None
    billing_period: BillingPeriod
    billing_period_count: PositiveWholeNumber = 1
    invoice_cadence: InvoiceCadence
    meter_id: OptionalText = None
    lookup_key: OptionalText = None
    display_name: OptionalText = None
    # Flexprice names this field ``trial_period`` (in days); both spellings are accepted.
    trial_period_days: DayCount = Field(
        default=0, validation_alias=AliasChoices("trial_period_days", "trial_period")
    )

    def _rule_violations(self) -> list[tuple[str | None, str]]:
        problems: list[tuple[str | None, str]] = []
        if self.billing_model is BillingModel.TIERED and self.tier_mode is None:
            problems.append(("tier_mode", "is required when billing_model is TIERED"))
        if self.billing_model is BillingModel.TIERED and not self.tiers:
            problems.append(("tiers", "at least one tier is required when billing_model is TIERED"))
        problems.extend(_tier_order_violations(self.tiers or ()))
        if self.billing_model is BillingModel.PACKAGE:
            if self.transform_quantity is None:
                problems.append(("transform_quantity", "is required when billing_model is PACKAGE"))
            elif self.transform_quantity.divide_by is None:
                problems.append(
                    ("transform_quantity.divide_by", "is required (≥ 1) when billing_model is PACKAGE")
                )
        if self.type is PriceType.USAGE and self.invoice_cadence is InvoiceCadence.ADVANCE:
            # Usage is only known once the period is over; Flexprice accepts this and never bills it.
            problems.append(("invoice_cadence", "USAGE prices must be invoiced ARREAR"))
        if self.billing_period is BillingPeriod.ONETIME and self.invoice_cadence is InvoiceCadence.ARREAR:
            problems.append(("invoice_cadence", "ONETIME prices must be invoiced ADVANCE"))
        if self.type is PriceType.USAGE and self.meter_id is None:
            problems.append(("meter_id", "is required when type is USAGE"))
        return problems


def _tier_order_violations(tiers: tuple[Tier, ...]) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    previous: Decimal | None = None
    for index, tier in enumerate(tiers):
        field = f"tiers.{index}.up_to"
        if tier.up_to is None:
            if index != len(tiers) - 1:
                problems.append((field, "only the last tier may have no upper bound (null up_to)"))
        elif previous is not None and tier.up_to <= previous:
            problems.append((field, f"up_to must be greater than the previous tier's ({previous})"))
        if tier.up_to is not None:
            previous = tier.up_to if previous is None else max(previous, tier.up_to)
    return problems


@dataclass(frozen=True, slots=True)
class TierCost:
    """One line of a cost explanation.

    ``tier_index`` is ``None`` for FLAT_FEE and PACKAGE prices. A tier covers quantities in
    ``(from_quantity, up_to]``. For PACKAGE, ``quantity`` counts packages of ``package_size`` units
    and ``unit_amount`` is the price of one package. ``amount`` is unrounded.
    """

    tier_index: int | None
    from_quantity: Decimal
    up_to: Decimal | None
    quantity: Decimal
    unit_amount: Decimal
    flat_amount: Decimal
    amount: Decimal
    package_size: Decimal | None = None


def _billable(quantity: Decimal) -> Decimal:
    if isinstance(quantity, float):
        raise TypeError(f"quantity must be a Decimal, not float ({quantity!r})")
    value = ensure_decimal(quantity, "quantity")
    if not value.is_finite():
        raise ValueError(f"quantity must be finite: {value!r}")
    return max(value, _ZERO)


def _packages(price: Price, quantity: Decimal) -> tuple[Decimal, Decimal]:
    transform = price.transform_quantity
    if transform is None or transform.divide_by is None:
        raise InvalidPrice("PACKAGE price has no divide_by", field="transform_quantity.divide_by")
    size = Decimal(transform.divide_by)
    # Integer division and remainder are exact, unlike a 28-digit quotient that could hide a remainder.
    whole, remainder = divmod(quantity, size)
    if transform.round == "up" and remainder:
        whole += 1
    return whole, size


def _tiers(price: Price) -> tuple[Tier, ...]:
    if not price.tiers:
        raise InvalidPrice("TIERED price has no tiers", field="tiers")
    return price.tiers


def _volume_tier(tiers: tuple[Tier, ...], quantity: Decimal) -> int:
    for index, tier in enumerate(tiers):
        if tier.up_to is None or quantity <= tier.up_to:
            return index
    # Flexprice prices a quantity above a bounded last tier at that last tier.
    return len(tiers) - 1


def _upper_bound(tiers: tuple[Tier, ...], index: int) -> Decimal | None:
    # A bounded last tier also takes the overflow; Flexprice's SLAB would leave it unbilled.
    return None if index == len(tiers) - 1 else tiers[index].up_to


def _lower_bound(tiers: tuple[Tier, ...], index: int) -> Decimal:
    previous = tiers[index - 1].up_to if index else None
    return _ZERO if previous is None else previous


def _slab_cost(tiers: tuple[Tier, ...], quantity: Decimal) -> Decimal:
    total = _ZERO
    for index, tier in enumerate(tiers):
        upper = _upper_bound(tiers, index)
        ceiling = quantity if upper is None else min(quantity, upper)
        units = max(ceiling - _lower_bound(tiers, index), _ZERO)
        if units > 0:
            total += units * tier.unit_amount + tier.flat_amount
    return total


def calculate_cost(price: Price, quantity: Decimal) -> Decimal:
    """Unrounded cost of ``quantity`` under ``price``; negative quantities count as 0.

    Quantity 0 costs 0 under every model (no flat fee at zero). FLAT_FEE ignores
    ``transform_quantity``. A float quantity raises ``TypeError``.
    """
    billable = _billable(quantity)
    if not billable:
        return _ZERO
    match price.billing_model:
        case BillingModel.FLAT_FEE:
            return price.amount * billable
        case BillingModel.PACKAGE:
            packages, _ = _packages(price, billable)
            return price.amount * packages
        case BillingModel.TIERED:
            tiers = _tiers(price)
            if price.tier_mode is TierMode.SLAB:
                return _slab_cost(tiers, billable)
            tier = tiers[_volume_tier(tiers, billable)]
            return billable * tier.unit_amount + tier.flat_amount


def calculate_bucketed_cost(price: Price, quantities: Iterable[Decimal]) -> Decimal:
    """Cost of a bucketed meter: every bucket's quantity is priced on its own, then summed."""
    return sum((calculate_cost(price, quantity) for quantity in quantities), _ZERO)


def cost_breakdown(price: Price, quantity: Decimal) -> list[TierCost]:
    """How ``calculate_cost`` arrives at its result, for invoice line details.

    The amounts sum to ``calculate_cost(price, quantity)``. SLAB gives one entry per touched tier,
    VOLUME one entry for the reached tier, FLAT_FEE and PACKAGE one entry (units or packages).
    Quantity 0 touches nothing and gives an empty list.
    """
    billable = _billable(quantity)
    if not billable:
        return []
    match price.billing_model:
        case BillingModel.FLAT_FEE:
            return [TierCost(None, _ZERO, None, billable, price.amount, _ZERO, price.amount * billable)]
        case BillingModel.PACKAGE:
            packages, size = _packages(price, billable)
            amount = price.amount * packages
            return [TierCost(None, _ZERO, None, packages, price.amount, _ZERO, amount, size)]
        case BillingModel.TIERED:
            tiers = _tiers(price)
            if price.tier_mode is TierMode.SLAB:
                return _slab_breakdown(tiers, billable)
            index = _volume_tier(tiers, billable)
            tier = tiers[index]
            amount = billable * tier.unit_amount + tier.flat_amount
            lower = _lower_bound(tiers, index)
            return [TierCost(index, lower, tier.up_to, billable, tier.unit_amount, tier.flat_amount, amount)]


def _slab_breakdown(tiers: tuple[Tier, ...], quantity: Decimal) -> list[TierCost]:
    parts: list[TierCost] = []
    remaining = quantity
    for index, tier in enumerate(tiers):
        if remaining <= 0:
            break
        lower = _lower_bound(tiers, index)
        upper = _upper_bound(tiers, index)
        units = remaining if upper is None else min(remaining, max(upper - lower, _ZERO))
        if units <= 0:
            continue
        amount = units * tier.unit_amount + tier.flat_amount
        parts.append(TierCost(index, lower, tier.up_to, units, tier.unit_amount, tier.flat_amount, amount))
        remaining -= units
    return parts
