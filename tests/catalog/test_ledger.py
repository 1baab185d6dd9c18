from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Conflict, InsufficientBalance, InvalidArgument, Repository, Scope
from flexprice_pipelines.catalog.db import write_session
from flexprice_pipelines.catalog.models import (
    CreditGrant,
    CreditGrantApplication,
    Customer,
    Plan,
    Subscription,
    Wallet,
    WalletTransaction,
)
from flexprice_pipelines.ledger.operations import (
    apply_credit_grant,
    credit_wallet,
    debit_wallet,
    next_invoice_number,
    reserve_invoice_numbers,
)

pytestmark = pytest.mark.usefixtures("database_url")
T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _wallet(factory: sessionmaker[Session], scope: Scope, **values: object) -> str:
    with factory() as session:
        customer = Repository(session, scope, Customer).create(external_id="w", name="W")
        wallet = Repository(session, scope, Wallet).create(customer_id=customer.id, currency="usd", **values)
        session.commit()
        return wallet.id


def _balance(factory: sessionmaker[Session], scope: Scope, wallet_id: str) -> tuple[Decimal, Decimal]:
    with factory() as session:
        wallet = Repository(session, scope, Wallet).get(wallet_id)
        return wallet.credit_balance, wallet.balance


def test_invoice_numbers_per_tenant_and_month(
    factory: sessionmaker[Session], scope: Scope, other_scope: Scope
) -> None:
    with write_session(factory) as session:
        assert next_invoice_number(session, scope, "INV", "202403") == "INV-202403-00001"
        assert next_invoice_number(session, scope, "INV", "202403") == "INV-202403-00002"
        assert next_invoice_number(session, scope, "INV", "202404") == "INV-202404-00001"
        assert next_invoice_number(session, other_scope, "ACME", "202403") == "ACME-202403-00001"


def test_reserved_numbers_continue_the_same_sequence(factory: sessionmaker[Session], scope: Scope) -> None:
    with write_session(factory) as session:
        assert next_invoice_number(session, scope, "INV", "202406") == "INV-202406-00001"
        assert reserve_invoice_numbers(session, scope, "INV", "202406", 3) == [
            "INV-202406-00002",
            "INV-202406-00003",
            "INV-202406-00004",
        ]
        assert reserve_invoice_numbers(session, scope, "INV", "202406", 0) == []
        assert next_invoice_number(session, scope, "INV", "202406") == "INV-202406-00005"
    with pytest.raises(InvalidArgument) as excinfo, write_session(factory) as session:
        reserve_invoice_numbers(session, scope, "INV", "202406", -1)
    assert excinfo.value.field == "count"


def test_rolled_back_number_is_reused(factory: sessionmaker[Session], scope: Scope) -> None:
    with write_session(factory) as session:
        assert next_invoice_number(session, scope, "INV", "202405") == "INV-202405-00001"
    with pytest.raises(RuntimeError), write_session(factory) as session:
        assert next_invoice_number(session, scope, "INV", "202405") == "INV-202405-00002"
        raise RuntimeError("finalization failed")
    with write_session(factory) as session:
        assert next_invoice_number(session, scope, "INV", "202405") == "INV-202405-00002"


@pytest.mark.parametrize(
    ("prefix", "yyyymm", "field"),
    [("INV", "202413", "yyyymm"), ("INV", "2024-03", "yyyymm"), ("", "202403", "prefix")],
)
def test_invoice_number_arguments(
    session: Session, scope: Scope, prefix: str, yyyymm: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        next_invoice_number(session, scope, prefix, yyyymm)
    assert excinfo.value.field == field


def test_concurrent_invoice_numbers_are_gapless_and_unique(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    def draw(_: int) -> list[str]:
        numbers = []
        for _ in range(50):
            with write_session(factory) as session:
                numbers.append(next_invoice_number(session, scope, "INV", "202406"))
        return numbers

    with ThreadPoolExecutor(max_workers=8) as pool:
        drawn = [n for chunk in pool.map(draw, range(8)) for n in chunk]
    assert len(drawn) == 400
    assert sorted(drawn) == [f"INV-202406-{i:05d}" for i in range(1, 401)]


def test_credit_and_debit_keep_balances(factory: sessionmaker[Session], scope: Scope) -> None:
    wallet_id = _wallet(factory, scope, conversion_rate=Decimal("2"))
    with write_session(factory) as session:
        credit = credit_wallet(session, scope, wallet_id, Decimal("10.5"), now=T0)
        debit = debit_wallet(session, scope, wallet_id, Decimal("4.25"), now=T0)
    assert (credit.credit_balance_before, credit.credit_balance_after, credit.amount) == (
        0,
        Decimal("10.5"),
        21,
    )
    assert (debit.credit_balance_before, debit.credit_balance_after, debit.amount) == (
        Decimal("10.5"),
        Decimal("6.25"),
        Decimal("8.50"),
    )
    assert _balance(factory, scope, wallet_id) == (Decimal("6.25"), Decimal("12.50"))

    with pytest.raises(InsufficientBalance) as excinfo, write_session(factory) as session:
        debit_wallet(session, scope, wallet_id, Decimal("6.26"), now=T0)
    assert excinfo.value.available == Decimal("6.25")
    assert _balance(factory, scope, wallet_id) == (Decimal("6.25"), Decimal("12.50"))
    with pytest.raises(InvalidArgument), write_session(factory) as session:
        credit_wallet(session, scope, wallet_id, Decimal("-1"))


def test_idempotency_key_replays_the_first_transaction(factory: sessionmaker[Session], scope: Scope) -> None:
    wallet_id = _wallet(factory, scope)
    with write_session(factory) as session:
        first = credit_wallet(session, scope, wallet_id, Decimal("5"), idempotency_key="topup-1")
    with write_session(factory) as session:
        again = credit_wallet(session, scope, wallet_id, Decimal("5"), idempotency_key="topup-1")
    assert again.id == first.id
    assert _balance(factory, scope, wallet_id)[0] == Decimal("5")
    with pytest.raises(Conflict) as excinfo, write_session(factory) as session:
        credit_wallet(session, scope, wallet_id, Decimal("7"), idempotency_key="topup-1")
    assert excinfo.value.field == "idempotency_key"


def test_debits_consume_credits_in_priority_then_expiry_order(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    wallet_id = _wallet(factory, scope)
    with write_session(factory) as session:
        low = credit_wallet(session, scope, wallet_id, Decimal("5"), priority=2, now=T0)
        late = credit_wallet(
            session,
            scope,
            wallet_id,
            Decimal("5"),
            priority=1,
            expiry_date=datetime(2024, 9, 1, tzinfo=UTC),
            now=T0,
        )
        soon = credit_wallet(
            session,
            scope,
            wallet_id,
            Decimal("5"),
            priority=1,
            expiry_date=datetime(2024, 6, 1, tzinfo=UTC),
            now=T0,
        )
        expired = credit_wallet(
            session, scope, wallet_id, Decimal("5"), expiry_date=datetime(2024, 3, 2, tzinfo=UTC), now=T0
        )
    with write_session(factory) as session:
        debit_wallet(session, scope, wallet_id, Decimal("7"), now=datetime(2024, 4, 1, tzinfo=UTC))
    with factory() as session:
        left = {
            tx.id: tx.credits_available
            for tx in Repository(session, scope, WalletTransaction).list(type="credit").items
        }
    assert left == {soon.id: 0, late.id: 3, low.id: 5, expired.id: 5}
    # Expired credits cannot pay for anything, even though the balance still counts them.
    with pytest.raises(InsufficientBalance) as excinfo, write_session(factory) as session:
        debit_wallet(session, scope, wallet_id, Decimal("9"), now=datetime(2024, 4, 1, tzinfo=UTC))
    assert excinfo.value.available == Decimal("8")


def test_concurrent_topups_and_debits_lose_nothing(factory: sessionmaker[Session], scope: Scope) -> None:
    wallet_id = _wallet(factory, scope)

    def work(_: int) -> None:
        for _ in range(50):
            with write_session(factory) as session:
                credit_wallet(session, scope, wallet_id, Decimal("1.25"), now=T0)
            with write_session(factory) as session:
                debit_wallet(session, scope, wallet_id, Decimal("1.00"), now=T0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, range(8)))

    assert _balance(factory, scope, wallet_id) == (Decimal("100.00"), Decimal("100.00"))
    with factory() as session:
        rows = Repository(session, scope, WalletTransaction).list(wallet_id=wallet_id, limit=1000).items
    assert len(rows) == 800
    assert all(tx.credit_balance_after >= 0 for tx in rows)
    assert sum((tx.credits_available for tx in rows), Decimal(0)) == Decimal("100.00")
    # Every transaction started from the balance the previous one left: a chain with no lost update.
    chain = sorted(rows, key=lambda tx: tx.credit_balance_before)
    afters = {tx.credit_balance_after for tx in rows}
    assert all(tx.credit_balance_before == 0 or tx.credit_balance_before in afters for tx in chain)


def test_concurrent_debits_never_overdraw(factory: sessionmaker[Session], scope: Scope) -> None:
    wallet_id = _wallet(factory, scope)
    with write_session(factory) as session:
        credit_wallet(session, scope, wallet_id, Decimal("50"), now=T0)

    def spend(_: int) -> bool:
        try:
            with write_session(factory) as session:
                debit_wallet(session, scope, wallet_id, Decimal("10"), now=T0)
            return True
        except InsufficientBalance:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(spend, range(8)))
    assert results.count(True) == 5
    assert _balance(factory, scope, wallet_id)[0] == 0


def _grant_setup(factory: sessionmaker[Session], scope: Scope, **grant: object) -> tuple[str, str, str]:
    with factory() as session:
        customer = Repository(session, scope, Customer).create(external_id="g", name="G")
        plan = Repository(session, scope, Plan).create(name="P")
        subscription = Repository(session, scope, Subscription).create(
            customer_id=customer.id,
            plan_id=plan.id,
            currency="usd",
            billing_anchor=T0,
            start_date=T0,
            current_period_start=T0,
            current_period_end=datetime(2024, 4, 1, tzinfo=UTC),
            billing_period="MONTHLY",
        )
        wallet = Repository(session, scope, Wallet).create(customer_id=customer.id, currency="usd")
        credit_grant = Repository(session, scope, CreditGrant).create(
            name="Monthly credits",
            scope="PLAN",
            plan_id=plan.id,
            credits=Decimal("25"),
            currency="usd",
            **grant,
        )
        session.commit()
        return credit_grant.id, subscription.id, wallet.id


def test_credit_grant_applies_once_per_period(factory: sessionmaker[Session], scope: Scope) -> None:
    grant_id, subscription_id, wallet_id = _grant_setup(
        factory, scope, cadence="RECURRING", expiration_type="BILLING_CYCLE"
    )
    period_end = datetime(2024, 4, 1, tzinfo=UTC)
    for _ in range(2):
        with write_session(factory) as session:
            app = apply_credit_grant(
                session,
                scope,
                grant_id,
                subscription_id,
                wallet_id,
                period_start=T0,
                period_end=period_end,
                now=T0,
            )
    assert app.application_status == "applied"
    assert _balance(factory, scope, wallet_id)[0] == Decimal("25")
    with write_session(factory) as session:
        apply_credit_grant(
            session,
            scope,
            grant_id,
            subscription_id,
            wallet_id,
            period_start=period_end,
            period_end=datetime(2024, 5, 1, tzinfo=UTC),
            now=period_end,
        )
    assert _balance(factory, scope, wallet_id)[0] == Decimal("50")
    with factory() as session:
        credits = Repository(session, scope, WalletTransaction).list(wallet_id=wallet_id).items
        assert sorted(tx.expiry_date for tx in credits if tx.expiry_date) == [
            period_end,
            datetime(2024, 5, 1, tzinfo=UTC),
        ]


def test_concurrent_credit_grant_applications_credit_once(
    factory: sessionmaker[Session], scope: Scope
) -> None:
    grant_id, subscription_id, wallet_id = _grant_setup(
        factory, scope, expiration_type="DURATION", expiration_duration=1, expiration_duration_unit="MONTH"
    )
    start = datetime(2024, 1, 31, tzinfo=UTC)

    def apply(_: int) -> str:
        with write_session(factory) as session:
            return apply_credit_grant(
                session, scope, grant_id, subscription_id, wallet_id, period_start=start, now=start
            ).id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(apply, range(8)))
    assert len(ids) == 1
    assert _balance(factory, scope, wallet_id)[0] == Decimal("25")
    with factory() as session:
        count = session.scalar(
            select(func.count())
            .select_from(CreditGrantApplication)
            .where(CreditGrantApplication.tenant_id == scope.tenant_id)
        )
        tx = Repository(session, scope, WalletTransaction).find_one(wallet_id=wallet_id)
    assert count == 1
    assert tx is not None and tx.expiry_date == datetime(2024, 2, 29, tzinfo=UTC)
