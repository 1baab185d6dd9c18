"""Properties of compute_invoice over random invoices (§6)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.invoicing import (
    Coupon,
    CouponType,
    InvoiceComputation,
    LineCoupon,
    LineInput,
    PriceType,
    TaxRate,
    TaxRateType,
    allocate_pro_rata,
    compute_invoice,
)
from flexprice_pipelines.billing.money import currency_precision, round_amount

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 2, 1, tzinfo=UTC)
CURRENCIES = ["usd", "jpy", "kwd"]

amounts = st.decimals(min_value=0, max_value=100_000, places=6, allow_nan=False, allow_infinity=False)
percentages = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)


@dataclass(frozen=True)
class Scenario:
    currency: str
    lines: list[LineInput]
    line_coupons: list[LineCoupon]
    invoice_coupons: list[Coupon]
    wallet: Decimal
    taxes: list[TaxRate]

    def compute(self, lines: list[LineInput] | None = None) -> InvoiceComputation:
        return compute_invoice(
            self.lines if lines is None else lines,
            self.currency,
            self.line_coupons,
            self.invoice_coupons,
            self.wallet,
            self.taxes,
        )


@st.composite
def coupons(draw: st.DrawFn, currency: str) -> Coupon:
    if draw(st.booleans()):
        return Coupon(id="pct", type=CouponType.PERCENTAGE, percentage_off=draw(percentages))
    return Coupon(id="fix", type=CouponType.FIXED, amount_off=draw(amounts), currency=currency)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    currency = draw(st.sampled_from(CURRENCIES))
    count = draw(st.integers(min_value=0, max_value=6))
    lines = [
        LineInput(
            line_id=f"line-{i}",
            price_type=draw(st.sampled_from(list(PriceType))),
            amount=draw(amounts),
            quantity=Decimal(1),
            currency=currency,
            display_name=f"Line {i}",
            period_start=START,
            period_end=END,
        )
        for i in range(count)
    ]
    line_coupons = (
        draw(
            st.lists(
                st.builds(
                    LineCoupon,
                    coupon=coupons(currency),
                    line_id=st.sampled_from([x.line_id for x in lines]),
                ),
                max_size=3,
            )
        )
        if lines
        else []
    )
    taxes = [
        TaxRate(id=f"tax-{i}", name=f"Tax {i}", tax_rate_type=TaxRateType.PERCENTAGE, percentage_value=p)
        for i, p in enumerate(draw(st.lists(percentages, max_size=3)))
    ]
    return Scenario(
        currency=currency,
        lines=lines,
        line_coupons=line_coupons,
        invoice_coupons=draw(st.lists(coupons(currency), max_size=3)),
        wallet=draw(amounts),
        taxes=taxes,
    )


def _at_precision(amount: Decimal, currency: str) -> bool:
    return amount.as_tuple().exponent == -currency_precision(currency) and amount == round_amount(
        amount, currency
    )


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_invoice_invariants(s: Scenario) -> None:
    inv = s.compute()
    code = s.currency
    assert inv.subtotal == sum((round_amount(x.amount, code) for x in s.lines), Decimal(0))
    assert sum((r.amount for r in inv.lines), Decimal(0)) == inv.subtotal
    assert sum((r.invoice_discount for r in inv.lines), Decimal(0)) == inv.invoice_discount
    assert sum((r.discount for r in inv.lines), Decimal(0)) == inv.total_discount
    assert sum((c.discount for c in inv.coupon_applications), Decimal(0)) == inv.total_discount
    assert sum((r.credits_applied for r in inv.lines), Decimal(0)) == inv.total_credits
    assert sum((t.tax_amount for t in inv.tax_lines), Decimal(0)) == inv.total_tax
    assert inv.total_discount <= inv.subtotal
    assert inv.total_credits <= s.wallet
    assert inv.total >= 0
    assert inv.total == max(Decimal(0), inv.subtotal - inv.total_discount - inv.total_credits + inv.total_tax)
    for r in inv.lines:
        assert 0 <= r.credits_applied <= r.amount - r.discount
        assert 0 <= r.discount <= r.amount
        if r.price_type is PriceType.FIXED:
            assert r.credits_applied == 0
    printed = [inv.subtotal, inv.total_discount, inv.total_credits, inv.total_tax, inv.total, inv.amount_due]
    printed += [c.discount for c in inv.coupon_applications]
    printed += [t.tax_amount for t in inv.tax_lines]
    for r in inv.lines:
        printed += [r.amount, r.discount, r.line_discount, r.invoice_discount, r.credits_applied]
        printed += [r.taxable_amount, r.amount_after_credits]
    assert all(_at_precision(x, code) for x in printed)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_line_order_does_not_change_the_invoice(s: Scenario, rnd: random.Random) -> None:
    shuffled = list(s.lines)
    rnd.shuffle(shuffled)
    original = {r.line_id: r for r in s.compute().lines}
    reordered = {r.line_id: r for r in s.compute(shuffled).lines}
    assert original == reordered


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(CURRENCIES),
    st.lists(amounts, min_size=1, max_size=8),
    st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False),
)
def test_pro_rata_allocation_is_exact_and_capped(currency: str, raw: list[Decimal], share: Decimal) -> None:
    weights = [(f"k{i}", round_amount(w, currency)) for i, w in enumerate(raw)]
    total_weight = sum((w for _, w in weights), Decimal(0))
    total = round_amount(total_weight * share, currency).min(total_weight)
    parts = allocate_pro_rata(total, weights, currency)
    assert sum(parts.values(), Decimal(0)) == total
    for key, weight in weights:
        assert 0 <= parts[key] <= weight
        assert _at_precision(parts[key], currency)
