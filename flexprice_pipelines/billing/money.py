"""Currency precision and rounding (docs/billing-semantics.md §4).

Money is ``Decimal``. Rounding is half away from zero (``ROUND_HALF_UP`` on ``Decimal``) to the
currency's precision and happens where an amount is computed (round at source), never inside a
price model. Floats are refused with ``TypeError``: a float has already lost the cents.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flexprice_pipelines.billing.errors import CurrencyMismatch

_ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp"})
_PRECISION_OVERRIDES = {"kwd": 3, "clf": 4}
DEFAULT_PRECISION = 2


def currency_precision(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (ISO 4217, any case); 2 when unknown."""
    if not isinstance(currency, str):
        raise TypeError(f"currency must be a str, not {type(currency).__name__}")
    code = currency.strip().lower()
    if code in _ZERO_DECIMAL:
        return 0
    return _PRECISION_OVERRIDES.get(code, DEFAULT_PRECISION)


def ensure_decimal(value: object, what: str = "amount") -> Decimal:
    """Return ``value`` as a ``Decimal``; ints and decimal strings are accepted, floats refused."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a Decimal, not bool")
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, not float ({value!r}); pass a string or Decimal")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError as exc:
            raise ValueError(f"{what} is not a decimal number: {value!r}") from exc
        if not result.is_finite():
            raise ValueError(f"{what} must be finite: {value!r}")
        return result
    raise TypeError(f"{what} must be a Decimal, not {type(value).__name__}")


def quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal exponent (``Decimal('0.01')`` for usd)."""
    return Decimal(1).scaleb(-currency_precision(currency))


def round_amount(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half away from zero to ``currency``'s precision.

    >>> round_amount(Decimal("10.275"), "usd")
    Decimal('10.28')
    >>> round_amount(Decimal("1023.5"), "JPY")
    Decimal('1024')
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"amount must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"amount must be finite: {amount!r}")
    rounded = amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)
    # -0.00 reads badly on an invoice; the sign of zero carries no meaning in money.
    return rounded.copy_abs() if rounded.is_zero() else rounded


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Integer minor units for a payment provider (cents for usd, yen for jpy, fils for kwd).

    Flexprice multiplies by 100 for every currency; that is wrong for jpy (×1) and kwd (×1000).
    """
    rounded = round_amount(amount, currency)
    return int(rounded.scaleb(currency_precision(currency)))


def same_currency(*currencies: str) -> str:
    """Return the common lower-case currency code or raise ``CurrencyMismatch``."""
    codes = {c.strip().lower() for c in currencies}
    if len(codes) != 1:
        raise CurrencyMismatch(f"cannot combine amounts in {sorted(codes)}", field="currency")
    return codes.pop()
