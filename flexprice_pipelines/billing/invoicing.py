"""Invoice arithmetic over already-rated amounts (docs/billing-semantics.md §6, coupons of §7, proration of §5).

Rating happens elsewhere; this module receives unrounded line amounts and turns them into the
numbers an invoice prints: rounded lines, coupon discounts, wallet credits, exclusive taxes and the
total, in exactly the order §6 prescribes. Every amount it returns is already at the currency's
precision (round at source), so sums of printed figures always add up.

Lines are identified by ``line_id``. Wherever an order among lines matters (residue of a pro-rata
split, wallet credit), lines are taken by ``line_id`` so the result does not depend on the order a
query happened to return them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import TypeVar

from flexprice_pipelines.billing.errors import CurrencyMismatch, InvalidEntitlement, InvalidInvoice
from flexprice_pipelines.billing.money import currency_precision, ensure_decimal, quantum, round_amount

# One definition of the charge kinds; re-exported here because invoice lines carry it.
from flexprice_pipelines.billing.pricing import PriceType

_HUNDRED = Decimal(100)
_E = TypeVar("_E", bound=StrEnum)


class BillingReason(StrEnum):
    """Why an invoice exists (Flexprice spellings)."""

    SUBSCRIPTION_CREATE = "SUBSCRIPTION_CREATE"
    SUBSCRIPTION_CYCLE = "SUBSCRIPTION_CYCLE"
    SUBSCRIPTION_UPDATE = "SUBSCRIPTION_UPDATE"
    PRORATION = "PRORATION"
    MANUAL = "MANUAL"


class InvoiceStatus(StrEnum):
    """Lifecycle status; this module only ever produces DRAFT or SKIPPED."""

    DRAFT = "DRAFT"
    FINALIZED = "FINALIZED"
    VOIDED = "VOIDED"
    SKIPPED = "SKIPPED"


class CouponType(StrEnum):
    """Flexprice ``coupon.type``: a fixed ``amount_off`` or a ``percentage_off``."""

    FIXED = "fixed"
    PERCENTAGE = "percentage"


class CouponCadence(StrEnum):
    """How many billing periods a coupon keeps discounting."""

    ONCE = "once"
    REPEATED = "repeated"
    FOREVER = "forever"


class TaxRateType(StrEnum):
    """Flexprice ``tax_rate_type``."""

    PERCENTAGE = "percentage"
    FIXED = "fixed"


def _money(value: object, what: str) -> Decimal:
    try:
        result = ensure_decimal(value, what)
    except ValueError as exc:
        raise InvalidInvoice(str(exc), field=what) from exc
    if not result.is_finite():
        raise InvalidInvoice(f"{what} must be finite", field=what)
    return result


def _enum(kind: type[_E], value: object, what: str) -> _E:
    try:
        return kind(str(value))
    except ValueError as exc:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidInvoice(f"{what} must be one of {allowed}, not {value!r}", field=what) from exc


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInvoice(f"{what} must be timezone-aware", field=what)


def _currency_code(currency: str, what: str = "currency") -> str:
    if not isinstance(currency, str) or not currency.strip():
        raise InvalidInvoice("currency is required", field=what)
    return currency.strip().lower()


def _zero(currency: str) -> Decimal:
    # A quantized zero keeps the currency's exponent, so an empty sum still prints as 0.00.
    return Decimal(0).quantize(quantum(currency))


def _round_down(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineInput:
    """One rated charge for an invoice: ``amount`` is the unrounded cost from the rating engine.

    ``breakdown`` is opaque to the invoice math (tier rows, bucket rows…) and is passed through
    unchanged for the PDF.
    """

    line_id: str
    price_type: PriceType
    amount: Decimal
    quantity: Decimal
    currency: str
    display_name: str
    period_start: datetime
    period_end: datetime
    breakdown: tuple[object, ...] = ()
    price_id: str | None = None
    meter_id: str | None = None

    def __post_init__(self) -> None:
        if not self.line_id:
            raise InvalidInvoice("line_id is required", field="line_id")
        object.__setattr__(self, "price_type", _enum(PriceType, self.price_type, "price_type"))
        amount = _money(self.amount, "amount")
        quantity = _money(self.quantity, "quantity")
        # Proration credits go to the wallet (§5), so an invoice line is never negative.
        if amount < 0:
            raise InvalidInvoice("line amount must not be negative", field="amount")
        if quantity < 0:
            raise InvalidInvoice("quantity must not be negative", field="quantity")
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "quantity", quantity)
        object.__setattr__(self, "currency", _currency_code(self.currency))
        _require_aware(self.period_start, "period_start")
        _require_aware(self.period_end, "period_end")
        if self.period_start >= self.period_end:
            raise InvalidInvoice("period_start must be before period_end", field="period_start")
        object.__setattr__(self, "breakdown", tuple(self.breakdown))


@dataclass(frozen=True, slots=True, kw_only=True)
class Coupon:
    """A discount definition (Flexprice ``coupon``): ``type`` fixed needs ``amount_off`` and ``currency``,
    ``type`` percentage needs ``percentage_off`` in [0, 100]."""

    id: str
    type: CouponType
    amount_off: Decimal | None = None
    percentage_off: Decimal | None = None
    currency: str | None = None
    cadence: CouponCadence = CouponCadence.ONCE
    duration_in_periods: int | None = None
    redeem_after: datetime | None = None
    redeem_before: datetime | None = None
    max_redemptions: int | None = None
    total_redemptions: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        kind = _enum(CouponType, self.type, "type")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "cadence", _enum(CouponCadence, self.cadence, "cadence"))
        if kind is CouponType.FIXED:
            if self.amount_off is None:
                raise InvalidInvoice("a fixed coupon needs amount_off", field="amount_off")
            amount_off = _money(self.amount_off, "amount_off")
            if amount_off < 0:
                raise InvalidInvoice("amount_off must not be negative", field="amount_off")
            if self.currency is None:
                raise InvalidInvoice("a fixed coupon needs a currency", field="currency")
            object.__setattr__(self, "amount_off", amount_off)
            object.__setattr__(self, "currency", _currency_code(self.currency))
        else:
            if self.percentage_off is None:
                raise InvalidInvoice("a percentage coupon needs percentage_off", field="percentage_off")
            pct = _money(self.percentage_off, "percentage_off")
            if not 0 <= pct <= _HUNDRED:
                raise InvalidInvoice("percentage_off must be between 0 and 100", field="percentage_off")
            object.__setattr__(self, "percentage_off", pct)
        if self.cadence is CouponCadence.REPEATED and (
            self.duration_in_periods is None or self.duration_in_periods < 1
        ):
            raise InvalidInvoice(
                "a repeated coupon needs duration_in_periods ≥ 1", field="duration_in_periods"
            )
        if self.max_redemptions is not None and self.max_redemptions < 1:
            raise InvalidInvoice("max_redemptions must be at least 1", field="max_redemptions")
        if self.total_redemptions < 0:
            raise InvalidInvoice("total_redemptions must not be negative", field="total_redemptions")
        for name in ("redeem_after", "redeem_before"):
            value = getattr(self, name)
            if value is not None:
                _require_aware(value, name)
        if (
            self.redeem_after is not None
            and self.redeem_before is not None
            and self.redeem_after >= self.redeem_before
        ):
            raise InvalidInvoice("redeem_after must be before redeem_before", field="redeem_after")

    def discount_on(self, remaining: Decimal, currency: str) -> Decimal:
        """The discount this coupon takes off ``remaining``: rounded, then capped at ``remaining``."""
        code = _currency_code(currency)
        if self.type is CouponType.FIXED:
            if self.currency != code:
                raise CurrencyMismatch(
                    f"coupon {self.id} is in {self.currency}, the invoice in {code}", field="currency"
                )
            assert self.amount_off is not None  # guaranteed by __post_init__
            raw = self.amount_off
        else:
            assert self.percentage_off is not None  # guaranteed by __post_init__
            raw = remaining * self.percentage_off / _HUNDRED
        return min(round_amount(raw, code), remaining)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineCoupon:
    """A coupon applied to one line item (Flexprice line-item coupon association)."""

    coupon: Coupon
    line_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxRate:
    """An exclusive tax (Flexprice ``tax_rate``): a ``percentage_value`` of the base or a ``fixed_value``."""

    id: str
    name: str
    tax_rate_type: TaxRateType = TaxRateType.PERCENTAGE
    percentage_value: Decimal | None = None
    fixed_value: Decimal | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        kind = _enum(TaxRateType, self.tax_rate_type, "tax_rate_type")
        object.__setattr__(self, "tax_rate_type", kind)
        if kind is TaxRateType.PERCENTAGE:
            if self.percentage_value is None:
                raise InvalidInvoice("a percentage tax needs percentage_value", field="percentage_value")
            pct = _money(self.percentage_value, "percentage_value")
            if not 0 <= pct <= _HUNDRED:
                raise InvalidInvoice("percentage_value must be between 0 and 100", field="percentage_value")
            object.__setattr__(self, "percentage_value", pct)
        else:
            if self.fixed_value is None:
                raise InvalidInvoice("a fixed tax needs fixed_value", field="fixed_value")
            fixed = _money(self.fixed_value, "fixed_value")
            if fixed < 0:
                raise InvalidInvoice("fixed_value must not be negative", field="fixed_value")
            object.__setattr__(self, "fixed_value", fixed)
        if self.currency is not None:
            object.__setattr__(self, "currency", _currency_code(self.currency))

    def tax_on(self, base: Decimal, currency: str) -> Decimal:
        """Tax on ``base`` rounded to ``currency``; a fixed tax is charged only on a positive base."""
        code = _currency_code(currency)
        if self.tax_rate_type is TaxRateType.PERCENTAGE:
            assert self.percentage_value is not None  # guaranteed by __post_init__
            return round_amount(base * self.percentage_value / _HUNDRED, code)
        if self.currency is not None and self.currency != code:
            raise CurrencyMismatch(
                f"tax rate {self.id} is in {self.currency}, the invoice in {code}", field="currency"
            )
        assert self.fixed_value is not None  # guaranteed by __post_init__
        # Flexprice adds a fixed tax even to a fully discounted invoice; a tax on nothing is not owed.
        return round_amount(self.fixed_value, code) if base > 0 else _zero(code)


@dataclass(frozen=True, slots=True, kw_only=True)
class CouponApplication:
    """One coupon's effect on this invoice; ``line_id`` is None for an invoice-level coupon."""

    coupon_id: str
    line_id: str | None
    discount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class TaxLine:
    """One tax rate applied to the invoice's taxable base."""

    tax_rate_id: str
    name: str
    tax_rate_type: TaxRateType
    percentage_value: Decimal | None
    fixed_value: Decimal | None
    taxable_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceLineResult:
    """A line as the invoice prints it; every amount is at currency precision.

    ``discount = line_discount + invoice_discount`` and ``taxable_amount = amount − discount``;
    ``amount_after_credits = taxable_amount − credits_applied``.
    """

    line_id: str
    display_name: str
    price_type: PriceType
    quantity: Decimal
    period_start: datetime
    period_end: datetime
    price_id: str | None
    meter_id: str | None
    breakdown: tuple[object, ...]
    amount: Decimal
    line_discount: Decimal
    invoice_discount: Decimal
    discount: Decimal
    credits_applied: Decimal
    taxable_amount: Decimal
    amount_after_credits: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceComputation:
    """Everything §6 derives for one invoice, ready to store and to print."""

    currency: str
    billing_reason: BillingReason
    status: InvoiceStatus
    lines: tuple[InvoiceLineResult, ...]
    coupon_applications: tuple[CouponApplication, ...]
    subtotal: Decimal
    line_discount: Decimal
    invoice_discount: Decimal
    total_discount: Decimal
    total_credits: Decimal
    tax_lines: tuple[TaxLine, ...]
    total_tax: Decimal
    total: Decimal
    amount_due: Decimal


def billable_usage(usage: Decimal, usage_limit: Decimal | None, is_unlimited: bool) -> Decimal:
    """Units left to bill after an entitlement's included units (§6).

    ``max(0, usage − usage_limit)``; an unlimited entitlement bills nothing; no limit at all (and not
    unlimited) bills all usage. Like every billable quantity (§2) the result is floored at 0.
    """
    used = _money(usage, "usage")
    if is_unlimited:
        return Decimal(0)
    if usage_limit is None:
        return max(Decimal(0), used)
    limit = ensure_decimal(usage_limit, "usage_limit")
    if limit < 0:
        raise InvalidEntitlement("usage_limit must not be negative", field="usage_limit")
    return max(Decimal(0), used - limit)


def allocate_pro_rata(
    total: Decimal, weights: Sequence[tuple[str, Decimal]], currency: str
) -> dict[str, Decimal]:
    """Split ``total`` over keys in proportion to their weights, exactly, at currency precision.

    Largest-remainder method on minor units: each key gets the floor of its share; the leftover
    minor units go one each to the largest fractional remainders (ties: smaller key first). Thus
    Σ result == total and, when ``total ≤ Σ weights``, no key receives more than its weight.
    """
    code = _currency_code(currency)
    scale = currency_precision(code)
    zero = _zero(code)
    if total < 0 or any(w < 0 for _, w in weights):
        raise InvalidInvoice("pro-rata allocation needs non-negative amounts", field="discount")
    units = _minor_units(total, scale)
    minor = [(key, _minor_units(w, scale)) for key, w in weights]
    denominator = sum(w for _, w in minor)
    if units == 0:
        return {key: zero for key, _ in minor}
    if denominator == 0:
        raise InvalidInvoice("cannot allocate an amount over lines that sum to zero", field="discount")
    # Integer arithmetic keeps the split exact; Decimal division would round at 28 digits.
    floors = {key: units * w // denominator for key, w in minor}
    remainders = {key: units * w % denominator for key, w in minor}
    leftover = units - sum(floors.values())
    for key in sorted(remainders, key=lambda k: (-remainders[k], k))[:leftover]:
        floors[key] += 1
    return {key: Decimal(floors[key]).scaleb(-scale).quantize(quantum(code)) for key, _ in minor}


def _minor_units(amount: Decimal, scale: int) -> int:
    scaled = amount.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise InvalidInvoice(f"{amount} is not at currency precision", field="amount")
    return int(scaled)


def compute_invoice(
    lines: Sequence[LineInput],
    currency: str,
    line_coupons: Sequence[LineCoupon] = (),
    invoice_coupons: Sequence[Coupon] = (),
    wallet_credit_available: Decimal = Decimal(0),
    tax_rates: Sequence[TaxRate] = (),
    billing_reason: BillingReason = BillingReason.SUBSCRIPTION_CYCLE,
) -> InvoiceComputation:
    """Compute an invoice from rated lines in the order of operations of §6.

    1. round every line; subtotal = Σ rounded lines;
    2. line coupons (in the given order, each on its line's running remainder), then invoice
       coupons (in order, on the invoice's running remainder); each discount rounded and capped;
       the invoice-level discount is allocated back to lines pro rata (``allocate_pro_rata``);
    3. wallet credit on USAGE lines only, by ``line_id``, up to each line's post-discount amount;
    4. each tax rate on the same base ``subtotal − discount``, rounded, not compounded;
    5. total = max(0, subtotal − discount − credits + tax).

    Coupons are applied as given: choosing which coupons are due this period (cadence, redeem
    window) is ``coupon_applies`` / ``validate_coupon_redemption``'s job. A zero-subtotal
    SUBSCRIPTION_CYCLE invoice is SKIPPED; anything else is a DRAFT.
    """
    code = _currency_code(currency)
    reason = _enum(BillingReason, billing_reason, "billing_reason")
    zero = _zero(code)
    _check_lines(lines, code)

    amounts = {line.line_id: round_amount(line.amount, code) for line in lines}
    subtotal = sum(amounts.values(), zero)

    remaining = dict(amounts)
    line_discounts = dict.fromkeys(amounts, zero)
    applications: list[CouponApplication] = []
    for index, applied in enumerate(line_coupons):
        if applied.line_id not in remaining:
            raise InvalidInvoice(
                f"coupon {applied.coupon.id} targets unknown line {applied.line_id!r}",
                field=f"line_coupons.{index}.line_id",
            )
        discount = applied.coupon.discount_on(remaining[applied.line_id], code)
        remaining[applied.line_id] -= discount
        line_discounts[applied.line_id] += discount
        applications.append(
            CouponApplication(coupon_id=applied.coupon.id, line_id=applied.line_id, discount=discount)
        )

    invoice_remaining = sum(remaining.values(), zero)
    invoice_discount = zero
    for coupon in invoice_coupons:
        discount = coupon.discount_on(invoice_remaining, code)
        invoice_remaining -= discount
        invoice_discount += discount
        applications.append(CouponApplication(coupon_id=coupon.id, line_id=None, discount=discount))

    ordered_ids = sorted(amounts)
    allocated = allocate_pro_rata(invoice_discount, [(i, remaining[i]) for i in ordered_ids], code)

    credit_left = _round_down(_money(wallet_credit_available, "wallet_credit_available"), code)
    if credit_left < 0:
        raise InvalidInvoice("wallet credit must not be negative", field="wallet_credit_available")
    usage_ids = {line.line_id for line in lines if line.price_type is PriceType.USAGE}
    credits = dict.fromkeys(amounts, zero)
    for line_id in ordered_ids:
        if line_id in usage_ids:
            credits[line_id] = min(credit_left, remaining[line_id] - allocated[line_id])
            credit_left -= credits[line_id]

    total_line_discount = sum(line_discounts.values(), zero)
    total_discount = total_line_discount + invoice_discount
    total_credits = sum(credits.values(), zero)
    tax_base = subtotal - total_discount
    tax_lines = tuple(
        TaxLine(
            tax_rate_id=rate.id,
            name=rate.name,
            tax_rate_type=rate.tax_rate_type,
            percentage_value=rate.percentage_value,
            fixed_value=rate.fixed_value,
            taxable_amount=tax_base,
            tax_amount=rate.tax_on(tax_base, code),
        )
        for rate in tax_rates
    )
    total_tax = sum((t.tax_amount for t in tax_lines), zero)
    total = max(zero, subtotal - total_discount - total_credits + total_tax)

    results = tuple(_line_result(line, amounts, line_discounts, allocated, credits) for line in lines)
    status = (
        InvoiceStatus.SKIPPED
        if reason is BillingReason.SUBSCRIPTION_CYCLE and subtotal == 0
        else InvoiceStatus.DRAFT
    )
    return InvoiceComputation(
        currency=code,
        billing_reason=reason,
        status=status,
        lines=results,
        coupon_applications=tuple(applications),
        subtotal=subtotal,
        line_discount=total_line_discount,
        invoice_discount=invoice_discount,
        total_discount=total_discount,
        total_credits=total_credits,
        tax_lines=tax_lines,
        total_tax=total_tax,
        total=total,
        amount_due=total,
    )


def _check_lines(lines: Sequence[LineInput], code: str) -> None:
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if line.currency != code:
            raise CurrencyMismatch(
                f"line {line.line_id} is in {line.currency}, the invoice in {code}",
                field=f"lines.{index}.currency",
            )
        if line.line_id in seen:
            raise InvalidInvoice(f"duplicate line_id {line.line_id!r}", field=f"lines.{index}.line_id")
        seen.add(line.line_id)


def _line_result(
    line: LineInput,
    amounts: dict[str, Decimal],
    line_discounts: dict[str, Decimal],
    allocated: dict[str, Decimal],
    credits: dict[str, Decimal],
) -> InvoiceLineResult:
    key = line.line_id
    discount = line_discounts[key] + allocated[key]
    taxable = amounts[key] - discount
    return InvoiceLineResult(
        line_id=key,
        display_name=line.display_name,
        price_type=line.price_type,
        quantity=line.quantity,
        period_start=line.period_start,
        period_end=line.period_end,
        price_id=line.price_id,
        meter_id=line.meter_id,
        breakdown=line.breakdown,
        amount=amounts[key],
        line_discount=line_discounts[key],
        invoice_discount=allocated[key],
        discount=discount,
        credits_applied=credits[key],
        taxable_amount=taxable,
        amount_after_credits=taxable - credits[key],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProrationLines:
    """Amounts of a mid-period change (§5): ``charge ≥ 0`` for the new terms, ``credit ≤ 0`` for the old."""

    charge: Decimal
    credit: Decimal

    @property
    def net(self) -> Decimal:
        """Charge plus (negative) credit."""
        return self.charge + self.credit


def proration_lines(
    old_unit: Decimal,
    old_qty: Decimal,
    new_unit: Decimal,
    new_qty: Decimal,
    coefficient: Decimal,
    currency: str,
) -> ProrationLines:
    """Charge ``new_unit × new_qty × coefficient`` and credit ``−old_unit × old_qty × coefficient``,
    each rounded to ``currency`` (§5). ``coefficient`` is the unused fraction of the period, in [0, 1].
    """
    code = _currency_code(currency)
    values = {
        "old_unit": _money(old_unit, "old_unit"),
        "old_qty": _money(old_qty, "old_qty"),
        "new_unit": _money(new_unit, "new_unit"),
        "new_qty": _money(new_qty, "new_qty"),
    }
    for name, value in values.items():
        if value < 0:
            raise InvalidInvoice(f"{name} must not be negative", field=name)
    coeff = _money(coefficient, "coefficient")
    if not 0 <= coeff <= 1:
        raise InvalidInvoice("proration coefficient must be between 0 and 1", field="coefficient")
    charge = round_amount(values["new_unit"] * values["new_qty"] * coeff, code)
    credit = round_amount(-values["old_unit"] * values["old_qty"] * coeff, code)
    return ProrationLines(charge=charge, credit=credit)


def coupon_applies(coupon: Coupon, periods_already_applied: int) -> bool:
    """Whether a coupon still discounts the next billing period, given how many it already discounted.

    once → only the first period; repeated → the first ``duration_in_periods``; forever → always.
    """
    if periods_already_applied < 0:
        raise InvalidInvoice("periods_already_applied must not be negative", field="periods_already_applied")
    if coupon.cadence is CouponCadence.ONCE:
        return periods_already_applied == 0
    if coupon.cadence is CouponCadence.REPEATED:
        assert coupon.duration_in_periods is not None  # guaranteed by Coupon.__post_init__
        return periods_already_applied < coupon.duration_in_periods
    return True


def validate_coupon_redemption(coupon: Coupon, at: datetime) -> None:
    """Raise ``InvalidInvoice`` unless ``coupon`` may be redeemed at ``at``.

    The redeem window is half-open ``[redeem_after, redeem_before)``; a coupon whose
    ``total_redemptions`` reached ``max_redemptions`` cannot be redeemed again.
    """
    _require_aware(at, "at")
    if coupon.redeem_after is not None and at < coupon.redeem_after:
        raise InvalidInvoice(f"coupon {coupon.id} cannot be redeemed yet", field="redeem_after")
    if coupon.redeem_before is not None and at >= coupon.redeem_before:
        raise InvalidInvoice(f"coupon {coupon.id} can no longer be redeemed", field="redeem_before")
    if coupon.max_redemptions is not None and coupon.total_redemptions >= coupon.max_redemptions:
        raise InvalidInvoice(f"coupon {coupon.id} reached its max_redemptions", field="max_redemptions")


def is_coupon_redeemable(coupon: Coupon, at: datetime) -> bool:
    """``validate_coupon_redemption`` as a yes/no answer."""
    _require_aware(at, "at")
    try:
        validate_coupon_redemption(coupon, at)
    except InvalidInvoice:
        return False
    return True
