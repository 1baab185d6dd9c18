"""Invoice arithmetic: the worked cases and rounding examples of docs/billing-semantics.md §6."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from flexprice_pipelines.billing.errors import CurrencyMismatch, InvalidEntitlement, InvalidInvoice
from flexprice_pipelines.billing.invoicing import (
    BillingReason,
    Coupon,
    CouponType,
    InvoiceStatus,
    LineCoupon,
    LineInput,
    PriceType,
    TaxRate,
    TaxRateType,
    allocate_pro_rata,
    billable_usage,
    compute_invoice,
)

D = Decimal
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 2, 1, tzinfo=UTC)


def line(
    line_id: str, amount: str, price_type: PriceType = PriceType.USAGE, currency: str = "usd"
) -> LineInput:
    return LineInput(
        line_id=line_id,
        price_type=price_type,
        amount=D(amount),
        quantity=D(1),
        currency=currency,
        display_name=f"Line {line_id}",
        period_start=START,
        period_end=END,
    )


def pct(coupon_id: str, value: str) -> Coupon:
    return Coupon(id=coupon_id, type=CouponType.PERCENTAGE, percentage_off=D(value))


def fixed(coupon_id: str, value: str, currency: str = "usd") -> Coupon:
    return Coupon(id=coupon_id, type=CouponType.FIXED, amount_off=D(value), currency=currency)


def tax(rate_id: str, percentage: str) -> TaxRate:
    return TaxRate(id=rate_id, name=rate_id.upper(), percentage_value=D(percentage))


# The five worked invoice cases of §6: subtotal / discount / credits / total.
WORKED_CASES = [
    pytest.param(
        [line("a", "30"), line("b", "70")],
        [],
        [pct("inv10", "10")],
        "20",
        ("100.00", "10.00", "20.00", "70.00"),
        id="10pct-invoice",
    ),
    pytest.param(
        [line("a", "33.33"), line("b", "66.67")],
        [],
        [pct("inv10", "10")],
        "10",
        ("100.00", "10.00", "10.00", "80.00"),
        id="10pct-invoice-uneven-lines",
    ),
    pytest.param(
        [line("a", "50"), line("b", "50")],
        [LineCoupon(coupon=pct("half", "50"), line_id="a")],
        [fixed("ten", "10")],
        "20",
        ("100.00", "35.00", "20.00", "45.00"),
        id="50pct-line-plus-10-invoice",
    ),
    pytest.param(
        [line("a", "100")],
        [LineCoupon(coupon=pct("l10", "10"), line_id="a")],
        [pct("inv20", "20")],
        "10",
        ("100.00", "28.00", "10.00", "62.00"),
        id="10pct-line-then-20pct-invoice",
    ),
    pytest.param(
        [line("u", "50", PriceType.USAGE), line("f", "50", PriceType.FIXED)],
        [],
        [fixed("ten", "10")],
        "25",
        ("100.00", "10.00", "25.00", "65.00"),
        id="usage-plus-fixed",
    ),
]


@pytest.mark.parametrize(("lines", "line_coupons", "invoice_coupons", "wallet", "expected"), WORKED_CASES)
def test_worked_invoice_cases(
    lines: list[LineInput],
    line_coupons: list[LineCoupon],
    invoice_coupons: list[Coupon],
    wallet: str,
    expected: tuple[str, str, str, str],
) -> None:
    inv = compute_invoice(lines, "usd", line_coupons, invoice_coupons, D(wallet))
    subtotal, discount, credits, total = (D(x) for x in expected)
    assert (inv.subtotal, inv.total_discount, inv.total_credits, inv.total) == (
        subtotal,
        discount,
        credits,
        total,
    )
    assert inv.amount_due == total
    assert inv.status is InvoiceStatus.DRAFT
    assert sum(r.discount for r in inv.lines) == inv.total_discount
    assert sum(r.credits_applied for r in inv.lines) == inv.total_credits


def test_uneven_lines_allocate_the_invoice_discount_pro_rata() -> None:
    inv = compute_invoice([line("a", "33.33"), line("b", "66.67")], "usd", invoice_coupons=[pct("c", "10")])
    by_id = {r.line_id: r for r in inv.lines}
    assert by_id["a"].invoice_discount == D("3.33")
    assert by_id["b"].invoice_discount == D("6.67")
    assert by_id["a"].taxable_amount == D("30.00")


def test_line_coupon_then_invoice_coupon_on_the_running_remainder() -> None:
    inv = compute_invoice(
        [line("a", "50"), line("b", "50")],
        "usd",
        [LineCoupon(coupon=pct("half", "50"), line_id="a")],
        [fixed("ten", "10")],
        D(20),
    )
    a, b = inv.lines
    assert (a.line_discount, b.line_discount) == (D("25.00"), D("0.00"))
    # $10 over remainders 25 : 50 → 3.333… : 6.666…; the leftover cent goes to the larger remainder.
    assert (a.invoice_discount, b.invoice_discount) == (D("3.33"), D("6.67"))
    # Credit is taken line by line in line_id order, each capped at its post-discount amount.
    assert (a.credits_applied, b.credits_applied) == (D("20.00"), D("0.00"))
    assert a.amount_after_credits == D("1.67")
    assert [(c.coupon_id, c.line_id, c.discount) for c in inv.coupon_applications] == [
        ("half", "a", D("25.00")),
        ("ten", None, D("10.00")),
    ]


def test_wallet_credit_spills_to_the_next_usage_line() -> None:
    inv = compute_invoice([line("a", "5"), line("b", "30")], "usd", wallet_credit_available=D(20))
    assert [r.credits_applied for r in inv.lines] == [D("5.00"), D("15.00")]
    assert inv.total == D("15.00")


def test_credits_never_pay_fixed_lines() -> None:
    inv = compute_invoice(
        [line("f1", "40", PriceType.FIXED), line("f2", "60", PriceType.FIXED)],
        "usd",
        wallet_credit_available=D(500),
    )
    assert inv.total_credits == D("0.00")
    assert all(r.credits_applied == 0 for r in inv.lines)
    assert inv.total == D("100.00")


def test_wallet_credit_is_not_spent_beyond_what_is_available() -> None:
    # A wallet holding a sub-cent fraction cannot pay that fraction.
    inv = compute_invoice([line("a", "10")], "usd", wallet_credit_available=D("3.999"))
    assert inv.total_credits == D("3.99")


@pytest.mark.parametrize(
    ("currency", "base", "percentage", "expected"),
    [
        ("usd", "100.00", "8.875", "8.88"),
        ("usd", "123.45", "7.25", "8.95"),
        ("jpy", "999", "10.5", "105"),
        ("usd", "1.00", "0.1", "0.00"),
    ],
)
def test_tax_rounding_examples(currency: str, base: str, percentage: str, expected: str) -> None:
    inv = compute_invoice([line("a", base, currency=currency)], currency, tax_rates=[tax("t", percentage)])
    (tax_line,) = inv.tax_lines
    assert tax_line.tax_amount == D(expected)
    assert str(tax_line.tax_amount) == expected  # printed at the currency's precision
    assert inv.total == D(base) + D(expected)


def test_taxes_share_one_base_and_do_not_compound() -> None:
    inv = compute_invoice(
        [line("a", "100")],
        "usd",
        invoice_coupons=[pct("c", "10")],
        wallet_credit_available=D(30),
        tax_rates=[tax("state", "10"), tax("city", "5")],
    )
    # Base is subtotal − discount (90); credits do not shrink it, and city tax ignores state tax.
    assert [(t.taxable_amount, t.tax_amount) for t in inv.tax_lines] == [
        (D("90.00"), D("9.00")),
        (D("90.00"), D("4.50")),
    ]
    assert inv.total_tax == D("13.50")
    assert inv.total == D("100") - D("10") - D("30") + D("13.50")


def test_fixed_tax_is_charged_on_a_positive_base_only() -> None:
    flat = TaxRate(id="flat", name="Flat", tax_rate_type=TaxRateType.FIXED, fixed_value=D("2.5"))
    charged = compute_invoice([line("a", "10")], "usd", tax_rates=[flat])
    assert charged.total_tax == D("2.50")
    waived = compute_invoice([line("a", "10")], "usd", invoice_coupons=[pct("all", "100")], tax_rates=[flat])
    assert waived.total_tax == D("0.00")
    assert waived.total == D("0.00")


def test_subtotal_sums_lines_rounded_at_source() -> None:
    inv = compute_invoice([line(k, "10.333333") for k in "abc"], "usd")
    assert [r.amount for r in inv.lines] == [D("10.33")] * 3
    assert inv.subtotal == D("30.99")


def test_lines_round_half_away_from_zero() -> None:
    inv = compute_invoice([line("a", "10.275"), line("b", "0.005")], "usd")
    assert [r.amount for r in inv.lines] == [D("10.28"), D("0.01")]


def test_zero_subtotal_cycle_invoice_is_skipped() -> None:
    inv = compute_invoice([line("a", "0.004")], "usd", billing_reason=BillingReason.SUBSCRIPTION_CYCLE)
    assert inv.subtotal == D("0.00")
    assert inv.status is InvoiceStatus.SKIPPED
    assert compute_invoice([], "usd").status is InvoiceStatus.SKIPPED


def test_zero_subtotal_is_a_draft_for_other_reasons() -> None:
    inv = compute_invoice([line("a", "0")], "usd", billing_reason=BillingReason.SUBSCRIPTION_CREATE)
    assert inv.status is InvoiceStatus.DRAFT


def test_a_fully_discounted_cycle_invoice_is_still_a_draft() -> None:
    inv = compute_invoice([line("a", "10")], "usd", invoice_coupons=[pct("free", "100")])
    assert inv.status is InvoiceStatus.DRAFT
    assert inv.total == D("0.00")


def test_invoice_coupon_larger_than_remainder_is_capped() -> None:
    inv = compute_invoice(
        [line("a", "60"), line("b", "40")],
        "usd",
        invoice_coupons=[fixed("big", "150"), fixed("late", "5")],
        wallet_credit_available=D(50),
    )
    assert [c.discount for c in inv.coupon_applications] == [D("100.00"), D("0.00")]
    assert inv.total_discount == D("100.00")
    assert inv.total_credits == D("0.00")
    assert inv.total == D("0.00")


def test_line_coupon_is_capped_at_its_line() -> None:
    inv = compute_invoice(
        [line("a", "50"), line("b", "50")],
        "usd",
        [LineCoupon(coupon=fixed("big", "80"), line_id="a")],
    )
    a, b = inv.lines
    assert a.line_discount == D("50.00")
    assert b.line_discount == D("0.00")
    assert inv.total == D("50.00")


def test_two_line_coupons_on_one_line_apply_in_sequence() -> None:
    inv = compute_invoice(
        [line("a", "100")],
        "usd",
        [
            LineCoupon(coupon=pct("p50", "50"), line_id="a"),
            LineCoupon(coupon=pct("p50b", "50"), line_id="a"),
        ],
    )
    assert [c.discount for c in inv.coupon_applications] == [D("50.00"), D("25.00")]


def test_jpy_invoice_has_no_minor_units() -> None:
    inv = compute_invoice(
        [line("a", "1023.5", currency="JPY"), line("b", "10", currency="jpy")],
        "JPY",
        invoice_coupons=[pct("c", "10")],
        wallet_credit_available=D(100),
        tax_rates=[tax("t", "10")],
    )
    assert inv.currency == "jpy"
    assert inv.subtotal == D(1034)
    assert inv.total_discount == D(103)  # 103.4 rounded at source
    assert inv.total_tax == D(93)  # 10% of 931 = 93.1
    assert inv.total == D(1034 - 103 - 100 + 93)
    for amount in (inv.subtotal, inv.total_discount, inv.total_credits, inv.total_tax, inv.total):
        assert amount.as_tuple().exponent == 0


def test_mixing_currencies_is_refused() -> None:
    with pytest.raises(CurrencyMismatch) as err:
        compute_invoice([line("a", "1"), line("b", "1", currency="eur")], "usd")
    assert err.value.field == "lines.1.currency"


def test_fixed_coupon_in_another_currency_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        compute_invoice([line("a", "10")], "usd", invoice_coupons=[fixed("eur5", "5", currency="eur")])


def test_fixed_tax_in_another_currency_is_refused() -> None:
    flat = TaxRate(id="flat", name="Flat", tax_rate_type=TaxRateType.FIXED, fixed_value=D(1), currency="eur")
    with pytest.raises(CurrencyMismatch):
        compute_invoice([line("a", "10")], "usd", tax_rates=[flat])


def test_line_coupon_for_an_unknown_line_is_refused() -> None:
    with pytest.raises(InvalidInvoice) as err:
        compute_invoice([line("a", "10")], "usd", [LineCoupon(coupon=pct("c", "5"), line_id="zz")])
    assert err.value.field == "line_coupons.0.line_id"


def test_duplicate_line_ids_are_refused() -> None:
    with pytest.raises(InvalidInvoice, match="duplicate"):
        compute_invoice([line("a", "1"), line("a", "2")], "usd")


def test_line_input_validation() -> None:
    with pytest.raises(TypeError):
        LineInput(
            line_id="a",
            price_type=PriceType.USAGE,
            amount=1.5,  # type: ignore[arg-type]
            quantity=D(1),
            currency="usd",
            display_name="x",
            period_start=START,
            period_end=END,
        )
    with pytest.raises(InvalidInvoice, match="negative"):
        line("a", "-1")
    with pytest.raises(InvalidInvoice, match="timezone-aware"):
        LineInput(
            line_id="a",
            price_type=PriceType.USAGE,
            amount=D(1),
            quantity=D(1),
            currency="usd",
            display_name="x",
            period_start=datetime(2024, 1, 1),
            period_end=END,
        )
    with pytest.raises(InvalidInvoice, match="before period_end"):
        LineInput(
            line_id="a",
            price_type=PriceType.USAGE,
            amount=D(1),
            quantity=D(1),
            currency="usd",
            display_name="x",
            period_start=END,
            period_end=END,
        )
    with pytest.raises(InvalidInvoice, match="price_type"):
        LineInput(
            line_id="a",
            price_type="ONE_OFF",  # type: ignore[arg-type]
            amount=D(1),
            quantity=D(1),
            currency="usd",
            display_name="x",
            period_start=START,
            period_end=END,
        )


def test_breakdown_and_identifiers_pass_through_for_the_pdf() -> None:
    rows = (("0-10", D(10), D("0.50")), ("10-20", D(5), D("0.25")))
    source = LineInput(
        line_id="api",
        price_type="USAGE",  # type: ignore[arg-type]
        amount=D("6.25"),
        quantity=D(15),
        currency="usd",
        display_name="API calls",
        period_start=START,
        period_end=END,
        breakdown=rows,
        price_id="price_1",
        meter_id="meter_1",
    )
    (result,) = compute_invoice([source], "usd").lines
    assert result.price_type is PriceType.USAGE
    assert result.breakdown == rows
    assert (result.price_id, result.meter_id, result.quantity) == ("price_1", "meter_1", D(15))
    assert (result.display_name, result.period_start, result.period_end) == ("API calls", START, END)


def test_negative_wallet_credit_is_refused() -> None:
    with pytest.raises(InvalidInvoice):
        compute_invoice([line("a", "1")], "usd", wallet_credit_available=D(-1))


def test_allocation_assigns_the_residue_by_largest_remainder_then_key() -> None:
    # 0.02 over three equal lines: shares 0.00666… each; the two smallest keys take a cent.
    parts = allocate_pro_rata(D("0.02"), [("c", D(1)), ("a", D(1)), ("b", D(1))], "usd")
    assert parts == {"a": D("0.01"), "b": D("0.01"), "c": D("0.00")}
    parts = allocate_pro_rata(D("10.00"), [("x", D("1.00")), ("y", D("2.00"))], "usd")
    assert parts == {"x": D("3.33"), "y": D("6.67")}


def test_allocation_over_nothing_is_refused() -> None:
    assert allocate_pro_rata(D(0), [("a", D(0))], "usd") == {"a": D("0.00")}
    with pytest.raises(InvalidInvoice):
        allocate_pro_rata(D(1), [("a", D(0))], "usd")


@pytest.mark.parametrize(
    ("usage", "limit", "unlimited", "expected"),
    [
        ("150", "100", False, "50"),
        ("80", "100", False, "0"),
        ("100", "100", False, "0"),
        ("150", None, True, "0"),
        ("150", None, False, "150"),
        ("2.5", "0.5", False, "2.0"),
    ],
)
def test_billable_usage_subtracts_included_units(
    usage: str, limit: str | None, unlimited: bool, expected: str
) -> None:
    assert billable_usage(D(usage), D(limit) if limit else None, unlimited) == D(expected)


def test_billable_usage_refuses_a_negative_limit() -> None:
    with pytest.raises(InvalidEntitlement):
        billable_usage(D(1), D(-1), False)
