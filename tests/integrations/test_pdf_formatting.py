"""Money, quantity and date text printed on invoices."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.money import currency_precision, round_amount
from flexprice_pipelines.integrations.pdf.formatting import (
    MINUS,
    ZERO_WIDTH_SPACE,
    breakable,
    format_date,
    format_money,
    format_percentage,
    format_period,
    format_quantity,
    format_unit_amount,
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1234.5", "usd", "$1,234.50"),
        ("10.275", "USD", "$10.28"),
        ("0.005", "usd", "$0.01"),
        ("0", "usd", "$0.00"),
        ("-0.001", "usd", "$0.00"),
        ("1234567.891", "eur", "€1,234,567.89"),
        ("1023.5", "jpy", "¥1,024"),
        ("999", "JPY", "¥999"),
        ("1234.5678", "kwd", "KWD 1,234.568"),
        ("0.1", "kwd", "KWD 0.100"),
        ("12.5", "cad", "CAD 12.50"),
        ("-10", "usd", f"{MINUS}$10.00"),
        ("2500000", "krw", "KRW 2,500,000"),
    ],
)
def test_format_money(amount: str, currency: str, expected: str) -> None:
    assert format_money(Decimal(amount), currency) == expected


def test_format_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        format_money(1.5, "usd")  # type: ignore[arg-type]


def _parse(text: str) -> Decimal:
    sign = -1 if text.startswith(MINUS) else 1
    digits = text.removeprefix(MINUS).lstrip("$€£¥₹").split(" ")[-1].replace(",", "")
    return sign * Decimal(digits)


@settings(max_examples=150, deadline=None)
@given(
    amount=st.decimals(min_value=-(10**12), max_value=10**12, places=6, allow_nan=False),
    currency=st.sampled_from(["usd", "eur", "jpy", "kwd", "clf", "inr", "chf"]),
)
def test_printed_money_reads_back_as_the_rounded_amount(amount: Decimal, currency: str) -> None:
    text = format_money(amount, currency)
    assert _parse(text) == round_amount(amount, currency)
    places = currency_precision(currency)
    fraction = text.split(".")[1] if "." in text else ""
    assert len(fraction) == places


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.0025", "usd", "$0.0025"),
        ("50", "usd", "$50.00"),
        ("0.05", "jpy", "¥0.05"),
        ("3", "jpy", "¥3"),
        ("1500.5", "kwd", "KWD 1,500.500"),
    ],
)
def test_unit_amounts_keep_their_digits(amount: str, currency: str, expected: str) -> None:
    assert format_unit_amount(Decimal(amount), currency) == expected


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("1000", "1,000"), ("1E+3", "1,000"), ("2.50", "2.5"), ("0", "0"), ("1234567.125", "1,234,567.125")],
)
def test_format_quantity(quantity: str, expected: str) -> None:
    assert format_quantity(Decimal(quantity)) == expected


def test_format_percentage() -> None:
    assert format_percentage(Decimal("8.875")) == "8.875%"
    assert format_percentage(Decimal("10.00")) == "10%"


def test_dates_are_printed_in_the_tenant_time_zone() -> None:
    moment = datetime(2024, 3, 31, 20, 0, tzinfo=UTC)
    assert format_date(moment, "UTC") == "31 Mar 2024"
    assert format_date(moment, "Asia/Kolkata") == "1 Apr 2024"
    assert format_date(moment, "America/Los_Angeles") == "31 Mar 2024"
    start, end = datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)
    assert format_period(start, end, "UTC") == "1 Feb 2024 – 1 Mar 2024"


def test_naive_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_date(datetime(2024, 1, 1), "UTC")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab@.-_/ Zé"), max_size=120))
def test_breakable_only_adds_invisible_break_points(text: str) -> None:
    result = breakable(text)
    assert result.replace(ZERO_WIDTH_SPACE, "") == text
    # Words up to 24 characters are kept whole; longer ones get a break point at least every 21.
    for word in re.split(rf"[\s\-{ZERO_WIDTH_SPACE}]", result):
        assert len(word) <= 24


def test_breakable_leaves_ordinary_words_alone() -> None:
    assert breakable("Globex Corporation GmbH & Co. KGaA") == "Globex Corporation GmbH & Co. KGaA"
    assert ZERO_WIDTH_SPACE in breakable("accounts-payable@globex-corporation.example.com")
