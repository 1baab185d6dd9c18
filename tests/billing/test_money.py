"""Currency precision and rounding: the examples of docs/billing-semantics.md §4."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flexprice_pipelines.billing.errors import CurrencyMismatch
from flexprice_pipelines.billing.money import (
    currency_precision,
    ensure_decimal,
    quantum,
    round_amount,
    same_currency,
    to_minor_units,
)


@pytest.mark.parametrize(
    ("currency", "precision"),
    [
        ("jpy", 0),
        ("krw", 0),
        ("vnd", 0),
        ("clp", 0),
        ("kwd", 3),
        ("clf", 4),
        ("usd", 2),
        ("eur", 2),
        ("xyz", 2),  # unknown currencies get the default
        ("JPY", 0),  # case does not matter
        ("KWD", 3),
    ],
)
def test_currency_precision(currency: str, precision: int) -> None:
    assert currency_precision(currency) == precision


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("10.275", "usd", "10.28"),
        ("0.005", "usd", "0.01"),
        ("1023.5", "jpy", "1024"),
        ("10.274", "usd", "10.27"),
        ("-10.275", "usd", "-10.28"),  # half away from zero, also below zero
        ("-0.005", "usd", "-0.01"),
        ("1.2345", "kwd", "1.235"),
        ("0.00005", "clf", "0.0001"),
        ("1022.5", "JPY", "1023"),  # not banker's rounding
        ("2.5", "krw", "3"),
    ],
)
def test_round_amount_is_half_away_from_zero(amount: str, currency: str, rounded: str) -> None:
    result = round_amount(Decimal(amount), currency)
    assert result == Decimal(rounded)
    # The exponent matters for display: usd keeps two places, jpy none.
    assert result.as_tuple().exponent == -currency_precision(currency)


def test_round_amount_never_returns_negative_zero() -> None:
    result = round_amount(Decimal("-0.001"), "usd")
    assert result == 0
    assert not result.is_signed()


def test_subtotal_is_the_sum_of_rounded_lines() -> None:
    lines = [Decimal("10.333333")] * 3
    subtotal = sum((round_amount(line, "usd") for line in lines), Decimal(0))
    assert subtotal == Decimal("30.99")
    # Rounding the unrounded sum instead would give a different, wrong subtotal.
    assert round_amount(sum(lines, Decimal(0)), "usd") == Decimal("31.00")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("10.275", "usd", 1028),
        ("12.5", "usd", 1250),
        ("0.004", "usd", 0),
        ("1023.5", "jpy", 1024),
        ("500", "jpy", 500),  # Flexprice's ×100 would send 50000
        ("1.2345", "kwd", 1235),
        ("3", "kwd", 3000),
        ("-1.005", "usd", -101),
    ],
)
def test_to_minor_units_uses_the_currency_precision(amount: str, currency: str, minor: int) -> None:
    result = to_minor_units(Decimal(amount), currency)
    assert result == minor
    assert type(result) is int


@pytest.mark.parametrize(
    "call",
    [
        lambda: round_amount(10.275, "usd"),  # type: ignore[arg-type]
        lambda: to_minor_units(1.5, "usd"),  # type: ignore[arg-type]
        lambda: ensure_decimal(1.5),
        lambda: ensure_decimal(True),
        lambda: ensure_decimal(None),
        lambda: currency_precision(840),  # type: ignore[arg-type]
    ],
    ids=["round_amount", "to_minor_units", "ensure_decimal", "bool", "none", "numeric-currency"],
)
def test_floats_and_other_non_decimals_are_refused(call: object) -> None:
    assert callable(call)
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.50", Decimal("1.50")), (" 2 ", Decimal(2)), (7, Decimal(7)), (Decimal("0.1"), Decimal("0.1"))],
)
def test_ensure_decimal_accepts_strings_ints_and_decimals(value: object, expected: Decimal) -> None:
    result = ensure_decimal(value)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize("value", ["abc", "", "NaN", "Infinity", "-inf"])
def test_ensure_decimal_rejects_non_numbers(value: str) -> None:
    with pytest.raises(ValueError):
        ensure_decimal(value)


def test_round_amount_rejects_non_finite() -> None:
    with pytest.raises(ValueError):
        round_amount(Decimal("NaN"), "usd")


@pytest.mark.parametrize(("currency", "step"), [("usd", "0.01"), ("jpy", "1"), ("kwd", "0.001")])
def test_quantum_is_the_smallest_unit(currency: str, step: str) -> None:
    assert quantum(currency) == Decimal(step)


def test_same_currency_normalises_case_and_spaces() -> None:
    assert same_currency("USD", "usd", " Usd ") == "usd"


def test_mixing_currencies_raises_currency_mismatch() -> None:
    with pytest.raises(CurrencyMismatch) as caught:
        same_currency("usd", "eur")
    assert caught.value.field == "currency"
