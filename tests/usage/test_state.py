"""WindowState arithmetic: removing a contribution is the exact inverse of adding it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.meters import Meter
from flexprice_pipelines.usage.state import MeterEvent, WindowState, fold, usage
from flexprice_pipelines.usage.windows import FOREVER, NEVER, WindowCalendar, WindowSpec

START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 4, 1, tzinfo=UTC)
TYPES = ["COUNT", "SUM", "AVG", "MIN", "MAX", "LATEST", "WEIGHTED_SUM"]

contributions = st.lists(
    st.tuples(
        st.integers(0, 60 * 24 * 30),
        st.one_of(st.none(), st.decimals(min_value=-50, max_value=50, places=3)),
    ),
    min_size=1,
    max_size=25,
)


def _events(raw: list[tuple[int, Decimal | None]]) -> list[MeterEvent]:
    return [
        MeterEvent(f"e{i}", "m", "c", START + timedelta(minutes=m), START + timedelta(seconds=i), v, None)
        for i, (m, v) in enumerate(raw)
    ]


@settings(max_examples=150, deadline=None)
@given(raw=contributions, drop=st.data())
def test_remove_is_the_inverse_of_add(raw: list[tuple[int, Decimal | None]], drop: st.DataObject) -> None:
    events = _events(raw)
    removed = drop.draw(st.sets(st.sampled_from(range(len(events)))))
    kept = [e for i, e in enumerate(events) if i not in removed]
    for kind in TYPES:
        meter = Meter.model_validate({"event_name": "x", "aggregation": {"type": kind, "field": "n"}})
        state = fold(meter, START, END, events)
        for index in sorted(removed):
            if state.remove(events[index]):
                state.recompute_extremes([e for i, e in enumerate(events) if i not in removed or i > index])
        assert usage(meter, state) == usage(meter, fold(meter, START, END, kept)), kind


def test_empty_window_is_no_usage_except_counts() -> None:
    state = WindowState(START, END)
    sum_meter = Meter.model_validate({"event_name": "x", "aggregation": {"type": "SUM", "field": "n"}})
    count_meter = Meter.model_validate({"event_name": "x", "aggregation": {"type": "COUNT"}})
    assert usage(sum_meter, state) is None
    assert usage(count_meter, state) == Decimal(0)


def test_calendar_windows() -> None:
    calendar = WindowCalendar()
    start = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)
    monthly = WindowSpec("s", "MONTHLY", start, start, "UTC", "MONTHLY")
    window = calendar.window_at(monthly, datetime(2024, 3, 5, tzinfo=UTC))
    assert window is not None and (window.start, window.end) == (
        datetime(2024, 2, 29, 9, 0, tzinfo=UTC),
        datetime(2024, 3, 31, 9, 0, tzinfo=UTC),
    )
    assert calendar.window_at(monthly, start - timedelta(seconds=1)) is None
    never = WindowSpec("s", NEVER, start, start, "UTC", "MONTHLY")
    cumulative = calendar.window_at(never, datetime(2030, 1, 1, tzinfo=UTC))
    assert cumulative is not None and (cumulative.start, cumulative.end) == (start, FOREVER)
    kolkata = WindowSpec("s", "DAILY", start, start, "Asia/Kolkata", "MONTHLY")
    daily = calendar.window_at(kolkata, datetime(2024, 2, 10, 8, 59, tzinfo=UTC))
    assert daily is not None and (daily.start, daily.end) == (
        datetime(2024, 2, 9, 9, 0, tzinfo=UTC),
        datetime(2024, 2, 10, 9, 0, tzinfo=UTC),
    )
