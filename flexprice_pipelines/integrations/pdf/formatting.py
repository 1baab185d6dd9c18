"""Text for printed invoices: money, quantities and dates, formatted in Python, never in Typst.

Typst only lays out strings; every number is formatted here from ``Decimal`` so that currency
precision, rounding and thousands separators follow docs/billing-semantics.md §4 exactly and cannot drift
with a template change. Month names are spelled out here rather than taken from ``strftime`` so the
output does not depend on the machine's locale.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flexprice_pipelines.billing.money import currency_precision, round_amount

# Only symbols that name one currency unambiguously and that the embedded fonts can draw;
# every other currency prints its ISO code ("KWD 1,234.567", "CAD 10.00").
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ZERO_WIDTH_SPACE = "\u200b"
_LONG_TOKEN = re.compile(r"\S{25,}")
_SEPARATOR = re.compile(r"([@./_])")
_LONG_RUN = re.compile(r"[^\s@./_\-]{20}(?=[^\s@./_\-])")
# U+2212 lines up with digits in tabular figures; a hyphen looks like a dash in a table.
MINUS = "\u2212"


def _grouped(amount: Decimal, places: int) -> str:
    return f"{abs(amount):,.{places}f}"


def format_money(amount: Decimal, currency: str) -> str:
    """``amount`` rounded to ``currency``'s precision with thousands separators and its symbol or code.

    >>> format_money(Decimal("1234.5"), "usd")
    '$1,234.50'
    >>> format_money(Decimal("-1023.5"), "JPY")
    '−¥1,024'
    >>> format_money(Decimal("1234.5678"), "kwd")
    'KWD 1,234.568'
    """
    code = currency.strip().lower()
    rounded = round_amount(amount, code)
    digits = _grouped(rounded, currency_precision(code))
    symbol = _SYMBOLS.get(code)
    text = f"{symbol}{digits}" if symbol else f"{code.upper()} {digits}"
    return f"{MINUS}{text}" if rounded < 0 else text


def format_unit_amount(amount: Decimal, currency: str) -> str:
    """A unit price: at least the currency's precision, more when the price has more digits.

    Per-unit prices such as $0.0025 per call are exact catalog values, not amounts owed, so they are
    never rounded to cents (``format_unit_amount(Decimal("0.0025"), "usd") == '$0.0025'``).
    """
    code = currency.strip().lower()
    exponent = amount.normalize().as_tuple().exponent
    places = max(currency_precision(code), -exponent if isinstance(exponent, int) else 0)
    digits = _grouped(amount, places)
    symbol = _SYMBOLS.get(code)
    text = f"{symbol}{digits}" if symbol else f"{code.upper()} {digits}"
    return f"{MINUS}{text}" if amount < 0 else text


def format_quantity(quantity: Decimal) -> str:
    """A quantity without trailing zeros or exponent, with thousands separators (``'1,000'``, ``'2.5'``)."""
    normalized = quantity.normalize()
    text = f"{abs(normalized):,f}"
    return f"{MINUS}{text}" if normalized < 0 else text


def format_percentage(value: Decimal) -> str:
    """A rate as printed next to a tax name (``Decimal('8.875')`` → ``'8.875%'``)."""
    return f"{format_quantity(value)}%"


def format_date(moment: datetime, timezone: str) -> str:
    """The calendar date of the aware ``moment`` in ``timezone`` (``'1 Mar 2024'``)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


def format_period(start: datetime, end: datetime, timezone: str) -> str:
    """A half-open window ``[start, end)`` as ``'1 Mar 2024 – 1 Apr 2024'`` (Stripe and Flexprice print the end)."""
    return f"{format_date(start, timezone)} – {format_date(end, timezone)}"


def _break_token(match: re.Match[str]) -> str:
    token = _SEPARATOR.sub(rf"\1{ZERO_WIDTH_SPACE}", match.group(0))
    return _LONG_RUN.sub(lambda run: run.group(0) + ZERO_WIDTH_SPACE, token)


def breakable(text: str) -> str:
    """``text`` with invisible break points inside very long words (emails, ids, URLs).

    Typst only breaks lines at spaces and hyphens; a 60-character email would run over the
    amounts column or off the page. Ordinary words (under 25 characters) are left untouched.
    """
    return _LONG_TOKEN.sub(_break_token, text)
