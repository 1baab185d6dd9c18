"""Reference meter aggregation on hand-computed examples (docs/billing-semantics.md §1–§2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from flexprice_pipelines.billing.errors import InvalidMeter, InvalidPeriod, QuantityOverflow
from flexprice_pipelines.billing.meters import (
    Aggregation,
    AggregationType,
    BucketSize,
    Meter,
    ResetUsage,
    aggregate,
    aggregate_buckets,
    billable_quantity,
    bucket_start,
    deduplicate,
    event_matches,
    event_value,
    fits_quantity,
    property_string,
    uncountable_value,
)

DAY_START = datetime(2024, 3, 1, tzinfo=UTC)
DAY_END = datetime(2024, 3, 2, tzinfo=UTC)


def at(hour: float, day: datetime = DAY_START) -> datetime:
    return day + timedelta(hours=hour)


def event(
    event_id: str,
    timestamp: datetime,
    properties: dict[str, Any] | None = None,
    *,
    name: str = "api_call",
    ingested_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_name": name,
        "external_customer_id": "cust-1",
        "timestamp": timestamp,
        "properties": properties if properties is not None else {},
        "ingested_at": ingested_at or timestamp + timedelta(seconds=1),
    }


def meter(
    kind: str,
    field: str | None = "tokens",
    *,
    filters: list[dict[str, Any]] | None = None,
    multiplier: str | None = None,
    bucket_size: str | None = None,
) -> Meter:
    aggregation: dict[str, Any] = {"type": kind, "field": field}
    if multiplier is not None:
        aggregation["multiplier"] = multiplier
    if bucket_size is not None:
        aggregation["bucket_size"] = bucket_size
    return Meter.model_validate(
        {"event_name": "api_call", "aggregation": aggregation, "filters": filters or []}
    )


# One day of traffic; see each aggregation's expected value below for the arithmetic.
DAY_EVENTS = [
    event("e1", at(0), {"tokens": 10, "model": "gpt-4"}),  # exactly at start: counted
    event("e2", at(6), {"tokens": "20.5", "model": "o1"}),
    event("e3", at(12), {"tokens": 5.5, "model": "gpt-4"}),
    event("e4", at(18), {"model": "o1"}),  # no value
    event("e7", at(23), {"tokens": "abc", "model": "x"}),  # non-numeric: no value
    event("e5", DAY_END, {"tokens": 1000, "model": "o1"}),  # exactly at end: not counted
    event("e6", at(3), {"tokens": 99, "model": "o1"}, name="other"),  # other event name
]


@pytest.mark.parametrize(
    ("kind", "field", "multiplier", "expected"),
    [
        ("COUNT", None, None, Decimal(5)),  # e1 e2 e3 e4 e7
        ("SUM", "tokens", None, Decimal("36")),  # 10 + 20.5 + 5.5
        ("SUM_WITH_MULTIPLIER", "tokens", "1000", Decimal("36000")),
        ("AVG", "tokens", None, Decimal("12")),  # 36 / 3 values
        ("MAX", "tokens", None, Decimal("20.5")),
        ("MIN", "tokens", None, Decimal("5.5")),
        ("COUNT_UNIQUE", "model", None, Decimal(3)),  # gpt-4, o1, x
        ("COUNT_UNIQUE", "tokens", None, Decimal(4)),  # "10", "20.5", "5.5", "abc"
        ("LATEST", "tokens", None, Decimal("5.5")),  # e7 and e4 have no value; e3 is next newest
        # 10 × 24/24 + 20.5 × 18/24 + 5.5 × 12/24 = 10 + 15.375 + 2.75
        ("WEIGHTED_SUM", "tokens", None, Decimal("28.125")),
    ],
)
def test_every_aggregation_type_on_one_day(
    kind: str, field: str | None, multiplier: str | None, expected: Decimal
) -> None:
    m = meter(kind, field, multiplier=multiplier)
    assert aggregate(m, DAY_EVENTS, DAY_START, DAY_END) == expected


def test_day_example_with_a_filter_and_a_moved_event() -> None:
    gpt4 = meter("SUM", filters=[{"key": "model", "values": ["gpt-4"]}])
    assert aggregate(gpt4, DAY_EVENTS, DAY_START, DAY_END) == Decimal("15.5")
    moved = event("e3", at(1, DAY_END), {"tokens": 5.5, "model": "gpt-4"}, ingested_at=at(2, DAY_END))
    assert aggregate(meter("SUM"), [*DAY_EVENTS, moved], DAY_START, DAY_END) == Decimal("30.5")
    next_day = aggregate(meter("SUM"), [*DAY_EVENTS, moved], DAY_END, DAY_END + timedelta(days=1))
    assert next_day == Decimal("1005.5")  # e5 at the boundary belongs to the next day too


def test_enums_use_flexprice_spellings() -> None:
    assert [size.value for size in BucketSize] == [
        "MINUTE",
        "15MIN",
        "30MIN",
        "HOUR",
        "3HOUR",
        "6HOUR",
        "12HOUR",
        "DAY",
        "WEEK",
        "MONTH",
    ]
    assert {member.value for member in AggregationType} == {
        "COUNT",
        "SUM",
        "SUM_WITH_MULTIPLIER",
        "AVG",
        "MAX",
        "MIN",
        "COUNT_UNIQUE",
        "LATEST",
        "WEIGHTED_SUM",
    }


def test_count_counts_events_without_the_field() -> None:
    events = [event("a", at(1), {}), event("b", at(2), {"tokens": None})]
    assert aggregate(meter("COUNT", None), events, DAY_START, DAY_END) == 2
    assert aggregate(meter("SUM"), events, DAY_START, DAY_END) is None


def test_weighted_sum_uses_sub_second_durations() -> None:
    start = DAY_START
    end = start + timedelta(seconds=4)
    events = [event("a", start + timedelta(seconds=1, milliseconds=500), {"tokens": 8})]
    # 8 × 2.5 s / 4 s; whole-second truncation would give 8 × 2 / 4 or 8 × 3 / 4.
    assert aggregate(meter("WEIGHTED_SUM"), events, start, end) == Decimal(5)


def test_avg_of_thirds_is_rounded_to_eighteen_decimals() -> None:
    events = [
        event("a", at(1), {"tokens": 1}),
        event("b", at(2), {"tokens": 0}),
        event("c", at(3), {"tokens": "0"}),
    ]
    assert aggregate(meter("AVG"), events, DAY_START, DAY_END) == Decimal("0." + "3" * 18)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.01", "1.02"], "1.015"),  # exact: a double gives 1.014999999999999872
        (["2", "0", "0"], "0.666666666666666667"),  # half away from zero at the 18th decimal
        (["-2", "0", "0"], "-0.666666666666666667"),
        (["0.000000000000000001", "0"], "0.000000000000000001"),  # 0.5e-18 rounds away from zero
        (["-0.000000000000000001", "0"], "-0.000000000000000001"),
        (["0.000000000000000001", "0", "0"], "0"),  # 0.33e-18
        (["99999999999999999999.999999999999999999"] * 2, "99999999999999999999.999999999999999999"),
        (
            ["-99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999", "1"],
            "0.333333333333333333",
        ),
    ],
)
def test_avg_is_exact_then_rounded_half_away_from_zero(values: list[str], expected: str) -> None:
    events = [event(f"e{n}", at(1), {"tokens": value}) for n, value in enumerate(values)]
    assert aggregate(meter("AVG"), events, DAY_START, DAY_END) == Decimal(expected)


def test_sum_with_multiplier_keeps_eighteen_decimals_of_the_product() -> None:
    events = [event("a", at(1), {"tokens": "123.4567890123456789"})]
    # 246.9135780246913578 exactly (the old SQL cut the sum to 12 decimals: 246.913578024692)
    assert aggregate(meter("SUM_WITH_MULTIPLIER", multiplier="2"), events, DAY_START, DAY_END) == Decimal(
        "246.9135780246913578"
    )
    events = [event("a", at(1), {"tokens": "0.000000000000000001"})]
    # 0.0000000000000000025 rounds half away from zero
    assert aggregate(meter("SUM_WITH_MULTIPLIER", multiplier="2.5"), events, DAY_START, DAY_END) == Decimal(
        "0.000000000000000003"
    )


def test_weighted_sum_of_a_third_of_the_window_is_rounded_to_eighteen_decimals() -> None:
    events = [event("a", at(16), {"tokens": "1"})]  # held 8 h of 24
    assert aggregate(meter("WEIGHTED_SUM"), events, DAY_START, DAY_END) == Decimal("0.333333333333333333")
    events = [event("a", at(8), {"tokens": "-1"})]  # held 16 h of 24
    assert aggregate(meter("WEIGHTED_SUM"), events, DAY_START, DAY_END) == Decimal("-0.666666666666666667")


@pytest.mark.parametrize(
    "value",
    [
        "1e400",
        "-1e30",
        "1e20",
        "100000000000000000000",
        "0.1234567890123456789",
        "1e-19",
        Decimal("1E+999999999999999999"),
        Decimal("-1E+30"),
        10**20,
    ],
)
def test_a_value_outside_decimal_38_18_is_not_counted_and_is_reported(value: object) -> None:
    sum_meter = meter("SUM")
    bad = event("bad", at(1), {"tokens": value})
    events = [event("ok", at(2), {"tokens": 5}), bad]
    assert event_value(sum_meter, bad) is None
    assert uncountable_value(sum_meter, bad) is not None
    assert uncountable_value(sum_meter, events[0]) is None
    assert aggregate(sum_meter, events, DAY_START, DAY_END) == Decimal(5)
    # a meter that reads no number is not concerned
    assert uncountable_value(meter("COUNT_UNIQUE"), bad) is None


@pytest.mark.parametrize(
    "value",
    [
        "99999999999999999999.999999999999999999",
        "-99999999999999999999",
        "1.0000000000000000000000",
        "1E+19",
        "123456789012345678901234567890e-18",
        "0e999999999999",
        "0.000000000000000001",
    ],
)
def test_a_value_at_the_edge_of_decimal_38_18_counts(value: str) -> None:
    assert fits_quantity(Decimal(value))
    assert event_value(meter("SUM"), event("a", at(1), {"tokens": value})) == Decimal(value)


def test_a_result_outside_decimal_38_18_raises_quantity_overflow() -> None:
    events = [event(f"e{n}", at(1), {"tokens": "60000000000000000000"}) for n in range(2)]
    with pytest.raises(QuantityOverflow):
        aggregate(meter("SUM"), events, DAY_START, DAY_END)
    with pytest.raises(QuantityOverflow):
        aggregate(meter("SUM_WITH_MULTIPLIER", multiplier="2"), events[:1], DAY_START, DAY_END)
    # the sum is exact at any size; only the result must fit
    assert aggregate(meter("AVG"), events, DAY_START, DAY_END) == Decimal("60000000000000000000")


def test_a_multiplier_must_be_a_decimal_38_18() -> None:
    for multiplier in ("0.0000000000000000001", "100000000000000000000"):
        with pytest.raises(InvalidMeter) as info:
            meter("SUM_WITH_MULTIPLIER", multiplier=multiplier)
        assert info.value.field == "aggregation.multiplier"


def test_latest_breaks_timestamp_ties_by_ingestion_time() -> None:
    same = at(5)
    events = [
        event("late", same, {"tokens": 7}, ingested_at=at(9)),
        event("early", same, {"tokens": 3}, ingested_at=at(6)),
        event("older", at(4), {"tokens": 100}, ingested_at=at(20)),
    ]
    assert aggregate(meter("LATEST"), events, DAY_START, DAY_END) == 7
    assert aggregate(meter("LATEST"), list(reversed(events)), DAY_START, DAY_END) == 7


def test_latest_breaks_full_ties_by_event_id() -> None:
    same = at(5)
    events = [
        event("b", same, {"tokens": 2}, ingested_at=at(6)),
        event("a", same, {"tokens": 1}, ingested_at=at(6)),
    ]
    assert aggregate(meter("LATEST"), events, DAY_START, DAY_END) == 2


def test_negative_values_sum_and_floor_only_when_billed() -> None:
    events = [event("a", at(1), {"tokens": "-5"}), event("b", at(2), {"tokens": 2})]
    usage = aggregate(meter("SUM"), events, DAY_START, DAY_END)
    assert usage == Decimal(-3)
    assert billable_quantity(usage) == 0


# --- filters --------------------------------------------------------------------------------------

FILTER_EVENTS = [
    event("a", at(1), {"tokens": 1, "model": "gpt-4", "status": 200, "cached": True}),
    event("b", at(2), {"tokens": 2, "model": "o1", "status": "200", "cached": False}),
    event("c", at(3), {"tokens": 4, "model": "o1", "status": 500}),
    event("d", at(4), {"tokens": 8, "status": 200}),
    event("e", at(5), {"tokens": 16, "model": None, "status": 200.0}),
]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([], Decimal(31)),
        ([{"key": "model", "values": ["gpt-4"]}], Decimal(1)),
        ([{"key": "model", "values": ["gpt-4", "o1"]}], Decimal(7)),  # OR across values
        ([{"key": "status", "values": ["200"]}], Decimal(11)),  # int 200 and "200"; not 200.0
        ([{"key": "status", "values": ["200.0"]}], Decimal(16)),  # a float keeps its ".0"
        ([{"key": "cached", "values": ["true"]}], Decimal(1)),
        ([{"key": "cached", "values": ["false"]}], Decimal(2)),
        ([{"key": "cached", "values": ["True", "1"]}], None),  # only the JSON literal
        # AND across filters
        ([{"key": "model", "values": ["o1"]}, {"key": "status", "values": ["200", "500"]}], Decimal(6)),
        ([{"key": "model", "values": ["o1"]}, {"key": "status", "values": ["500"]}], Decimal(4)),
        # a missing or null property never matches, not even an empty-string value
        ([{"key": "model", "values": ["", "None", "null"]}], None),
        ([{"key": "region", "values": ["eu"]}], None),
    ],
)
def test_filters(filters: list[dict[str, Any]], expected: Decimal | None) -> None:
    assert aggregate(meter("SUM", filters=filters), FILTER_EVENTS, DAY_START, DAY_END) == expected


def test_event_name_is_trimmed_and_case_sensitive() -> None:
    m = Meter.model_validate({"event_name": "  api_call ", "aggregation": {"type": "COUNT"}})
    assert m.event_name == "api_call"
    assert event_matches(m, event("a", at(1), name=" api_call\t"))
    assert not event_matches(m, event("b", at(1), name="API_CALL"))
    assert not event_matches(m, {"event_id": "c", "timestamp": at(1), "properties": {}})


def test_filter_values_are_not_trimmed() -> None:
    m = meter("COUNT", None, filters=[{"key": " model ", "values": ["gpt-4"]}])
    assert m.filters[0].key == "model"
    assert event_matches(m, event("a", at(1), {"model": "gpt-4"}))
    assert not event_matches(m, event("b", at(1), {"model": " gpt-4"}))


def test_event_without_properties_only_matches_a_meter_without_filters() -> None:
    bare = {"event_id": "a", "event_name": "api_call", "timestamp": at(1), "properties": None}
    assert event_matches(meter("COUNT", None), bare)
    assert not event_matches(meter("COUNT", None, filters=[{"key": "k", "values": ["v"]}]), bare)


# --- string forms and values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("gpt-4", "gpt-4"),
        (" spaced ", " spaced "),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (200, "200"),
        (-7, "-7"),
        (0, "0"),
        (Decimal("1.50"), "1.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("2.5E-3"), "0.0025"),
        (Decimal("-0"), "-0"),
        (1.5, "1.5"),
        (1.0, "1.0"),
        (0.1, "0.1"),
        (1e16, "10000000000000000"),
        (1e-7, "0.0000001"),
        (None, None),
        (float("nan"), None),
        (float("inf"), None),
        (Decimal("NaN"), None),
        (Decimal("-Infinity"), None),
        ({"a": 1}, None),
        ([1, 2], None),
    ],
)
def test_property_string(value: object, expected: str | None) -> None:
    assert property_string(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, Decimal(5)),
        (-3, Decimal(-3)),
        (Decimal("0.125"), Decimal("0.125")),
        (2.5, Decimal("2.5")),
        (0.1, Decimal("0.1")),  # the shortest repr, not the binary expansion
        ("12.5", Decimal("12.5")),
        ("-1.5", Decimal("-1.5")),
        ("+4", Decimal(4)),
        ("2e3", Decimal(2000)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        (True, None),
        (False, None),
        (None, None),
        ("abc", None),
        ("", None),
        (" 12", None),
        ("12 ", None),
        ("1_000", None),
        ("1,5", None),
        ("٣", None),  # Arabic-Indic three: Decimal() would accept it, SQL would not
        ("NaN", None),
        ("Infinity", None),
        ("0x10", None),
        (float("nan"), None),
        (float("-inf"), None),
        (Decimal("sNaN"), None),
        ({"v": 1}, None),
        ([1], None),
    ],
)
def test_event_value(value: object, expected: Decimal | None) -> None:
    assert event_value(meter("SUM"), event("a", at(1), {"tokens": value})) == expected


def test_event_value_is_none_for_a_missing_field_or_a_count_meter() -> None:
    assert event_value(meter("SUM"), event("a", at(1), {"other": 1})) is None
    assert event_value(meter("COUNT", None), event("a", at(1), {"tokens": 1})) is None


def test_count_unique_compares_string_forms() -> None:
    events = [
        event("a", at(1), {"user": 1}),
        event("b", at(2), {"user": "1"}),
        event("c", at(3), {"user": Decimal("1.0")}),
        event("d", at(4), {"user": True}),
        event("e", at(5), {"user": "true"}),
        event("f", at(6), {"user": None}),
        event("g", at(7), {}),
    ]
    # "1" (a, b), "1.0" (c), "true" (d, e); null and missing are not values
    assert aggregate(meter("COUNT_UNIQUE", "user"), events, DAY_START, DAY_END) == 3


# --- de-duplication -------------------------------------------------------------------------------


def test_latest_ingested_version_wins_even_with_an_earlier_timestamp() -> None:
    events = [
        event("x", at(10), {"tokens": 5}, ingested_at=at(10)),
        event("x", at(2), {"tokens": 7}, ingested_at=at(11)),
        event("y", at(3), {"tokens": 1}),
    ]
    assert aggregate(meter("SUM"), events, DAY_START, DAY_END) == 8
    assert aggregate(meter("COUNT", None), events, DAY_START, DAY_END) == 2
    assert aggregate(meter("LATEST"), events, DAY_START, DAY_END) == 1  # y at 03:00 is newest now
    assert aggregate(meter("SUM"), events, DAY_START, at(5)) == 8


def test_ingestion_order_not_input_order_decides() -> None:
    newer = event("x", at(2), {"tokens": 7}, ingested_at=at(11))
    older = event("x", at(10), {"tokens": 5}, ingested_at=at(10))
    assert deduplicate([newer, older]) == [newer]
    assert deduplicate([older, newer]) == [newer]


def test_resent_id_moving_out_of_the_window_no_longer_counts_there() -> None:
    events = [
        event("x", at(10), {"tokens": 5}, ingested_at=at(10)),
        event("x", at(30), {"tokens": 5}, ingested_at=at(31)),  # moved to the next day
    ]
    assert aggregate(meter("SUM"), events, DAY_START, DAY_END) is None
    assert aggregate(meter("COUNT", None), events, DAY_START, DAY_END) == 0
    assert aggregate(meter("SUM"), events, DAY_END, DAY_END + timedelta(days=1)) == 5


def test_resent_id_with_another_name_no_longer_counts_for_the_meter() -> None:
    events = [
        event("x", at(10), {"tokens": 5}, ingested_at=at(10)),
        event("x", at(10), {"tokens": 5}, name="renamed", ingested_at=at(12)),
    ]
    assert aggregate(meter("COUNT", None), events, DAY_START, DAY_END) == 0


def test_resent_id_failing_a_filter_no_longer_counts() -> None:
    filtered = meter("SUM", filters=[{"key": "model", "values": ["o1"]}])
    events = [
        event("x", at(10), {"tokens": 5, "model": "o1"}, ingested_at=at(10)),
        event("x", at(10), {"tokens": 5, "model": "gpt-4"}, ingested_at=at(12)),
    ]
    assert aggregate(filtered, events, DAY_START, DAY_END) is None


def test_ingestion_ties_go_to_the_later_timestamp_then_the_content() -> None:
    first = event("x", at(1), {"tokens": 1}, ingested_at=at(20))
    second = event("x", at(2), {"tokens": 2}, ingested_at=at(20))
    assert deduplicate([second, first]) == [second]
    assert deduplicate([first, second]) == [second]
    small = event("y", at(1), {"tokens": 1}, ingested_at=at(20))
    large = event("y", at(1), {"tokens": 9}, ingested_at=at(20))
    assert deduplicate([small, large]) == deduplicate([large, small]) == [large]


def test_deduplicate_keeps_first_appearance_order_and_rejects_missing_ids() -> None:
    a, b = event("a", at(1)), event("b", at(2))
    assert deduplicate([b, a, b]) == [b, a]
    with pytest.raises(ValueError, match="event_id"):
        deduplicate([{"event_name": "api_call", "timestamp": at(1), "ingested_at": at(1)}])


# --- windows --------------------------------------------------------------------------------------


def test_half_open_window_edges() -> None:
    events = [
        event("start", DAY_START, {"tokens": 1}),
        event("before", DAY_START - timedelta(microseconds=1), {"tokens": 10}),
        event("last", DAY_END - timedelta(microseconds=1), {"tokens": 100}),
        event("end", DAY_END, {"tokens": 1000}),
    ]
    assert aggregate(meter("SUM"), events, DAY_START, DAY_END) == 101
    assert aggregate(meter("COUNT", None), events, DAY_START, DAY_END) == 2


def test_window_bounds_in_another_time_zone_are_the_same_instants() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    events = [event("a", at(0), {"tokens": 1}), event("b", at(23), {"tokens": 2})]
    assert aggregate(meter("SUM"), events, DAY_START.astimezone(ist), DAY_END.astimezone(ist)) == 3


@pytest.mark.parametrize("kind", [t.value for t in AggregationType])
def test_empty_window(kind: str) -> None:
    m = meter(kind, multiplier="2")
    expected = Decimal(0) if kind in {"COUNT", "COUNT_UNIQUE"} else None
    outside = [event("a", DAY_END, {"tokens": 1})]
    assert aggregate(m, [], DAY_START, DAY_END) == expected
    assert aggregate(m, outside, DAY_START, DAY_END) == expected
    assert aggregate(m, [event("b", DAY_START, {"tokens": 1})], DAY_START, DAY_START) == expected


def test_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidPeriod) as caught:
        aggregate(meter("SUM"), [], DAY_END, DAY_START)
    assert caught.value.field == "start"


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2024, 3, 1)
    with pytest.raises(TypeError, match="timezone-aware"):
        aggregate(meter("SUM"), [], naive, DAY_END)
    with pytest.raises(TypeError, match="timezone-aware"):
        aggregate(meter("SUM"), [event("a", naive)], DAY_START, DAY_END)


def test_billable_quantity() -> None:
    assert billable_quantity(None) == 0
    assert billable_quantity(Decimal("-0.5")) == 0
    assert billable_quantity(Decimal("0")) == 0
    assert billable_quantity(Decimal("3.25")) == Decimal("3.25")


# --- buckets --------------------------------------------------------------------------------------

HOURLY_START = at(10.5)  # 10:30, not on an hour boundary
HOURLY_END = at(13.25)  # 13:15
HOURLY_EVENTS = [
    event("early", at(10) + timedelta(minutes=29), {"tokens": 50}),  # before the window
    event("a", at(10) + timedelta(minutes=45), {"tokens": 2}),
    event("b", at(10) + timedelta(minutes=50), {"tokens": 3}),
    event("c", at(11) + timedelta(minutes=10), {"tokens": 5}),
    event("d", at(12) + timedelta(minutes=59), {"tokens": 1}),
    event("e", at(13) + timedelta(minutes=10), {"tokens": 4}),
    event("f", at(13) + timedelta(minutes=12), {"model": "no value"}),
    event("g", HOURLY_END, {"tokens": 70}),  # at the end: excluded
]


def test_hourly_sum_buckets_clip_to_an_unaligned_window() -> None:
    m = meter("SUM", bucket_size="HOUR")
    buckets = aggregate_buckets(m, HOURLY_EVENTS, HOURLY_START, HOURLY_END)
    assert buckets == [
        (at(10.5), Decimal(5)),
        (at(11), Decimal(5)),
        (at(12), Decimal(1)),
        (at(13), Decimal(4)),
    ]
    assert aggregate(m, HOURLY_EVENTS, HOURLY_START, HOURLY_END) == 15


def test_hourly_max_buckets_and_their_total() -> None:
    m = meter("MAX", bucket_size="HOUR")
    buckets = aggregate_buckets(m, HOURLY_EVENTS, HOURLY_START, HOURLY_END)
    assert buckets == [
        (at(10.5), Decimal(3)),
        (at(11), Decimal(5)),
        (at(12), Decimal(1)),
        (at(13), Decimal(4)),
    ]
    # Flexprice's total for a bucketed MAX meter is Σ of the bucket maxima, not the window max.
    assert aggregate(m, HOURLY_EVENTS, HOURLY_START, HOURLY_END) == 13
    assert aggregate(meter("MAX"), HOURLY_EVENTS, HOURLY_START, HOURLY_END) == 5


def test_daily_buckets_over_an_unaligned_window() -> None:
    start, end = at(12), at(6, DAY_END + timedelta(days=1))  # 03-01 12:00 → 03-03 06:00
    events = [
        event("a", at(13), {"tokens": 4}),
        event("b", at(20), {"tokens": 9}),
        event("c", at(1, DAY_END), {"tokens": 2}),
        event("d", at(5, DAY_END + timedelta(days=1)), {"tokens": 6}),
        event("e", at(7, DAY_END + timedelta(days=1)), {"tokens": 100}),  # after the window
    ]
    assert aggregate_buckets(meter("MAX", bucket_size="DAY"), events, start, end) == [
        (at(12), Decimal(9)),
        (DAY_END, Decimal(2)),
        (DAY_END + timedelta(days=1), Decimal(6)),
    ]
    assert aggregate_buckets(meter("SUM", bucket_size="DAY"), events, start, end) == [
        (at(12), Decimal(13)),
        (DAY_END, Decimal(2)),
        (DAY_END + timedelta(days=1), Decimal(6)),
    ]


def test_buckets_without_a_value_are_left_out() -> None:
    events = [event("a", at(1), {"model": "x"}), event("b", at(3), {"tokens": 2})]
    assert aggregate_buckets(meter("SUM", bucket_size="HOUR"), events, DAY_START, DAY_END) == [
        (at(3), Decimal(2))
    ]
    assert aggregate_buckets(meter("SUM", bucket_size="HOUR"), events[:1], DAY_START, DAY_END) == []
    assert aggregate(meter("SUM", bucket_size="HOUR"), events[:1], DAY_START, DAY_END) is None


def test_bucket_starts_are_reported_in_utc() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    buckets = aggregate_buckets(
        meter("SUM", bucket_size="DAY"),
        [event("a", at(2), {"tokens": 1})],
        DAY_START.astimezone(ist),
        DAY_END.astimezone(ist),
    )
    assert buckets == [(DAY_START, Decimal(1))]
    assert buckets[0][0].utcoffset() == timedelta(0)


def test_aggregate_buckets_needs_a_bucketed_meter() -> None:
    with pytest.raises(InvalidMeter) as caught:
        aggregate_buckets(meter("SUM"), [], DAY_START, DAY_END)
    assert caught.value.field == "aggregation.bucket_size"


@pytest.mark.parametrize(
    ("size", "moment", "expected"),
    [
        (
            "MINUTE",
            datetime(2024, 3, 6, 10, 44, 59, 999999, tzinfo=UTC),
            datetime(2024, 3, 6, 10, 44, tzinfo=UTC),
        ),
        ("15MIN", datetime(2024, 3, 6, 10, 44, 59, tzinfo=UTC), datetime(2024, 3, 6, 10, 30, tzinfo=UTC)),
        ("30MIN", datetime(2024, 3, 6, 10, 30, tzinfo=UTC), datetime(2024, 3, 6, 10, 30, tzinfo=UTC)),
        ("HOUR", datetime(2024, 3, 6, 10, 59, tzinfo=UTC), datetime(2024, 3, 6, 10, tzinfo=UTC)),
        ("3HOUR", datetime(2024, 3, 6, 5, 59, tzinfo=UTC), datetime(2024, 3, 6, 3, tzinfo=UTC)),
        ("6HOUR", datetime(2024, 3, 6, 23, 59, tzinfo=UTC), datetime(2024, 3, 6, 18, tzinfo=UTC)),
        ("12HOUR", datetime(2024, 3, 6, 11, 59, tzinfo=UTC), datetime(2024, 3, 6, 0, tzinfo=UTC)),
        ("DAY", datetime(2024, 3, 6, 23, 59, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC)),
        # 2024-03-06 is a Wednesday; weeks start on Sunday (ClickHouse toStartOfWeek mode 0)
        ("WEEK", datetime(2024, 3, 6, 12, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC)),
        ("WEEK", datetime(2024, 3, 3, 0, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC)),
        ("WEEK", datetime(2024, 3, 2, 23, 59, tzinfo=UTC), datetime(2024, 2, 25, tzinfo=UTC)),
        ("MONTH", datetime(2024, 2, 29, 13, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)),
        # alignment is in UTC whatever the input's offset: 01:00+05:30 is 19:30 UTC the day before
        (
            "DAY",
            datetime(2024, 3, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            datetime(2024, 2, 29, tzinfo=UTC),
        ),
    ],
)
def test_bucket_start(size: str, moment: datetime, expected: datetime) -> None:
    assert bucket_start(BucketSize(size), moment) == expected


def test_month_buckets_run_to_the_first_of_the_next_month() -> None:
    start, end = datetime(2024, 1, 15, tzinfo=UTC), datetime(2024, 3, 15, tzinfo=UTC)
    events = [
        event("a", datetime(2024, 1, 31, 23, 59, tzinfo=UTC), {"tokens": 1}),
        event("b", datetime(2024, 2, 1, tzinfo=UTC), {"tokens": 2}),
        event("c", datetime(2024, 2, 29, 12, tzinfo=UTC), {"tokens": 3}),
        event("d", datetime(2024, 3, 14, tzinfo=UTC), {"tokens": 4}),
    ]
    assert aggregate_buckets(meter("SUM", bucket_size="MONTH"), events, start, end) == [
        (start, Decimal(1)),
        (datetime(2024, 2, 1, tzinfo=UTC), Decimal(5)),
        (datetime(2024, 3, 1, tzinfo=UTC), Decimal(4)),
    ]


# --- meter model and validation -------------------------------------------------------------------


def test_flexprice_meter_json_loads() -> None:
    raw = """{
        "id": "meter_01", "name": "Tokens", "event_name": " llm_usage ",
        "tenant_id": "t1", "environment_id": "env1", "status": "published",
        "created_at": "2025-01-01T00:00:00Z",
        "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": " tokens ", "multiplier": 0.001, "bucket_size": ""},
        "filters": [{"key": "model", "values": ["gpt-4", "o1"]}],
        "reset_usage": "NEVER"
    }"""
    m = Meter.model_validate_json(raw)
    assert m.id == "meter_01"
    assert m.event_name == "llm_usage"
    assert m.aggregation == Aggregation(
        type=AggregationType.SUM_WITH_MULTIPLIER, field="tokens", multiplier=Decimal("0.001")
    )
    assert m.filters[0].values == ("gpt-4", "o1")
    assert m.reset_usage is ResetUsage.NEVER


def test_meter_defaults() -> None:
    m = Meter.model_validate({"event_name": "e", "aggregation": {"type": "COUNT"}, "filters": None})
    assert m.filters == ()
    assert m.reset_usage is ResetUsage.BILLING_PERIOD
    assert m.aggregation.field is None


def test_bucket_size_on_sum_and_max() -> None:
    assert meter("SUM", bucket_size="15MIN").aggregation.bucket_size is BucketSize.FIFTEEN_MIN
    assert meter("MAX", bucket_size="WEEK").aggregation.bucket_size is BucketSize.WEEK


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"event_name": "  ", "aggregation": {"type": "COUNT"}}, "event_name"),
        ({"aggregation": {"type": "COUNT"}}, "event_name"),
        ({"event_name": "e"}, "aggregation"),
        ({"event_name": "e", "aggregation": {"type": "PERCENTILE"}}, "aggregation.type"),
        ({"event_name": "e", "aggregation": {"type": "SUM"}}, "aggregation.field"),
        ({"event_name": "e", "aggregation": {"type": "AVG", "field": "  "}}, "aggregation.field"),
        ({"event_name": "e", "aggregation": {"type": "MIN"}}, "aggregation.field"),
        ({"event_name": "e", "aggregation": {"type": "COUNT_UNIQUE"}}, "aggregation.field"),
        ({"event_name": "e", "aggregation": {"type": "LATEST"}}, "aggregation.field"),
        ({"event_name": "e", "aggregation": {"type": "WEIGHTED_SUM"}}, "aggregation.field"),
        (
            {"event_name": "e", "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "f"}},
            "aggregation.multiplier",
        ),
        (
            {
                "event_name": "e",
                "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "f", "multiplier": "0"},
            },
            "aggregation.multiplier",
        ),
        (
            {
                "event_name": "e",
                "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "f", "multiplier": "-2"},
            },
            "aggregation.multiplier",
        ),
        (
            {
                "event_name": "e",
                "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "f", "multiplier": "x"},
            },
            "aggregation.multiplier",
        ),
        (
            {"event_name": "e", "aggregation": {"type": "AVG", "field": "f", "bucket_size": "HOUR"}},
            "aggregation.bucket_size",
        ),
        (
            {"event_name": "e", "aggregation": {"type": "COUNT", "bucket_size": "DAY"}},
            "aggregation.bucket_size",
        ),
        (
            {"event_name": "e", "aggregation": {"type": "SUM", "field": "f", "bucket_size": "YEAR"}},
            "aggregation.bucket_size",
        ),
        (
            {"event_name": "e", "aggregation": {"type": "MAX", "field": "f", "group_by": "krn"}},
            "aggregation.group_by",
        ),
        (
            {"event_name": "e", "aggregation": {"type": "SUM", "expression": "a * b"}},
            "aggregation.expression",
        ),
        (
            {"event_name": "e", "aggregation": {"type": "COUNT"}, "filters": [{"key": " ", "values": ["v"]}]},
            "filters.0.key",
        ),
        (
            {
                "event_name": "e",
                "aggregation": {"type": "COUNT"},
                "filters": [{"key": "k", "values": ["v"]}, {"key": "k2", "values": []}],
            },
            "filters.1.values",
        ),
        (
            {"event_name": "e", "aggregation": {"type": "COUNT"}, "filters": [{"key": "k"}]},
            "filters.0.values",
        ),
        ({"event_name": "e", "aggregation": {"type": "COUNT"}, "reset_usage": "DAILY"}, "reset_usage"),
    ],
)
def test_invalid_meter_names_the_field(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidMeter) as caught:
        Meter.model_validate(raw)
    assert caught.value.field == field


def test_float_multiplier_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="float"):
        Meter.model_validate(
            {
                "event_name": "e",
                "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "f", "multiplier": 1.5},
            }
        )


def test_meters_are_immutable() -> None:
    m = meter("SUM")
    with pytest.raises(ValueError, match="frozen"):
        m.event_name = "other"  # type: ignore[misc]
