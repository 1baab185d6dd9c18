"""Which prepaid credits pay for an amount, and in what order (docs/billing-semantics.md §7).

A wallet holds credit transactions, each with a remaining balance. Consumption takes them by
``priority`` ascending (none last), then ``expiry_date`` ascending (none last), then the larger
balance first; ``created_at`` and the transaction id settle any remaining tie so a plan is
reproducible. Expired credits and credits granted after the moment of consumption are skipped.
Balances never go negative: a plan consumes at most what is available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.money import ensure_decimal


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise BillingError(f"{what} must be timezone-aware", field=what)


@dataclass(frozen=True, slots=True, kw_only=True)
class CreditBalance:
    """The unconsumed part of one wallet credit transaction (Flexprice ``credits_available``)."""

    transaction_id: str
    remaining: Decimal
    created_at: datetime
    priority: int | None = None
    expiry_date: datetime | None = None

    def __post_init__(self) -> None:
        if not self.transaction_id:
            raise BillingError("transaction_id is required", field="transaction_id")
        remaining = ensure_decimal(self.remaining, "remaining")
        if not remaining.is_finite() or remaining < 0:
            raise BillingError("remaining must be a non-negative amount", field="remaining")
        object.__setattr__(self, "remaining", remaining)
        _require_aware(self.created_at, "created_at")
        if self.expiry_date is not None:
            _require_aware(self.expiry_date, "expiry_date")

    def usable_at(self, at: datetime) -> bool:
        """Granted by ``at``, not yet expired (valid in ``[created_at, expiry_date)``) and not empty."""
        if self.remaining <= 0 or self.created_at > at:
            return False
        return self.expiry_date is None or at < self.expiry_date


def _consumption_key(
    balance: CreditBalance,
) -> tuple[bool, int, bool, datetime, Decimal, datetime, str]:
    # Placeholders for missing priority / expiry are never compared: the preceding bool separates them.
    return (
        balance.priority is None,
        balance.priority if balance.priority is not None else 0,
        balance.expiry_date is None,
        balance.expiry_date if balance.expiry_date is not None else balance.created_at,
        -balance.remaining,
        balance.created_at,
        balance.transaction_id,
    )


def consumption_order(balances: Sequence[CreditBalance], at: datetime) -> list[CreditBalance]:
    """The balances usable at ``at``, in the order they are consumed."""
    _require_aware(at, "at")
    ids = [b.transaction_id for b in balances]
    if len(ids) != len(set(ids)):
        raise BillingError("duplicate credit transaction ids", field="transaction_id")
    return sorted((b for b in balances if b.usable_at(at)), key=_consumption_key)


def available_credit(balances: Sequence[CreditBalance], at: datetime) -> Decimal:
    """Total credit that can be consumed at ``at``."""
    return sum((b.remaining for b in consumption_order(balances, at)), Decimal(0))


def plan_consumption(
    balances: Sequence[CreditBalance], amount: Decimal, at: datetime
) -> list[tuple[str, Decimal]]:
    """Which transactions pay ``amount`` at ``at``: ``[(transaction_id, amount_taken), ...]`` in order.

    Takes from each balance at most its remaining amount, so the plan sums to
    ``min(amount, available_credit(balances, at))``; balances that contribute nothing are omitted.
    """
    wanted = ensure_decimal(amount, "amount")
    if not wanted.is_finite() or wanted < 0:
        raise BillingError("amount must be a non-negative amount", field="amount")
    plan: list[tuple[str, Decimal]] = []
    left = wanted
    for balance in consumption_order(balances, at):
        if left <= 0:
            break
        taken = min(left, balance.remaining)
        plan.append((balance.transaction_id, taken))
        left -= taken
    return plan


@dataclass(frozen=True, slots=True, kw_only=True)
class NewWallet:
    """What a client asks for when it opens a wallet for a customer (Flexprice ``POST /wallets``)."""

    currency: str
    customer_id: str | None = None
    external_customer_id: str | None = None
    name: str | None = None
    description: str | None = None
    conversion_rate: Decimal = Decimal(1)
    wallet_type: str = "PRE_PAID"
    initial_credits_to_load: Decimal | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TopUp:
    """Credits bought or granted into a wallet (Flexprice ``POST /wallets/{id}/top-up``)."""

    credits_to_add: Decimal | None = None
    amount: Decimal | None = None
    transaction_reason: str = "PURCHASED_CREDIT_DIRECT"
    idempotency_key: str | None = None
    expiry_date: datetime | None = None
    priority: int | None = None
    description: str | None = None


def credits_for(top_up: TopUp, conversion_rate: Decimal) -> Decimal:
    """Credits a top-up adds: ``credits_to_add``, else ``amount / conversion_rate`` (Flexprice's rule)."""
    if top_up.credits_to_add is not None:
        return top_up.credits_to_add
    if top_up.amount is not None:
        return top_up.amount / conversion_rate
    raise BillingError("give credits_to_add or amount", field="body.credits_to_add")
