"""The catalog store's error hierarchy.

Like ``BillingError``, every error carries a human ``message`` and, when there is one, the ``field``
it is about, so the API and the CLI can name the offending input without parsing messages.
"""

from __future__ import annotations

from decimal import Decimal


class CatalogError(Exception):
    """Base class of every catalog-store error."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class NotFound(CatalogError):
    """No such row in the caller's scope (another tenant's row is reported exactly like a missing one)."""

    def __init__(self, entity: str, id: str, *, field: str | None = None) -> None:
        super().__init__(f"{entity} {id!r} not found", field=field)
        self.entity = entity
        self.id = id


class Conflict(CatalogError):
    """A uniqueness rule was violated; ``field`` names the duplicated column(s), comma separated."""

    def __init__(self, field: str, message: str | None = None) -> None:
        super().__init__(message or f"a row with this {field} already exists", field=field)


class InvalidArgument(CatalogError):
    """A value handed to the store cannot be stored (unknown column, missing required value, bad limit)."""


class InsufficientBalance(CatalogError):
    """A wallet debit larger than the wallet's balance; balances never go negative."""

    def __init__(self, wallet_id: str, requested: Decimal, available: Decimal) -> None:
        super().__init__(
            f"wallet {wallet_id!r} has {available} credits available, {requested} requested",
            field="credit_amount",
        )
        self.wallet_id = wallet_id
        self.requested = requested
        self.available = available
