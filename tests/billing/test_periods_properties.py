"""Property tests for billing periods: no drift, contiguous windows, bounded proration."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.periods import (
    billing_periods,
    next_billing_date,
    proration_coefficient,
    subscription_windows,
)

ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Sydney", "Pacific/Chatham"]
RECURRING = [p for p in BillingPeriod if p is not BillingPeriod.ONETIME]
MONTH_STEP = {
    BillingPeriod.MONTHLY: 1,
    BillingPeriod.QUARTERLY: 3,
    BillingPeriod.HALF_YEARLY: 6,
    BillingPeriod.ANNUAL: 12,
}
# Typical spans per period keep the window lists short on a 2-core machine.
SPAN_DAYS = {
    BillingPeriod.DAILY: 40,
    BillingPeriod.WEEKLY: 200,
    BillingPeriod.MONTHLY: 800,
    BillingPeriod.QUARTERLY: 1500,
    BillingPeriod.HALF_YEARLY: 2500,
    BillingPeriod.ANNUAL: 4000,
}

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    year=st.integers(2000, 2050),
    month=st.integers(1, 12),
    day=st.integers(28, 31),
    # DST switches in these zones happen before 04:00, so these clocks always exist.
    clock=st.times(min_value=time(4), max_value=time(23, 59, 59)),
    period=st.sampled_from(list(MONTH_STEP)),
)
def test_month_end_chain_never_drifts_over_ten_years(
    zone: str, year: int, month: int, day: int, clock: time, period: BillingPeriod
) -> None:
    tz = ZoneInfo(zone)
    anchor = datetime.combine(date(year, month, min(day, last_day(year, month))), clock, tzinfo=tz)
    step = MONTH_STEP[period]
    current = anchor
    for index in range(1, 120 // step + 1):
        current = next_billing_date(current, anchor, 1, period, zone)
        local = current.astimezone(tz)
        months = (anchor.month - 1) + index * step
        expected_year, expected_month = anchor.year + months // 12, months % 12 + 1
        assert (local.year, local.month) == (expected_year, expected_month)
        assert local.day == min(anchor.day, last_day(local.year, local.month))
        assert local.time() == clock


@settings(max_examples=150, deadline=None)
@given(
    start=instants,
    anchor_offset=st.integers(-400, 400).map(lambda days: timedelta(days=days, minutes=days * 37)),
    zone=st.sampled_from(ZONES),
    period=st.sampled_from(RECURRING),
    unit=st.integers(1, 3),
    fraction=st.floats(0, 1),
)
def test_billing_periods_are_contiguous_and_cover_start_to_until(
    start: datetime,
    anchor_offset: timedelta,
    zone: str,
    period: BillingPeriod,
    unit: int,
    fraction: float,
) -> None:
    until = start + timedelta(days=SPAN_DAYS[period] * fraction)
    windows = billing_periods(start, until, start + anchor_offset, unit, period, zone)
    if until <= start:
        assert windows == []
        return
    assert windows[0].start == start
    assert all(w.start < w.end for w in windows)
    assert all(a.end == b.start for a, b in pairwise(windows))
    assert all(w.start < until for w in windows)
    assert windows[-1].end >= until
    assert all(w.start.tzinfo is UTC and w.end.tzinfo is UTC for w in windows)


@settings(max_examples=150, deadline=None)
@given(
    start=instants,
    zone=st.sampled_from(ZONES),
    period=st.sampled_from(RECURRING),
    probe=st.floats(0, 1),
)
def test_every_instant_belongs_to_exactly_one_window(
    start: datetime, zone: str, period: BillingPeriod, probe: float
) -> None:
    span = timedelta(days=SPAN_DAYS[period])
    windows = billing_periods(start, start + span, start, 1, period, zone)
    ts = start + span * probe
    if ts >= start + span:
        ts = start + span - timedelta(microseconds=1)
    assert sum(w.contains(ts) for w in windows) == 1


@settings(max_examples=200, deadline=None)
@given(
    start=instants,
    length=st.integers(1, 400 * 86_400_000_000).map(lambda us: timedelta(microseconds=us)),
    offset=st.integers(-500 * 86_400, 900 * 86_400).map(lambda s: timedelta(seconds=s)),
    later=st.integers(0, 100 * 86_400).map(lambda s: timedelta(seconds=s)),
)
def test_proration_is_within_zero_and_one_and_never_grows(
    start: datetime, length: timedelta, offset: timedelta, later: timedelta
) -> None:
    end = start + length
    first = proration_coefficient(start, end, start + offset)
    second = proration_coefficient(start, end, start + offset + later)
    assert isinstance(first, Decimal)
    assert Decimal(0) <= second <= first <= Decimal(1)


pause_plans = st.lists(
    st.tuples(st.integers(0, 60 * 86_400), st.integers(3_600, 40 * 86_400)), min_size=0, max_size=3
)


@settings(max_examples=120, deadline=None)
@given(
    start=instants,
    zone=st.sampled_from(ZONES),
    period=st.sampled_from([BillingPeriod.DAILY, BillingPeriod.WEEKLY, BillingPeriod.MONTHLY]),
    cycle=st.sampled_from(list(BillingCycle)),
    trial_days=st.integers(0, 30),
    plan=pause_plans,
    horizon_days=st.integers(1, 200),
)
def test_subscription_windows_are_contiguous_and_hold_each_pause_whole(
    start: datetime,
    zone: str,
    period: BillingPeriod,
    cycle: BillingCycle,
    trial_days: int,
    plan: list[tuple[int, int]],
    horizon_days: int,
) -> None:
    pauses: list[tuple[datetime, datetime]] = []
    cursor = start
    for gap, length in plan:
        pause_start = cursor + timedelta(seconds=gap)
        pauses.append((pause_start, pause_start + timedelta(seconds=length)))
        cursor = pause_start + timedelta(seconds=length)
    until = start + timedelta(days=horizon_days)
    trial = start + timedelta(days=trial_days) if trial_days else None
    windows = subscription_windows(
        start, until, period, 1, zone, billing_cycle=cycle, trial_end=trial, pauses=pauses
    )
    assert windows[0].start == start
    assert all(a.end == b.start for a, b in pairwise(windows))
    assert all(w.start < until for w in windows) and windows[-1].end >= until
    assert windows[0].is_trial == (trial is not None) and not any(w.is_trial for w in windows[1:])
    for pause_start, pause_end in pauses:
        holding = [w for w in windows if w.contains(pause_start)]
        if holding:
            # The window a pause starts in is pushed out far enough to hold the whole pause.
            assert holding[0].end >= pause_end
