"""The pure subscription rules behind the API (property tests; no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.errors import InvalidPeriod
from flexprice_pipelines.billing.subscriptions import (
    AdvanceCharge,
    cancellation_time,
    first_period,
    resumed_period_end,
    unused_advance_credit,
)

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
periods = st.sampled_from([p for p in BillingPeriod if p is not BillingPeriod.ONETIME])
zones = st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin"])


@settings(max_examples=150, deadline=None)
@given(instants, periods, st.integers(1, 3), zones, st.sampled_from(list(BillingCycle)))
def test_first_period_starts_at_start_and_ends_on_the_anchor(start, period, count, tz, cycle) -> None:
    first = first_period(start, period, count, tz, cycle)
    assert first.window.start == start < first.window.end
    if cycle is BillingCycle.ANNIVERSARY:
        assert first.billing_anchor == start
    else:
        assert start <= first.billing_anchor <= first.window.end


@settings(max_examples=100, deadline=None)
@given(instants, st.integers(1, 60))
def test_a_trial_is_the_first_window_and_resets_the_anchor(start, days) -> None:
    trial = start + timedelta(days=days)
    first = first_period(start, BillingPeriod.MONTHLY, 1, "UTC", BillingCycle.ANNIVERSARY, trial)
    assert (first.window.end, first.billing_anchor, first.trial_end) == (trial, trial, trial)


def test_monthly_anniversary_from_the_31st_is_clamped() -> None:
    start = datetime(2024, 1, 31, 10, tzinfo=UTC)
    assert first_period(
        start, BillingPeriod.MONTHLY, 1, "UTC", BillingCycle.ANNIVERSARY
    ).window.end == datetime(2024, 2, 29, 10, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.decimals(0, 10_000, places=2), st.integers(0, 20)), max_size=5),
    st.integers(0, 31 * 24),
)
def test_unused_credit_is_between_zero_and_the_full_charge(lines, hours) -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    end = datetime(2025, 4, 1, tzinfo=UTC)
    charges = [AdvanceCharge(amount, Decimal(qty)) for amount, qty in lines]
    full = sum((c.amount * c.quantity for c in charges), Decimal(0))
    credit = unused_advance_credit(charges, start, end, start + timedelta(hours=hours), "usd")
    assert Decimal(0) <= credit <= full + Decimal("0.005") * len(charges)
    assert unused_advance_credit(charges, start, end, start, "usd") == full
    assert unused_advance_credit(charges, start, end, end, "usd") == 0


def test_cancellation_times() -> None:
    now = datetime(2025, 3, 10, tzinfo=UTC)
    end = datetime(2025, 4, 1, tzinfo=UTC)
    assert cancellation_time("immediate", now, end, None) == now
    assert cancellation_time("end_of_period", now, end, None) == end
    assert cancellation_time("scheduled_date", now, end, end + timedelta(days=3)) == end + timedelta(days=3)
    for bad in (None, now):
        with pytest.raises(InvalidPeriod) as err:
            cancellation_time("scheduled_date", now, end, bad)
        assert err.value.field == "body.cancel_at"


@given(instants, st.integers(0, 10**6), st.integers(-(10**6), 10**6))
def test_resume_shifts_the_end_by_the_time_paused(end, paused_seconds, offset) -> None:
    pause_start = end - timedelta(seconds=offset)
    resumed = pause_start + timedelta(seconds=paused_seconds)
    assert resumed_period_end(end, pause_start, resumed) == end + timedelta(seconds=paused_seconds)
    # A pause that had not begun when resumed moves nothing.
    assert resumed_period_end(end, resumed + timedelta(seconds=1), resumed) == end
