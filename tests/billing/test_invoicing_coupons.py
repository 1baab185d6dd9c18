"""Coupon definitions, cadence, redemption rules (§7) and proration amounts (§5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from flexprice_pipelines.billing.errors import InvalidInvoice
from flexprice_pipelines.billing.invoicing import (
    Coupon,
    CouponCadence,
    CouponType,
    coupon_applies,
    is_coupon_redeemable,
    proration_lines,
    validate_coupon_redemption,
)

D = Decimal
NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def coupon(**overrides: object) -> Coupon:
    fields: dict[str, object] = {"id": "c", "type": CouponType.PERCENTAGE, "percentage_off": D(10)}
    fields.update(overrides)
    return Coupon(**fields)  # type: ignore[arg-type]


def test_once_applies_to_the_first_period_only() -> None:
    once = coupon(cadence=CouponCadence.ONCE)
    assert [coupon_applies(once, n) for n in range(3)] == [True, False, False]


def test_repeated_applies_for_duration_in_periods() -> None:
    repeated = coupon(cadence="repeated", duration_in_periods=3)
    assert [coupon_applies(repeated, n) for n in range(5)] == [True, True, True, False, False]


def test_forever_always_applies() -> None:
    forever = coupon(cadence=CouponCadence.FOREVER)
    assert all(coupon_applies(forever, n) for n in (0, 1, 12, 1000))


def test_negative_period_count_is_refused() -> None:
    with pytest.raises(InvalidInvoice):
        coupon_applies(coupon(), -1)


def test_redeem_window_is_half_open() -> None:
    windowed = coupon(redeem_after=NOW, redeem_before=NOW + timedelta(days=1))
    assert is_coupon_redeemable(windowed, NOW)
    assert is_coupon_redeemable(windowed, NOW + timedelta(hours=23, minutes=59))
    assert not is_coupon_redeemable(windowed, NOW - timedelta(seconds=1))
    assert not is_coupon_redeemable(windowed, NOW + timedelta(days=1))
    with pytest.raises(InvalidInvoice) as early:
        validate_coupon_redemption(windowed, NOW - timedelta(seconds=1))
    assert early.value.field == "redeem_after"
    with pytest.raises(InvalidInvoice) as late:
        validate_coupon_redemption(windowed, NOW + timedelta(days=1))
    assert late.value.field == "redeem_before"


def test_max_redemptions() -> None:
    assert is_coupon_redeemable(coupon(max_redemptions=2, total_redemptions=1), NOW)
    exhausted = coupon(max_redemptions=2, total_redemptions=2)
    assert not is_coupon_redeemable(exhausted, NOW)
    with pytest.raises(InvalidInvoice) as err:
        validate_coupon_redemption(exhausted, NOW)
    assert err.value.field == "max_redemptions"
    assert is_coupon_redeemable(coupon(total_redemptions=10_000), NOW)


def test_redemption_check_needs_an_aware_time() -> None:
    with pytest.raises(InvalidInvoice):
        is_coupon_redeemable(coupon(), datetime(2024, 6, 15))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": CouponType.FIXED, "percentage_off": None, "currency": "usd"}, "amount_off"),
        ({"type": CouponType.FIXED, "amount_off": D(5)}, "currency"),
        ({"type": CouponType.FIXED, "amount_off": D(-5), "currency": "usd"}, "amount_off"),
        ({"percentage_off": None}, "percentage_off"),
        ({"percentage_off": D(101)}, "percentage_off"),
        ({"percentage_off": D(-1)}, "percentage_off"),
        ({"cadence": CouponCadence.REPEATED}, "duration_in_periods"),
        ({"cadence": CouponCadence.REPEATED, "duration_in_periods": 0}, "duration_in_periods"),
        ({"max_redemptions": 0}, "max_redemptions"),
        ({"redeem_after": NOW, "redeem_before": NOW}, "redeem_after"),
        ({"redeem_after": datetime(2024, 1, 1)}, "redeem_after"),
        ({"type": "bogus"}, "type"),
    ],
)
def test_invalid_coupons_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInvoice) as err:
        coupon(**overrides)
    assert err.value.field == field


def test_coupon_refuses_float_amounts() -> None:
    with pytest.raises(TypeError):
        coupon(percentage_off=10.0)


def test_discount_on_rounds_then_caps() -> None:
    third = coupon(percentage_off=D("33.333"))
    assert third.discount_on(D("10.00"), "usd") == D("3.33")
    five = coupon(type=CouponType.FIXED, percentage_off=None, amount_off=D("5.005"), currency="USD")
    assert five.discount_on(D("100.00"), "usd") == D("5.01")
    assert five.discount_on(D("2.00"), "usd") == D("2.00")


def test_proration_charge_and_credit_each_rounded() -> None:
    third = D(1) / D(3)
    result = proration_lines(D(30), D(1), D(50), D(2), third, "usd")
    assert result.charge == D("33.33")  # 100 × ⅓
    assert result.credit == D("-10.00")  # −30 × ⅓
    assert result.net == D("23.33")


def test_proration_in_jpy_and_at_the_bounds() -> None:
    assert proration_lines(D(1000), D(1), D(3000), D(1), D("0.5"), "jpy").charge == D(1500)
    nothing = proration_lines(D(10), D(1), D(20), D(1), D(0), "usd")
    assert (nothing.charge, nothing.credit) == (D("0.00"), D("0.00"))
    assert str(nothing.credit) == "0.00"  # no "-0.00" on an invoice
    full = proration_lines(D(10), D(3), D(20), D(1), D(1), "usd")
    assert (full.charge, full.credit) == (D("20.00"), D("-30.00"))


@pytest.mark.parametrize("bad", [D("-0.1"), D("1.01")])
def test_proration_coefficient_outside_unit_interval_is_refused(bad: Decimal) -> None:
    with pytest.raises(InvalidInvoice) as err:
        proration_lines(D(1), D(1), D(1), D(1), bad, "usd")
    assert err.value.field == "coefficient"


def test_proration_refuses_negative_prices() -> None:
    with pytest.raises(InvalidInvoice):
        proration_lines(D(-1), D(1), D(1), D(1), D("0.5"), "usd")
