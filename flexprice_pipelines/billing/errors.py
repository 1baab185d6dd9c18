"""The billing domain's error hierarchy.

Every error names the offending ``field`` (a dotted path such as ``tiers.1.up_to``) when there is
one, so the API and the CLI can report it to the user without parsing messages.
"""

from __future__ import annotations


class BillingError(Exception):
    """Base class of every billing-domain error."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidPrice(BillingError):
    """A price definition breaks one of the rules of docs/billing-semantics.md §3."""


class InvalidMeter(BillingError):
    """A meter definition is not usable (§2)."""


class InvalidPeriod(BillingError):
    """A billing period, anchor or time zone is not valid (§5)."""


class CurrencyMismatch(BillingError):
    """Amounts in different currencies were combined."""


class InvalidInvoice(BillingError):
    """Invoice inputs are inconsistent (§6)."""


class InvalidEntitlement(BillingError):
    """An entitlement or entitlement check is not valid (§7)."""


class QuantityOverflow(BillingError):
    """A usage quantity falls outside the warehouse's DECIMAL(38, 18) (|quantity| < 1e20)."""
