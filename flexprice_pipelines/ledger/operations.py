"""Atomic ledger operations: invoice numbers, wallet credits and debits, credit grant applications.

Each function works inside the caller's transaction and is safe under concurrency: PostgreSQL rows
are locked with ``SELECT … FOR UPDATE`` (and the sequence bumped with one ``UPDATE … RETURNING``);
SQLite serializes writers, and a transaction these functions start begins with ``BEGIN IMMEDIATE``.
Start the transaction with ``db.write_session`` so that holds even when you read first. The numbers
and balances become visible when the caller commits; a rollback undoes them, so sequences stay gapless.
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.billing.money import ensure_decimal, same_currency
from flexprice_pipelines.catalog.db import SQLITE_IMMEDIATE
from flexprice_pipelines.catalog.errors import Conflict, InsufficientBalance, InvalidArgument
from flexprice_pipelines.catalog.models import (
    CreditGrant,
    CreditGrantApplication,
    InvoiceSequence,
    Subscription,
    Wallet,
    WalletTransaction,
    utcnow,
)
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope

_YEAR_MONTH = re.compile(r"^\d{4}(0[1-9]|1[0-2])$")


def _begin_write(session: Session) -> None:
    if not session.in_transaction():
        session.connection(execution_options={SQLITE_IMMEDIATE: True})  # type: ignore[misc]


def next_invoice_number(session: Session, scope: Scope, prefix: str, yyyymm: str) -> str:
    """The next number of the (tenant, environment, month) sequence: ``INV-202403-00001``.

    Gapless and duplicate-free under concurrency; the number is consumed when the caller commits.
    """
    (number,) = reserve_invoice_numbers(session, scope, prefix, yyyymm, 1)
    return number


def reserve_invoice_numbers(
    session: Session, scope: Scope, prefix: str, yyyymm: str, count: int
) -> list[str]:
    """The next ``count`` numbers of the (tenant, environment, month) sequence, in order, with one locked
    bump of the sequence row (a billing run numbers all of a month's invoices at once)."""
    if not prefix or not prefix.strip():
        raise InvalidArgument("must not be empty", field="prefix")
    if not _YEAR_MONTH.match(yyyymm):
        raise InvalidArgument(f"{yyyymm!r} is not YYYYMM", field="yyyymm")
    if count < 0:
        raise InvalidArgument(f"must not be negative, not {count}", field="count")
    if count == 0:
        return []
    _begin_write(session)
    key = (
        InvoiceSequence.tenant_id == scope.tenant_id,
        InvoiceSequence.environment_id == scope.environment_id,
        InvoiceSequence.year_month == yyyymm,
    )
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # First number of a month: create the row if nobody else did; the unique key settles races.
    session.execute(
        insert(InvoiceSequence)
        .values(
            tenant_id=scope.tenant_id, environment_id=scope.environment_id, year_month=yyyymm, last_value=0
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "environment_id", "year_month"])
    )
    session.execute(select(InvoiceSequence.id).where(*key).with_for_update())
    last = session.execute(
        update(InvoiceSequence)
        .where(*key)
        .values(last_value=InvoiceSequence.last_value + count)
        .returning(InvoiceSequence.last_value)
    ).scalar_one()
    return [f"{prefix.strip()}-{yyyymm}-{value:05d}" for value in range(last - count + 1, last + 1)]


def _positive(value: Decimal, field: str) -> Decimal:
    amount = ensure_decimal(value, field)
    if not amount.is_finite() or amount <= 0:
        raise InvalidArgument(f"must be a positive amount, not {amount}", field=field)
    return amount


def _locked_wallet(session: Session, scope: Scope, wallet_id: str) -> Wallet:
    _begin_write(session)
    wallet = Repository(session, scope, Wallet).get(wallet_id, for_update=True)
    if wallet.wallet_status != "active":
        raise InvalidArgument(f"wallet is {wallet.wallet_status}", field="wallet_status")
    return wallet


def _replayed(
    session: Session, scope: Scope, wallet: Wallet, key: str | None, kind: str, credits: Decimal
) -> WalletTransaction | None:
    if key is None:
        return None
    previous = Repository(session, scope, WalletTransaction).find_one(idempotency_key=key)
    if previous is None:
        return None
    if previous.wallet_id != wallet.id or previous.type != kind or previous.credit_amount != credits:
        raise Conflict("idempotency_key", "idempotency_key was already used for a different transaction")
    return previous


def credit_wallet(
    session: Session,
    scope: Scope,
    wallet_id: str,
    credit_amount: Decimal,
    *,
    transaction_reason: str = "PURCHASED_CREDIT_DIRECT",
    idempotency_key: str | None = None,
    priority: int | None = None,
    expiry_date: datetime | None = None,
    reference_type: str | None = None,
    reference_id: str | None = None,
    description: str | None = None,
    now: datetime | None = None,
) -> WalletTransaction:
    """Add credits to a wallet (row-locked); a repeated ``idempotency_key`` returns the first transaction."""
    credits = _positive(credit_amount, "credit_amount")
    wallet = _locked_wallet(session, scope, wallet_id)
    if previous := _replayed(session, scope, wallet, idempotency_key, "credit", credits):
        return previous
    before = wallet.credit_balance
    return _record(
        session,
        scope,
        wallet,
        kind="credit",
        credits=credits,
        after=before + credits,
        credits_available=credits,
        transaction_reason=transaction_reason,
        idempotency_key=idempotency_key,
        priority=priority,
        expiry_date=expiry_date,
        reference_type=reference_type,
        reference_id=reference_id,
        description=description,
        now=now,
    )


def debit_wallet(
    session: Session,
    scope: Scope,
    wallet_id: str,
    credit_amount: Decimal,
    *,
    transaction_reason: str = "INVOICE_PAYMENT",
    idempotency_key: str | None = None,
    reference_type: str | None = None,
    reference_id: str | None = None,
    description: str | None = None,
    now: datetime | None = None,
) -> WalletTransaction:
    """Consume credits (row-locked); ``InsufficientBalance`` rather than a negative balance.

    Credits are used up in docs/billing-semantics.md §7 order: priority asc (none last), expiry asc (none
    last), larger amount first; credits already expired at ``now`` cannot be spent.
    """
    credits = _positive(credit_amount, "credit_amount")
    at = now or utcnow()
    wallet = _locked_wallet(session, scope, wallet_id)
    if previous := _replayed(session, scope, wallet, idempotency_key, "debit", credits):
        return previous
    sources = _consumable_credits(session, scope, wallet.id, at)
    available = sum((tx.credits_available for tx in sources), Decimal(0))
    available = min(available, wallet.credit_balance)
    if credits > available:
        raise InsufficientBalance(wallet.id, credits, available)
    remaining = credits
    for tx in sources:
        if remaining <= 0:
            break
        used = min(tx.credits_available, remaining)
        tx.credits_available -= used
        remaining -= used
    return _record(
        session,
        scope,
        wallet,
        kind="debit",
        credits=credits,
        after=wallet.credit_balance - credits,
        credits_available=Decimal(0),
        transaction_reason=transaction_reason,
        idempotency_key=idempotency_key,
        priority=None,
        expiry_date=None,
        reference_type=reference_type,
        reference_id=reference_id,
        description=description,
        now=at,
    )


def _consumable_credits(
    session: Session, scope: Scope, wallet_id: str, at: datetime
) -> list[WalletTransaction]:
    # Decimal columns are text on SQLite, so the > 0 test and the ordering happen in Python.
    statement = (
        Repository(session, scope, WalletTransaction)
        .select()
        .where(WalletTransaction.wallet_id == wallet_id, WalletTransaction.type == "credit")
        .with_for_update()
    )
    rows = [
        tx
        for tx in session.scalars(statement)
        if tx.credits_available > 0 and (tx.expiry_date is None or tx.expiry_date > at)
    ]
    far = datetime.max.replace(tzinfo=at.tzinfo)
    rows.sort(
        key=lambda tx: (
            tx.priority is None,
            tx.priority or 0,
            tx.expiry_date or far,
            -tx.credits_available,
            tx.id,
        )
    )
    return rows


def _record(
    session: Session,
    scope: Scope,
    wallet: Wallet,
    *,
    kind: str,
    credits: Decimal,
    after: Decimal,
    credits_available: Decimal,
    now: datetime | None,
    **fields: object,
) -> WalletTransaction:
    before = wallet.credit_balance
    wallet.credit_balance = after
    wallet.balance = after * wallet.conversion_rate
    tx = Repository(session, scope, WalletTransaction).create(
        wallet_id=wallet.id,
        customer_id=wallet.customer_id,
        type=kind,
        amount=credits * wallet.conversion_rate,
        credit_amount=credits,
        credit_balance_before=before,
        credit_balance_after=after,
        credits_available=credits_available,
        currency=wallet.currency,
        transaction_status="completed",
        **fields,
    )
    if now is not None:
        tx.created_at = tx.updated_at = now
    session.flush()
    return tx


def apply_credit_grant(
    session: Session,
    scope: Scope,
    credit_grant_id: str,
    subscription_id: str,
    wallet_id: str,
    *,
    period_start: datetime,
    period_end: datetime | None = None,
    now: datetime | None = None,
) -> CreditGrantApplication:
    """Top the wallet up with a grant's credits once per (grant, subscription, period_start).

    Calling it again for the same period — also concurrently — returns the existing application and
    never credits twice.
    """
    at = now or utcnow()
    _begin_write(session)
    grant = Repository(session, scope, CreditGrant).get(credit_grant_id)
    Repository(session, scope, Subscription).get(subscription_id)
    applications = Repository(session, scope, CreditGrantApplication)
    natural_key = dict(credit_grant_id=grant.id, subscription_id=subscription_id, period_start=period_start)
    if existing := applications.find_one(**natural_key):
        return existing
    try:
        application = applications.create(
            id=deterministic_id("cga", scope.tenant_id, scope.environment_id, *natural_key.values()),
            wallet_id=wallet_id,
            scheduled_for=period_start,
            period_end=period_end,
            credits=grant.credits,
            currency=grant.currency,
            application_reason="RECURRING_CREDIT_GRANT"
            if grant.cadence == "RECURRING"
            else "ONETIME_CREDIT_GRANT",
            **natural_key,
        )
    except Conflict:
        # A concurrent caller applied it first (its commit released our wait on the unique index).
        if existing := applications.find_one(**natural_key):
            return existing
        raise
    wallet = Repository(session, scope, Wallet).get(wallet_id)
    same_currency(grant.currency, wallet.currency)
    tx = credit_wallet(
        session,
        scope,
        wallet_id,
        grant.credits,
        transaction_reason="SUBSCRIPTION_CREDIT_GRANT",
        idempotency_key=f"credit_grant_application:{application.id}",
        priority=grant.priority,
        expiry_date=_grant_expiry(grant, period_start, period_end),
        reference_type="CREDIT_GRANT_APPLICATION",
        reference_id=application.id,
        now=at,
    )
    application.wallet_transaction_id = tx.id
    application.application_status = "applied"
    application.applied_at = at
    session.flush()
    return application


def _grant_expiry(grant: CreditGrant, period_start: datetime, period_end: datetime | None) -> datetime | None:
    if grant.expiration_type == "NEVER":
        return None
    if grant.expiration_type == "BILLING_CYCLE":
        if period_end is None:
            raise InvalidArgument("a BILLING_CYCLE grant needs the period end", field="period_end")
        return period_end
    count, unit = grant.expiration_duration or 0, (grant.expiration_duration_unit or "").upper()
    if count <= 0 or unit not in {"DAY", "WEEK", "MONTH", "YEAR"}:
        raise InvalidArgument(
            "DURATION expiry needs a positive duration and a unit", field="expiration_duration"
        )
    if unit in {"DAY", "WEEK"}:
        return period_start + timedelta(days=count * (7 if unit == "WEEK" else 1))
    months = count * (12 if unit == "YEAR" else 1)
    year, month = divmod(period_start.month - 1 + months, 12)
    target_year, target_month = period_start.year + year, month + 1
    day = min(period_start.day, calendar.monthrange(target_year, target_month)[1])
    return period_start.replace(year=target_year, month=target_month, day=day)
