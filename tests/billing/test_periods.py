"""Billing periods, calendar anchors, proration and subscription schedules (docs/billing-semantics.md §5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.errors import InvalidPeriod
from flexprice_pipelines.billing.periods import (
    BillingWindow,
    billing_periods,
    calendar_anchor,
    next_billing_date,
    proration_coefficient,
    subscription_windows,
    trial_end,
)

NY = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
P = BillingPeriod


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KOLKATA)


def chain(start: datetime, period: P, steps: int, tz: str = "UTC", unit: int = 1) -> list[datetime]:
    """Period ends from ``start``, anniversary-anchored at ``start``."""
    ends: list[datetime] = []
    current = start
    for _ in range(steps):
        current = next_billing_date(current, start, unit, period, tz)
        ends.append(current)
    return ends


# --- §5 examples -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "anchor", "period", "expected"),
    [
        pytest.param(utc(2024, 1, 31), utc(2024, 1, 31), P.MONTHLY, utc(2024, 2, 29), id="monthly-jan31"),
        pytest.param(
            utc(2024, 2, 29), utc(2024, 1, 31), P.MONTHLY, utc(2024, 3, 31), id="monthly-anchor-day"
        ),
        pytest.param(utc(2024, 2, 29), utc(2024, 2, 29), P.ANNUAL, utc(2025, 2, 28), id="annual-feb29"),
        pytest.param(utc(2024, 1, 15), utc(2024, 2, 1), P.MONTHLY, utc(2024, 2, 1), id="monthly-calendar"),
        pytest.param(
            utc(2024, 3, 4, 10), utc(2024, 2, 28, 14), P.WEEKLY, utc(2024, 3, 6, 14), id="weekly-wed"
        ),
        pytest.param(
            utc(2024, 3, 10, 8), utc(2024, 1, 1, 14, 30), P.DAILY, utc(2024, 3, 11, 14, 30), id="daily"
        ),
    ],
)
def test_spec_examples(start: datetime, anchor: datetime, period: P, expected: datetime) -> None:
    assert next_billing_date(start, anchor, 1, period, "UTC") == expected


def test_monthly_calendar_example_uses_calendar_anchor() -> None:
    anchor = calendar_anchor(utc(2024, 1, 15, 9), P.MONTHLY, "UTC")
    assert anchor == utc(2024, 2, 1)
    assert next_billing_date(utc(2024, 1, 15, 9), anchor, 1, P.MONTHLY, "UTC") == utc(2024, 2, 1)


def test_result_is_utc_whatever_the_input_zone() -> None:
    result = next_billing_date(ist(2024, 1, 31, 14, 30), ist(2024, 1, 31, 14, 30), 1, P.MONTHLY, KOLKATA)
    assert result.tzinfo is UTC
    assert result == utc(2024, 2, 29, 9)


# --- month ends --------------------------------------------------------------------------------


def test_31st_anchor_through_a_leap_year() -> None:
    ends = chain(utc(2024, 1, 31), P.MONTHLY, 12)
    assert [e.date() for e in ends] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
        date(2024, 7, 31),
        date(2024, 8, 31),
        date(2024, 9, 30),
        date(2024, 10, 31),
        date(2024, 11, 30),
        date(2024, 12, 31),
        date(2025, 1, 31),
    ]


def test_31st_anchor_through_a_non_leap_year() -> None:
    ends = chain(utc(2023, 1, 31), P.MONTHLY, 4)
    assert [e.date() for e in ends] == [
        date(2023, 2, 28),
        date(2023, 3, 31),
        date(2023, 4, 30),
        date(2023, 5, 31),
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (utc(2024, 1, 30), [date(2024, 2, 29), date(2024, 3, 30), date(2024, 4, 30)]),
        (utc(2023, 1, 30), [date(2023, 2, 28), date(2023, 3, 30), date(2023, 4, 30)]),
        (utc(2024, 1, 29), [date(2024, 2, 29), date(2024, 3, 29), date(2024, 4, 29)]),
        (utc(2023, 1, 29), [date(2023, 2, 28), date(2023, 3, 29), date(2023, 4, 29)]),
    ],
    ids=["30th-leap", "30th-non-leap", "29th-leap", "29th-non-leap"],
)
def test_30th_and_29th_anchors(start: datetime, expected: list[date]) -> None:
    assert [e.date() for e in chain(start, P.MONTHLY, 3)] == expected


def test_quarterly_from_nov_30() -> None:
    ends = chain(utc(2023, 11, 30), P.QUARTERLY, 5)
    assert [e.date() for e in ends] == [
        date(2024, 2, 29),
        date(2024, 5, 30),
        date(2024, 8, 30),
        date(2024, 11, 30),
        date(2025, 2, 28),
    ]


def test_half_yearly_from_aug_31() -> None:
    ends = chain(utc(2023, 8, 31), P.HALF_YEARLY, 4)
    assert [e.date() for e in ends] == [
        date(2024, 2, 29),
        date(2024, 8, 31),
        date(2025, 2, 28),
        date(2025, 8, 31),
    ]


def test_annual_feb_29_returns_to_feb_29_in_the_next_leap_year() -> None:
    ends = chain(utc(2024, 2, 29), P.ANNUAL, 4)
    assert [e.date() for e in ends] == [
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_monthly_start_before_the_anchor_day_ends_in_the_same_month() -> None:
    anchor = utc(2023, 12, 31, 6)
    assert next_billing_date(utc(2024, 1, 10), anchor, 1, P.MONTHLY, "UTC") == utc(2024, 1, 31, 6)
    # The anchor day is clamped to the month before comparing: Feb 10 → Feb 29, not Mar 31.
    assert next_billing_date(utc(2024, 2, 10), anchor, 1, P.MONTHLY, "UTC") == utc(2024, 2, 29, 6)


def test_units_above_one() -> None:
    assert [e.date() for e in chain(utc(2024, 1, 31), P.MONTHLY, 3, unit=2)] == [
        date(2024, 3, 31),
        date(2024, 5, 31),
        date(2024, 7, 31),
    ]
    assert next_billing_date(utc(2024, 3, 4, 10), utc(2024, 3, 6, 14), 2, P.WEEKLY, "UTC") == utc(
        2024, 3, 13, 14
    )
    assert next_billing_date(utc(2024, 3, 10, 8), utc(2024, 3, 1, 6), 3, P.DAILY, "UTC") == utc(
        2024, 3, 13, 6
    )
    assert next_billing_date(utc(2024, 2, 29), utc(2024, 2, 29), 4, P.ANNUAL, "UTC") == utc(2028, 2, 29)


def test_weekly_on_the_anchor_weekday_moves_whole_weeks() -> None:
    # Wednesday start, Wednesday anchor: a full week even though the anchor clock is later that day.
    assert next_billing_date(utc(2024, 3, 6, 10), utc(2024, 3, 6, 14), 1, P.WEEKLY, "UTC") == utc(
        2024, 3, 13, 14
    )
    assert next_billing_date(utc(2024, 3, 6, 10), utc(2024, 3, 6, 14), 3, P.WEEKLY, "UTC") == utc(
        2024, 3, 27, 14
    )


def test_quarterly_calendar_first_end_is_the_anchor() -> None:
    start = utc(2024, 2, 15, 12)
    anchor = calendar_anchor(start, P.QUARTERLY, "UTC")
    windows = billing_periods(start, utc(2024, 12, 1), anchor, 1, P.QUARTERLY, "UTC")
    assert [(w.start, w.end) for w in windows] == [
        (start, utc(2024, 4, 1)),
        (utc(2024, 4, 1), utc(2024, 7, 1)),
        (utc(2024, 7, 1), utc(2024, 10, 1)),
        (utc(2024, 10, 1), utc(2025, 1, 1)),
    ]


# --- time zones and DST ------------------------------------------------------------------------


def test_kolkata_1430_anchor_keeps_local_clock_through_month_ends() -> None:
    start = ist(2024, 1, 31, 14, 30)
    ends = chain(start, P.MONTHLY, 3, tz="Asia/Kolkata")
    assert ends == [utc(2024, 2, 29, 9), utc(2024, 3, 31, 9), utc(2024, 4, 30, 9)]
    assert all(e.astimezone(KOLKATA).strftime("%H:%M") == "14:30" for e in ends)


def test_kolkata_month_end_differs_from_utc_month_end() -> None:
    # Anchor 2024-03-30 20:00Z = 2024-03-31 01:30 IST: the 31st in Kolkata, the 30th in UTC.
    anchor = utc(2024, 3, 30, 20)
    assert next_billing_date(anchor, anchor, 1, P.MONTHLY, "Asia/Kolkata") == utc(2024, 4, 29, 20)
    assert next_billing_date(anchor, anchor, 1, P.MONTHLY, "UTC") == utc(2024, 4, 30, 20)


def test_new_york_daily_calendar_windows_are_23_and_25_hours_on_dst_days() -> None:
    start = ny(2024, 3, 9, 15)
    anchor = calendar_anchor(start, P.DAILY, NY)
    windows = billing_periods(start, ny(2024, 3, 12), anchor, 1, P.DAILY, NY)
    assert [w.end.astimezone(NY).strftime("%m-%d %H:%M") for w in windows] == [
        "03-10 00:00",
        "03-11 00:00",
        "03-12 00:00",
    ]
    assert windows[1].duration == timedelta(hours=23)
    assert windows[2].duration == timedelta(hours=24)

    fall = billing_periods(ny(2024, 11, 3), ny(2024, 11, 5), ny(2024, 11, 3), 1, P.DAILY, "America/New_York")
    assert [w.duration for w in fall] == [timedelta(hours=25), timedelta(hours=24)]
    assert fall[0].end == utc(2024, 11, 4, 5)


def test_new_york_monthly_1430_anchor_across_both_switches() -> None:
    start = ny(2024, 2, 15, 14, 30)
    ends = chain(start, P.MONTHLY, 10, tz="America/New_York")
    assert all(e.astimezone(NY).strftime("%d %H:%M") == "15 14:30" for e in ends)
    # EST is UTC-5, EDT is UTC-4: the UTC instant moves, the wall clock does not.
    assert ends[0] == utc(2024, 3, 15, 18, 30)
    assert ends[8] == utc(2024, 11, 15, 19, 30)


def test_spring_forward_gap_moves_forward_by_the_gap() -> None:
    anchor = ny(2024, 3, 1, 2, 30)
    on_gap_day = next_billing_date(ny(2024, 3, 9, 2, 30), anchor, 1, P.DAILY, NY)
    assert on_gap_day == utc(2024, 3, 10, 7, 30)
    assert on_gap_day.astimezone(NY).strftime("%H:%M %Z") == "03:30 EDT"
    # The next day returns to the anchor clock: the shift does not carry over.
    assert next_billing_date(on_gap_day, anchor, 1, P.DAILY, NY).astimezone(NY).strftime("%H:%M") == "02:30"


def test_fall_back_overlap_takes_the_first_occurrence() -> None:
    anchor = ny(2024, 10, 1, 1, 30)
    ambiguous = next_billing_date(ny(2024, 11, 2, 1, 30), anchor, 1, P.DAILY, NY)
    assert ambiguous == utc(2024, 11, 3, 5, 30)
    assert ambiguous.astimezone(NY).strftime("%H:%M %Z") == "01:30 EDT"
    assert next_billing_date(ambiguous, anchor, 1, P.DAILY, NY) == utc(2024, 11, 4, 6, 30)


# --- calendar anchors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (P.DAILY, utc(2024, 5, 16)),
        (P.WEEKLY, utc(2024, 5, 20)),
        (P.MONTHLY, utc(2024, 6, 1)),
        (P.QUARTERLY, utc(2024, 7, 1)),
        (P.HALF_YEARLY, utc(2024, 7, 1)),
        (P.ANNUAL, utc(2025, 1, 1)),
    ],
)
def test_calendar_anchor_is_the_next_boundary(period: P, expected: datetime) -> None:
    assert calendar_anchor(utc(2024, 5, 15, 13, 45), period, "UTC") == expected


@pytest.mark.parametrize(
    ("start", "period", "expected"),
    [
        (utc(2024, 11, 20), P.QUARTERLY, utc(2025, 1, 1)),
        (utc(2024, 8, 2), P.HALF_YEARLY, utc(2025, 1, 1)),
        (utc(2024, 2, 2), P.HALF_YEARLY, utc(2024, 7, 1)),
        (utc(2024, 12, 31, 23), P.MONTHLY, utc(2025, 1, 1)),
        (utc(2024, 3, 10, 1), P.WEEKLY, utc(2024, 3, 11)),  # a Sunday
    ],
)
def test_calendar_anchor_rolls_over_years_and_weeks(start: datetime, period: P, expected: datetime) -> None:
    assert calendar_anchor(start, period, "UTC") == expected


@pytest.mark.parametrize("period", [P.DAILY, P.WEEKLY, P.MONTHLY, P.QUARTERLY, P.HALF_YEARLY, P.ANNUAL])
def test_calendar_anchor_on_a_boundary_is_the_start(period: P) -> None:
    start = ist(2024, 1, 1)  # a Monday, midnight in Kolkata = 2023-12-31 18:30Z
    assert calendar_anchor(start, period, KOLKATA) == utc(2023, 12, 31, 18, 30)


def test_calendar_anchor_is_computed_in_the_subscription_zone() -> None:
    # 2024-01-31 19:00Z is already 2024-02-01 00:30 in Kolkata: next boundary is Mar 1 IST.
    assert calendar_anchor(utc(2024, 1, 31, 19), P.MONTHLY, "Asia/Kolkata") == utc(2024, 2, 29, 18, 30)
    assert calendar_anchor(utc(2024, 1, 31, 19), P.MONTHLY, "UTC") == utc(2024, 2, 1)


def test_calendar_anchor_rejects_onetime() -> None:
    with pytest.raises(InvalidPeriod) as err:
        calendar_anchor(utc(2024, 1, 1), P.ONETIME, "UTC")
    assert err.value.field == "period"


# --- windows -----------------------------------------------------------------------------------


def test_billing_window_is_half_open_and_normalised_to_utc() -> None:
    window = BillingWindow(ist(2024, 1, 1), ist(2024, 2, 1))
    assert window.start == utc(2023, 12, 31, 18, 30)
    assert window.start.tzinfo is UTC
    assert window.contains(window.start)
    assert window.contains(window.end - timedelta(microseconds=1))
    assert not window.contains(window.end)
    assert not window.contains(window.start - timedelta(microseconds=1))
    assert window.duration == timedelta(days=31)
    assert not window.is_trial


def test_billing_window_rejects_empty_and_naive() -> None:
    with pytest.raises(InvalidPeriod) as err:
        BillingWindow(utc(2024, 1, 1), utc(2024, 1, 1))
    assert err.value.field == "end"
    with pytest.raises(InvalidPeriod) as err:
        BillingWindow(datetime(2024, 1, 1), utc(2024, 1, 2))
    assert err.value.field == "start"
    with pytest.raises(InvalidPeriod) as err:
        BillingWindow(utc(2024, 1, 1), utc(2024, 1, 2)).contains(datetime(2024, 1, 1, 12))
    assert err.value.field == "ts"


def test_billing_periods_keeps_the_last_window_whole() -> None:
    windows = billing_periods(utc(2024, 1, 31), utc(2024, 4, 1), utc(2024, 1, 31), 1, "MONTHLY", "UTC")
    assert [(w.start.date(), w.end.date()) for w in windows] == [
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2024, 2, 29), date(2024, 3, 31)),
        (date(2024, 3, 31), date(2024, 4, 30)),
    ]


def test_billing_periods_until_on_a_boundary_excludes_the_window_starting_there() -> None:
    windows = billing_periods(utc(2024, 1, 1), utc(2024, 3, 1), utc(2024, 1, 1), 1, P.MONTHLY, "UTC")
    assert [w.end for w in windows] == [utc(2024, 2, 1), utc(2024, 3, 1)]
    assert billing_periods(utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 1, 1), 1, P.MONTHLY, "UTC") == []


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": datetime(2024, 1, 1)}, "start"),
        ({"anchor": datetime(2024, 1, 1)}, "anchor"),
        ({"tz": "Mars/Olympus_Mons"}, "tz"),
        ({"tz": ""}, "tz"),
        ({"tz": "../etc/passwd"}, "tz"),
        ({"unit": 0}, "unit"),
        ({"unit": -1}, "unit"),
        ({"unit": True}, "unit"),
        ({"period": P.ONETIME}, "period"),
        ({"period": "FORTNIGHTLY"}, "period"),
    ],
)
def test_next_billing_date_rejects_bad_input(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "start": utc(2024, 1, 1),
        "anchor": utc(2024, 1, 1),
        "unit": 1,
        "period": P.MONTHLY,
        "tz": "UTC",
    }
    args.update(kwargs)
    with pytest.raises(InvalidPeriod) as err:
        next_billing_date(**args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_billing_periods_rejects_naive_until_and_bad_unit_even_when_empty() -> None:
    with pytest.raises(InvalidPeriod) as err:
        billing_periods(utc(2024, 1, 1), datetime(2024, 2, 1), utc(2024, 1, 1), 1, P.MONTHLY, "UTC")
    assert err.value.field == "until"
    with pytest.raises(InvalidPeriod) as err:
        billing_periods(utc(2024, 1, 1), utc(2023, 1, 1), utc(2024, 1, 1), 0, P.MONTHLY, "UTC")
    assert err.value.field == "unit"


# --- proration ---------------------------------------------------------------------------------


def test_proration_examples() -> None:
    start, end = utc(2024, 4, 1), utc(2024, 5, 1)  # 30 days
    assert proration_coefficient(start, end, utc(2024, 4, 11)) == Decimal(20) / Decimal(30)
    assert proration_coefficient(start, end, utc(2024, 4, 16)) == Decimal("0.5")
    assert proration_coefficient(start, end, utc(2024, 4, 30, 23)) == Decimal(1) / Decimal(720)
    assert proration_coefficient(start, end, start) == 1
    assert proration_coefficient(start, end, end) == 0
    assert proration_coefficient(start, end, utc(2024, 3, 1)) == 1
    assert proration_coefficient(start, end, utc(2024, 6, 1)) == 0


def test_proration_counts_elapsed_seconds_across_dst() -> None:
    # The 23-hour New York day of 2024-03-10; noon EDT leaves 12 of 23 hours.
    coefficient = proration_coefficient(ny(2024, 3, 10), ny(2024, 3, 11), ny(2024, 3, 10, 12))
    assert coefficient == Decimal(12) / Decimal(23)
    assert isinstance(coefficient, Decimal)


def test_proration_sub_second_precision() -> None:
    start = utc(2024, 1, 1)
    at = start + timedelta(seconds=1, microseconds=500_000)
    assert proration_coefficient(start, start + timedelta(seconds=3), at) == Decimal("0.5")


def test_proration_rejects_zero_length_and_naive() -> None:
    with pytest.raises(InvalidPeriod) as err:
        proration_coefficient(utc(2024, 1, 1), utc(2024, 1, 1), utc(2024, 1, 1))
    assert err.value.field == "period_end"
    with pytest.raises(InvalidPeriod) as err:
        proration_coefficient(utc(2024, 1, 1), utc(2024, 2, 1), datetime(2024, 1, 5))
    assert err.value.field == "at"


# --- trials ------------------------------------------------------------------------------------


def test_trial_end_adds_days() -> None:
    assert trial_end(utc(2024, 1, 15, 10), 14) == utc(2024, 1, 29, 10)
    assert trial_end(utc(2024, 1, 15, 10), 0) == utc(2024, 1, 15, 10)


def test_trial_end_in_a_zone_counts_local_days_across_dst() -> None:
    start = ny(2024, 3, 1, 10)
    assert trial_end(start, 14, "America/New_York").astimezone(NY).strftime("%m-%d %H:%M") == "03-15 10:00"
    assert trial_end(start, 14) == utc(2024, 3, 15, 15)  # 24-hour days: 11:00 EDT


@pytest.mark.parametrize("days", [-1, True, "7"])
def test_trial_end_rejects_bad_days(days: object) -> None:
    with pytest.raises(InvalidPeriod) as err:
        trial_end(utc(2024, 1, 1), days)  # type: ignore[arg-type]
    assert err.value.field == "trial_period_days"


# --- subscription schedules --------------------------------------------------------------------


def spans(windows: list[BillingWindow]) -> list[tuple[str, str, bool]]:
    return [(w.start.isoformat(), w.end.isoformat(), w.is_trial) for w in windows]


def test_anniversary_schedule_equals_billing_periods_from_start() -> None:
    start = ist(2024, 1, 31, 14, 30)
    until = ist(2024, 8, 1)
    assert subscription_windows(start, until, P.MONTHLY, 1, "Asia/Kolkata") == billing_periods(
        start, until, start, 1, P.MONTHLY, "Asia/Kolkata"
    )


def test_calendar_schedule_has_a_short_first_window() -> None:
    windows = subscription_windows(
        utc(2024, 1, 15, 9), utc(2024, 3, 15), P.MONTHLY, 1, "UTC", billing_cycle=BillingCycle.CALENDAR
    )
    assert [(w.start, w.end) for w in windows] == [
        (utc(2024, 1, 15, 9), utc(2024, 2, 1)),
        (utc(2024, 2, 1), utc(2024, 3, 1)),
        (utc(2024, 3, 1), utc(2024, 4, 1)),
    ]


def test_trial_is_its_own_window_and_resets_the_anchor() -> None:
    start = utc(2024, 1, 15, 10)
    windows = subscription_windows(
        start, utc(2024, 4, 1), P.MONTHLY, 1, "UTC", trial_end=trial_end(start, 14)
    )
    assert [(w.start, w.end, w.is_trial) for w in windows] == [
        (start, utc(2024, 1, 29, 10), True),
        (utc(2024, 1, 29, 10), utc(2024, 2, 29, 10), False),
        (utc(2024, 2, 29, 10), utc(2024, 3, 29, 10), False),
        (utc(2024, 3, 29, 10), utc(2024, 4, 29, 10), False),
    ]


def test_calendar_trial_realigns_to_the_next_boundary() -> None:
    windows = subscription_windows(
        utc(2024, 1, 15, 10),
        utc(2024, 3, 2),
        P.MONTHLY,
        1,
        "UTC",
        billing_cycle="calendar",
        trial_end=utc(2024, 2, 5, 10),
    )
    assert [(w.start, w.end, w.is_trial) for w in windows] == [
        (utc(2024, 1, 15, 10), utc(2024, 2, 5, 10), True),
        (utc(2024, 2, 5, 10), utc(2024, 3, 1), False),
        (utc(2024, 3, 1), utc(2024, 4, 1), False),
    ]


def test_trial_ending_at_start_means_no_trial() -> None:
    start = utc(2024, 1, 15)
    windows = subscription_windows(start, utc(2024, 2, 1), P.MONTHLY, 1, "UTC", trial_end=start)
    assert [(w.start, w.end, w.is_trial) for w in windows] == [(start, utc(2024, 2, 15), False)]


def test_pause_shifts_the_current_and_every_later_period_end() -> None:
    start = utc(2024, 1, 15)
    plain = subscription_windows(start, utc(2024, 5, 1), P.MONTHLY, 1, "UTC")
    paused = subscription_windows(
        start, utc(2024, 5, 1), P.MONTHLY, 1, "UTC", pauses=[(utc(2024, 2, 1), utc(2024, 2, 11))]
    )
    assert [w.end for w in plain] == [utc(2024, 2, 15), utc(2024, 3, 15), utc(2024, 4, 15), utc(2024, 5, 15)]
    assert [w.end for w in paused] == [utc(2024, 2, 25), utc(2024, 3, 25), utc(2024, 4, 25), utc(2024, 5, 25)]
    assert paused[0].contains(utc(2024, 2, 1)) and paused[0].contains(utc(2024, 2, 10, 23))


def test_pause_longer_than_the_rest_of_the_period_and_two_pauses_in_one_period() -> None:
    start = utc(2024, 1, 15)
    one = subscription_windows(
        start, utc(2024, 4, 1), P.MONTHLY, 1, "UTC", pauses=[(utc(2024, 2, 10), utc(2024, 3, 1))]
    )
    assert [w.end for w in one] == [utc(2024, 3, 6), utc(2024, 4, 6)]
    # The second pause starts after the original end but inside the pushed one: it pushes again.
    two = subscription_windows(
        start,
        utc(2024, 3, 1),
        P.MONTHLY,
        1,
        "UTC",
        pauses=[(utc(2024, 2, 10), utc(2024, 2, 15)), (utc(2024, 2, 18), utc(2024, 2, 20))],
    )
    assert [w.end for w in two] == [utc(2024, 2, 22), utc(2024, 3, 22)]


def test_pause_across_dst_keeps_the_local_clock() -> None:
    windows = subscription_windows(
        ny(2024, 2, 15),
        ny(2024, 4, 10),
        P.MONTHLY,
        1,
        NY,
        pauses=[(ny(2024, 3, 1), ny(2024, 3, 21))],  # 20 local days, 479 elapsed hours
    )
    assert [w.end.astimezone(NY).strftime("%m-%d %H:%M") for w in windows] == ["04-04 00:00", "05-04 00:00"]


def test_pause_resuming_in_the_repeated_hour_still_ends_inside_its_window() -> None:
    # 01:10 EDT → 01:15 EST is 65 elapsed minutes but 5 wall-clock minutes; the window must still
    # end at or after the resume, not at 01:25 EDT (05:25Z), which is before it.
    windows = subscription_windows(
        ny(2024, 11, 2, 1, 20),
        ny(2024, 11, 3),
        P.DAILY,
        1,
        NY,
        pauses=[(utc(2024, 11, 3, 5, 10), utc(2024, 11, 3, 6, 15))],
    )
    assert windows[0].end == utc(2024, 11, 3, 6, 15)
    assert windows[0].contains(utc(2024, 11, 3, 6, 14))


def test_calendar_pause_returns_to_the_boundary_after_one_short_window() -> None:
    windows = subscription_windows(
        utc(2024, 1, 1),
        utc(2024, 4, 2),
        P.MONTHLY,
        1,
        "UTC",
        billing_cycle="calendar",
        pauses=[(utc(2024, 2, 5), utc(2024, 2, 15))],
    )
    assert [(w.start, w.end) for w in windows] == [
        (utc(2024, 1, 1), utc(2024, 2, 1)),
        (utc(2024, 2, 1), utc(2024, 3, 11)),
        (utc(2024, 3, 11), utc(2024, 4, 1)),
        (utc(2024, 4, 1), utc(2024, 5, 1)),
    ]


def test_pause_inside_the_trial_extends_the_trial() -> None:
    start = utc(2024, 1, 1)
    windows = subscription_windows(
        start,
        utc(2024, 2, 20),
        P.MONTHLY,
        1,
        "UTC",
        trial_end=utc(2024, 1, 15),
        pauses=[(utc(2024, 1, 5), utc(2024, 1, 8))],
    )
    assert [(w.start, w.end, w.is_trial) for w in windows] == [
        (start, utc(2024, 1, 18), True),
        (utc(2024, 1, 18), utc(2024, 2, 18), False),
        (utc(2024, 2, 18), utc(2024, 3, 18), False),
    ]


def test_cancel_truncates_the_window_that_contains_it_and_stops() -> None:
    windows = subscription_windows(
        utc(2024, 1, 31), utc(2025, 1, 1), P.MONTHLY, 1, "UTC", cancel_at=utc(2024, 3, 10, 12)
    )
    assert [(w.start, w.end) for w in windows] == [
        (utc(2024, 1, 31), utc(2024, 2, 29)),
        (utc(2024, 2, 29), utc(2024, 3, 10, 12)),
    ]


def test_cancel_on_a_boundary_and_at_start() -> None:
    on_boundary = subscription_windows(
        utc(2024, 1, 1), utc(2025, 1, 1), P.MONTHLY, 1, "UTC", cancel_at=utc(2024, 3, 1)
    )
    assert [w.end for w in on_boundary] == [utc(2024, 2, 1), utc(2024, 3, 1)]
    assert (
        subscription_windows(utc(2024, 1, 1), utc(2025, 1, 1), P.MONTHLY, 1, "UTC", cancel_at=utc(2024, 1, 1))
        == []
    )


def test_cancel_during_trial_truncates_the_trial_window() -> None:
    windows = subscription_windows(
        utc(2024, 1, 1),
        utc(2025, 1, 1),
        P.MONTHLY,
        1,
        "UTC",
        trial_end=utc(2024, 1, 15),
        cancel_at=utc(2024, 1, 10),
    )
    assert spans(windows) == [(utc(2024, 1, 1).isoformat(), utc(2024, 1, 10).isoformat(), True)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"trial_end": utc(2023, 12, 1)}, "trial_end"),
        ({"trial_end": datetime(2024, 2, 1)}, "trial_end"),
        ({"cancel_at": utc(2023, 12, 1)}, "cancel_at"),
        ({"billing_cycle": "fiscal"}, "billing_cycle"),
        ({"pauses": [(utc(2024, 2, 1), utc(2024, 2, 1))]}, "pauses.0"),
        ({"pauses": [(utc(2023, 12, 1), utc(2024, 2, 1))]}, "pauses.0"),
        ({"pauses": [(utc(2024, 2, 1), utc(2024, 2, 10)), (utc(2024, 2, 5), utc(2024, 2, 20))]}, "pauses.1"),
        ({"pauses": [(utc(2024, 2, 1), datetime(2024, 2, 10))]}, "pauses.0"),
        ({"tz": "Nowhere/Special"}, "tz"),
        ({"unit": 0}, "unit"),
        ({"period": "ONETIME"}, "period"),
    ],
)
def test_subscription_windows_rejects_bad_input(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "start": utc(2024, 1, 1),
        "until": utc(2024, 6, 1),
        "period": P.MONTHLY,
        "unit": 1,
        "tz": "UTC",
    }
    args.update(kwargs)
    with pytest.raises(InvalidPeriod) as err:
        subscription_windows(**args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_readme_worked_example() -> None:
    start = ist(2024, 1, 17, 14, 30)
    windows = subscription_windows(
        start,
        ist(2024, 6, 1),
        P.MONTHLY,
        1,
        KOLKATA,
        trial_end=trial_end(start, 14, KOLKATA),
        pauses=[(ist(2024, 3, 4), ist(2024, 3, 14))],
        cancel_at=ist(2024, 5, 20),
    )
    assert [(w.end, w.is_trial) for w in windows] == [
        (ist(2024, 1, 31, 14, 30), True),
        (ist(2024, 2, 29, 14, 30), False),
        (ist(2024, 4, 10, 14, 30), False),
        (ist(2024, 5, 10, 14, 30), False),
        (ist(2024, 5, 20), False),
    ]
