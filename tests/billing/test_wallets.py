"""Wallet credit consumption order (§7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.wallets import (
    CreditBalance,
    available_credit,
    consumption_order,
    plan_consumption,
)

D = Decimal
AT = datetime(2024, 6, 1, tzinfo=UTC)
CREATED = AT - timedelta(days=30)


def credit(
    txn: str,
    remaining: str,
    priority: int | None = None,
    expiry: datetime | None = None,
    created_at: datetime = CREATED,
) -> CreditBalance:
    return CreditBalance(
        transaction_id=txn,
        remaining=D(remaining),
        priority=priority,
        expiry_date=expiry,
        created_at=created_at,
    )


def ids(balances: list[CreditBalance]) -> list[str]:
    return [b.transaction_id for b in balances]


def test_priority_ascending_with_none_last() -> None:
    balances = [credit("none", "10"), credit("p2", "10", priority=2), credit("p1", "10", priority=1)]
    assert ids(consumption_order(balances, AT)) == ["p1", "p2", "none"]


def test_expiry_ascending_with_none_last_within_a_priority() -> None:
    balances = [
        credit("never", "10", priority=1),
        credit("late", "10", priority=1, expiry=AT + timedelta(days=20)),
        credit("soon", "10", priority=1, expiry=AT + timedelta(days=2)),
    ]
    assert ids(consumption_order(balances, AT)) == ["soon", "late", "never"]


def test_larger_amount_first_when_priority_and_expiry_tie() -> None:
    balances = [credit("small", "5"), credit("big", "50"), credit("mid", "20")]
    assert ids(consumption_order(balances, AT)) == ["big", "mid", "small"]


def test_priority_wins_over_expiry() -> None:
    balances = [
        credit("expires-soon-low-priority", "10", priority=5, expiry=AT + timedelta(days=1)),
        credit("high-priority", "10", priority=0, expiry=AT + timedelta(days=300)),
    ]
    assert ids(consumption_order(balances, AT)) == ["high-priority", "expires-soon-low-priority"]


def test_remaining_ties_break_on_created_at_then_id() -> None:
    balances = [
        credit("b", "10", created_at=CREATED),
        credit("a", "10", created_at=CREATED),
        credit("older", "10", created_at=CREATED - timedelta(days=1)),
    ]
    assert ids(consumption_order(balances, AT)) == ["older", "a", "b"]


def test_expired_empty_and_future_credits_are_skipped() -> None:
    balances = [
        credit("expired", "10", expiry=AT - timedelta(seconds=1)),
        credit("expires-now", "10", expiry=AT),
        credit("empty", "0"),
        credit("future", "10", created_at=AT + timedelta(seconds=1)),
        credit("ok", "10", expiry=AT + timedelta(seconds=1)),
    ]
    assert ids(consumption_order(balances, AT)) == ["ok"]
    assert available_credit(balances, AT) == D(10)


def test_plan_consumes_in_order_and_stops_when_paid() -> None:
    balances = [
        credit("p1", "30", priority=1),
        credit("p2", "50", priority=2),
        credit("p3", "40", priority=3),
    ]
    assert plan_consumption(balances, D(60), AT) == [("p1", D(30)), ("p2", D(30))]
    assert plan_consumption(balances, D(30), AT) == [("p1", D(30))]


def test_plan_never_takes_more_than_is_available() -> None:
    balances = [credit("a", "10"), credit("b", "5.50")]
    plan = plan_consumption(balances, D(100), AT)
    assert plan == [("a", D(10)), ("b", D("5.50"))]


def test_zero_amount_consumes_nothing() -> None:
    assert plan_consumption([credit("a", "10")], D(0), AT) == []


@pytest.mark.parametrize("amount", [D(-1), D("NaN")])
def test_invalid_amount_is_refused(amount: Decimal) -> None:
    with pytest.raises(BillingError):
        plan_consumption([credit("a", "10")], amount, AT)


def test_invalid_balances_are_refused() -> None:
    with pytest.raises(BillingError):
        credit("neg", "-1")
    with pytest.raises(TypeError):
        CreditBalance(transaction_id="f", remaining=1.0, created_at=CREATED)  # type: ignore[arg-type]
    with pytest.raises(BillingError, match="timezone-aware"):
        credit("naive", "1", created_at=datetime(2024, 1, 1))
    with pytest.raises(BillingError, match="duplicate"):
        consumption_order([credit("a", "1"), credit("a", "2")], AT)
    with pytest.raises(BillingError, match="timezone-aware"):
        consumption_order([credit("a", "1")], datetime(2024, 6, 1))


balances_strategy = st.lists(
    st.builds(
        CreditBalance,
        transaction_id=st.uuids().map(str),
        remaining=st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
        priority=st.none() | st.integers(min_value=0, max_value=3),
        expiry_date=st.none() | st.integers(min_value=-5, max_value=5).map(lambda d: AT + timedelta(days=d)),
        created_at=st.integers(min_value=-10, max_value=1).map(lambda d: AT + timedelta(days=d)),
    ),
    max_size=8,
    unique_by=lambda b: b.transaction_id,
)


@settings(max_examples=150, deadline=None)
@given(balances_strategy, st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False))
def test_plan_properties(balances: list[CreditBalance], amount: Decimal) -> None:
    plan = plan_consumption(balances, amount, AT)
    by_id = {b.transaction_id: b for b in balances}
    taken = sum((x for _, x in plan), D(0))
    assert taken == min(amount, available_credit(balances, AT))
    assert len({t for t, _ in plan}) == len(plan)
    for txn, x in plan:
        assert 0 < x <= by_id[txn].remaining
        assert by_id[txn].usable_at(AT)
    # Only the last transaction touched may be partly consumed: earlier ones are drained first.
    assert all(x == by_id[txn].remaining for txn, x in plan[:-1])
    order = ids(consumption_order(balances, AT))
    assert [t for t, _ in plan] == order[: len(plan)]
