"""Billing periods: next period end, calendar anchors, windows, proration (docs/billing-semantics.md §5).

Instants go in as aware datetimes in any zone and come out as aware UTC. Period arithmetic happens
on the wall clock of the subscription's IANA time zone: the date comes from the rules of §5, the
clock time from the anchor.

A local time that the zone skips or repeats is resolved deterministically (PEP 495 ``fold=0``):

- in a spring-forward gap it moves forward by the gap (02:30 on 2024-03-10 in New York is 03:30 EDT);
- in a fall-back overlap it is the first occurrence (01:30 on 2024-11-03 in New York is 01:30 EDT).

The clock time is always re-read from the anchor, so a shifted period end never shifts the next one.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.errors import InvalidPeriod

__all__ = [
    "BillingWindow",
    "TimeZone",
    "billing_periods",
    "calendar_anchor",
    "next_billing_date",
    "proration_coefficient",
    "subscription_windows",
    "trial_end",
]

TimeZone: TypeAlias = str | ZoneInfo
"""An IANA zone name (``"Asia/Kolkata"``) or a ``ZoneInfo``."""

_MONTHS_PER_PERIOD = {
    BillingPeriod.MONTHLY: 1,
    BillingPeriod.QUARTERLY: 3,
    BillingPeriod.HALF_YEARLY: 6,
    BillingPeriod.ANNUAL: 12,
}
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class BillingWindow:
    """A half-open billing window ``[start, end)`` in UTC.

    ``is_trial`` marks the trial window of a subscription (its invoices are zero, §5).
    """

    start: datetime
    end: datetime
    is_trial: bool = False

    def __post_init__(self) -> None:
        start = _utc(self.start, "start")
        end = _utc(self.end, "end")
        if end <= start:
            raise InvalidPeriod(
                f"window end {end.isoformat()} is not after start {start.isoformat()}", field="end"
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def contains(self, ts: datetime) -> bool:
        """True when ``start <= ts < end`` (half-open)."""
        instant = _utc(ts, "ts")
        return self.start <= instant < self.end

    @property
    def duration(self) -> timedelta:
        """Elapsed time of the window (23 h or 25 h for a local day across a DST switch)."""
        return self.end - self.start


def next_billing_date(
    start: datetime,
    anchor: datetime,
    unit: int,
    period: BillingPeriod | str,
    tz: TimeZone,
) -> datetime:
    """The end of the period that starts at ``start``, as an aware UTC datetime.

    ``unit`` is the price's ``billing_period_count``. In ``tz``:

    - DAILY: ``start``'s date + ``unit`` days, at the anchor's clock time.
    - WEEKLY: the next anchor weekday, + (unit - 1) weeks (+ unit weeks when already on it).
    - MONTHLY: the anchor day of ``start``'s month (clamped to its length) when ``start`` is
      before it, else ``unit`` months later on ``min(anchor.day, last day)`` — the day always
      comes from the anchor, so Jan 31 → Feb 29 → Mar 31 → Apr 30 never drifts.
    - QUARTERLY / HALF_YEARLY: the anchor itself while ``start`` is before it (the short first
      period of calendar billing), else as MONTHLY with 3·unit / 6·unit months.
    - ANNUAL: ``unit`` years later, in the anchor's month, day clamped (Feb 29 → Feb 28).

    Raises ``InvalidPeriod`` for naive datetimes, an unknown zone, ``unit < 1`` and ONETIME.
    """
    zone = _zone(tz)
    start_utc = _utc(start, "start")
    anchor_utc = _utc(anchor, "anchor")
    kind = _recurring_period(period)
    count = _unit(unit)

    local_start = start_utc.astimezone(zone)
    local_anchor = anchor_utc.astimezone(zone)
    clock = time(local_anchor.hour, local_anchor.minute, local_anchor.second, local_anchor.microsecond)

    if kind is BillingPeriod.DAILY:
        day = local_start.date() + timedelta(days=count)
    elif kind is BillingPeriod.WEEKLY:
        ahead = (local_anchor.weekday() - local_start.weekday()) % 7
        days = 7 * count if ahead == 0 else ahead + 7 * (count - 1)
        day = local_start.date() + timedelta(days=days)
    elif kind is BillingPeriod.ANNUAL:
        year = local_start.year + count
        day = _clamped_date(year, local_anchor.month, local_anchor.day)
    else:
        if kind is not BillingPeriod.MONTHLY and start_utc < anchor_utc:
            return anchor_utc
        this_month = _clamped_date(local_start.year, local_start.month, local_anchor.day)
        if local_start.day < this_month.day:
            day = this_month
        else:
            year, month = _add_months(local_start.year, local_start.month, count * _MONTHS_PER_PERIOD[kind])
            day = _clamped_date(year, month, local_anchor.day)
    return _at_local(day, clock, zone)


def billing_periods(
    start: datetime,
    until: datetime,
    anchor: datetime,
    unit: int,
    period: BillingPeriod | str,
    tz: TimeZone,
) -> list[BillingWindow]:
    """Consecutive windows from ``start``: every window whose start is before ``until``.

    The last window is kept whole (its end may pass ``until``); none when ``until <= start``.
    """
    zone = _zone(tz)
    current = _utc(start, "start")
    stop = _utc(until, "until")
    _utc(anchor, "anchor")
    _recurring_period(period)
    _unit(unit)
    windows: list[BillingWindow] = []
    while current < stop:
        end = next_billing_date(current, anchor, unit, period, zone)
        windows.append(BillingWindow(current, end))
        current = end
    return windows


def calendar_anchor(start: datetime, period: BillingPeriod | str, tz: TimeZone) -> datetime:
    """The first calendar boundary at or after ``start`` in ``tz``, as UTC.

    Boundaries are local midnights: every day (DAILY), Mondays (WEEKLY), the 1st of each month
    (MONTHLY), of Jan/Apr/Jul/Oct (QUARTERLY), of Jan/Jul (HALF_YEARLY) and Jan 1 (ANNUAL).
    ``start`` exactly on a boundary is its own anchor.
    """
    zone = _zone(tz)
    start_utc = _utc(start, "start")
    kind = _recurring_period(period)
    local = start_utc.astimezone(zone).date()
    if kind is BillingPeriod.DAILY:
        floor = local
        following = floor + timedelta(days=1)
    elif kind is BillingPeriod.WEEKLY:
        floor = local - timedelta(days=local.weekday())
        following = floor + timedelta(days=7)
    else:
        months = _MONTHS_PER_PERIOD[kind]
        first_month = (local.month - 1) // months * months + 1
        floor = date(local.year, first_month, 1)
        year, month = _add_months(floor.year, floor.month, months)
        following = date(year, month, 1)
    boundary = _at_local(floor, time(0), zone)
    return start_utc if boundary == start_utc else _at_local(following, time(0), zone)


def proration_coefficient(period_start: datetime, period_end: datetime, at: datetime) -> Decimal:
    """Share of the period left at ``at``: ``(end - at) / (end - start)`` in elapsed time, within [0, 1].

    Raises ``InvalidPeriod`` for a zero-length or inverted period.
    """
    start = _utc(period_start, "period_start")
    end = _utc(period_end, "period_end")
    change = _utc(at, "at")
    if end <= start:
        raise InvalidPeriod("period_end must be after period_start", field="period_end")
    if change <= start:
        return Decimal(1)
    if change >= end:
        return Decimal(0)
    # Integer microseconds keep the ratio exact up to Decimal's precision; floats never enter.
    return Decimal((end - change) // _MICROSECOND) / Decimal((end - start) // _MICROSECOND)


def trial_end(start: datetime, trial_period_days: int, tz: TimeZone | None = None) -> datetime:
    """``start + trial_period_days`` days, as UTC.

    Without ``tz`` days are 24 h; with ``tz`` they are local calendar days, so a trial that starts
    at 10:00 local ends at 10:00 local even across a DST switch.
    """
    start_utc = _utc(start, "start")
    if isinstance(trial_period_days, bool) or not isinstance(trial_period_days, int):
        raise InvalidPeriod("trial_period_days must be an integer", field="trial_period_days")
    if trial_period_days < 0:
        raise InvalidPeriod("trial_period_days must not be negative", field="trial_period_days")
    if tz is None:
        return start_utc + timedelta(days=trial_period_days)
    return _shift_wall_clock(start_utc, timedelta(days=trial_period_days), _zone(tz))


def subscription_windows(
    start: datetime,
    until: datetime,
    period: BillingPeriod | str,
    unit: int,
    tz: TimeZone,
    billing_cycle: BillingCycle | str = BillingCycle.ANNIVERSARY,
    trial_end: datetime | None = None,
    pauses: Sequence[tuple[datetime, datetime]] = (),
    cancel_at: datetime | None = None,
) -> list[BillingWindow]:
    """A subscription's billing windows from ``start``: every window whose start is before ``until``.

    - The anchor is ``start`` (anniversary) or ``calendar_anchor(start)`` (calendar: a short first window).
    - With ``trial_end`` after ``start``, ``[start, trial_end)`` is a window of its own
      (``is_trial``) and the schedule re-anchors at ``trial_end``.
    - A pause ``(pause_start, pause_end)`` starting inside a window pushes that window's end out by
      the pause's local wall-clock length, and the schedule re-anchors at the pushed end, so every
      later end moves by the pause too.
    - Re-anchoring means: anniversary → the new point itself; calendar → the next calendar boundary
      at or after it (calendar subscriptions keep billing on boundaries, after one short window).
    - ``cancel_at`` ends the window that contains it and the schedule.
    """
    zone = _zone(tz)
    begin = _utc(start, "start")
    stop = _utc(until, "until")
    _recurring_period(period)
    _unit(unit)
    cycle = _cycle(billing_cycle)
    trial = _optional_after(trial_end, begin, "trial_end")
    cancel = _optional_after(cancel_at, begin, "cancel_at")
    pending = _pauses(pauses, begin)
    if cancel is not None:
        stop = min(stop, cancel)

    def reanchor(point: datetime) -> datetime:
        return point if cycle is BillingCycle.ANNIVERSARY else calendar_anchor(point, period, zone)

    anchor = reanchor(begin)
    windows: list[BillingWindow] = []
    current = begin
    while current < stop:
        in_trial = trial is not None and trial > begin and current == begin
        end = (
            trial
            if in_trial and trial is not None
            else next_billing_date(current, anchor, unit, period, zone)
        )
        shifted = False
        while pending and pending[0][0] < end:
            pause_start, pause_end = pending.pop(0)
            end = _shift_wall_clock(end, _wall_clock_length(pause_start, pause_end, zone), zone)
            # Only a fall-back overlap can put the pushed end before the resume; the window must hold the pause.
            end = max(end, pause_end)
            shifted = True
        if cancel is not None and cancel < end:
            windows.append(BillingWindow(current, cancel, in_trial))
            break
        windows.append(BillingWindow(current, end, in_trial))
        if in_trial or shifted:
            anchor = reanchor(end)
        current = end
    return windows


def _zone(tz: object) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    if not isinstance(tz, str) or not tz.strip():
        raise InvalidPeriod(f"time zone must be an IANA name or a ZoneInfo, not {tz!r}", field="tz")
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidPeriod(f"unknown time zone {tz!r}", field="tz") from exc


def _utc(value: object, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidPeriod(f"{field} must be a datetime, not {type(value).__name__}", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidPeriod(f"{field} must be timezone-aware", field=field)
    return value.astimezone(UTC)


def _recurring_period(period: BillingPeriod | str) -> BillingPeriod:
    try:
        kind = BillingPeriod(period)
    except ValueError as exc:
        raise InvalidPeriod(f"unknown billing period {period!r}", field="period") from exc
    if kind is BillingPeriod.ONETIME:
        raise InvalidPeriod("a ONETIME charge has no next billing date", field="period")
    return kind


def _cycle(cycle: BillingCycle | str) -> BillingCycle:
    try:
        return BillingCycle(cycle)
    except ValueError as exc:
        raise InvalidPeriod(f"unknown billing cycle {cycle!r}", field="billing_cycle") from exc


def _unit(unit: object) -> int:
    if isinstance(unit, bool) or not isinstance(unit, int):
        raise InvalidPeriod("unit must be an integer", field="unit")
    if unit < 1:
        raise InvalidPeriod(f"unit must be at least 1, got {unit}", field="unit")
    return unit


def _optional_after(value: datetime | None, begin: datetime, field: str) -> datetime | None:
    if value is None:
        return None
    instant = _utc(value, field)
    if instant < begin:
        raise InvalidPeriod(f"{field} is before the subscription start", field=field)
    return instant


def _pauses(pauses: Sequence[tuple[datetime, datetime]], begin: datetime) -> list[tuple[datetime, datetime]]:
    checked: list[tuple[datetime, datetime]] = []
    for index, pause in enumerate(pauses):
        field = f"pauses.{index}"
        if not isinstance(pause, tuple) or len(pause) != 2:
            raise InvalidPeriod("a pause is a (pause_start, pause_end) pair", field=field)
        pause_start, pause_end = _utc(pause[0], field), _utc(pause[1], field)
        if pause_end <= pause_start:
            raise InvalidPeriod("pause_end must be after pause_start", field=field)
        if pause_start < begin:
            raise InvalidPeriod("a pause cannot start before the subscription", field=field)
        if checked and pause_start < checked[-1][1]:
            raise InvalidPeriod("pauses must be in order and must not overlap", field=field)
        checked.append((pause_start, pause_end))
    return checked


def _wall_clock_length(pause_start: datetime, pause_end: datetime, zone: ZoneInfo) -> timedelta:
    local_start = pause_start.astimezone(zone).replace(tzinfo=None)
    local_end = pause_end.astimezone(zone).replace(tzinfo=None)
    # A sub-hour pause across a fall-back can read negative on the wall clock; it moves nothing.
    return max(local_end - local_start, timedelta(0))


def _shift_wall_clock(instant: datetime, length: timedelta, zone: ZoneInfo) -> datetime:
    local = instant.astimezone(zone).replace(tzinfo=None) + length
    return _at_local(local.date(), local.time(), zone)


def _at_local(day: date, clock: time, zone: ZoneInfo) -> datetime:
    # fold=0 is the documented rule: gaps move forward by the gap, overlaps take the first occurrence.
    return datetime.combine(day, clock, tzinfo=zone).replace(fold=0).astimezone(UTC)


def _clamped_date(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1
