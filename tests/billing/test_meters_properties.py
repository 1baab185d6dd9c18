"""Property tests of the reference meter aggregation on random events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.meters import (
    AggregationType,
    BucketSize,
    Meter,
    aggregate,
    aggregate_buckets,
    bucket_start,
    deduplicate,
)

EXAMPLES = settings(max_examples=150, deadline=None)

ORIGIN = datetime(2024, 2, 27, tzinfo=UTC)
HORIZON = timedelta(days=5)

# Coarse moments make timestamp ties (LATEST, de-dup tie-breaks) common.
moments = st.one_of(
    st.integers(min_value=0, max_value=int(HORIZON.total_seconds()) * 1000).map(
        lambda ms: ORIGIN + timedelta(milliseconds=ms)
    ),
    st.integers(min_value=0, max_value=HORIZON.days * 24).map(lambda h: ORIGIN + timedelta(hours=h)),
)
values = st.one_of(
    st.integers(min_value=-50, max_value=1000),
    st.decimals(min_value=-50, max_value=1000, places=3, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=100, places=2).map(str),
    st.sampled_from([None, True, "abc", "", "1e2"]),
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    properties: dict[str, Any] = {"model": draw(st.sampled_from(["gpt-4", "o1", 200, True]))}
    if draw(st.booleans()) or draw(st.booleans()):
        properties["tokens"] = draw(values)
    timestamp = draw(moments)
    return {
        "event_id": draw(st.sampled_from([f"e{i}" for i in range(12)])),
        "event_name": draw(st.sampled_from(["api_call", "api_call", " api_call", "other"])),
        "external_customer_id": "cust-1",
        "timestamp": timestamp,
        "properties": properties,
        # Few distinct ingestion times, so versions of one id often tie on ingested_at.
        "ingested_at": ORIGIN + HORIZON + timedelta(hours=draw(st.integers(min_value=0, max_value=3))),
    }


event_lists = st.lists(events(), max_size=25)


@st.composite
def windows(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start, end = sorted([draw(moments), draw(moments)])
    return start, end


filter_sets = st.sampled_from(
    [
        [],
        [{"key": "model", "values": ["gpt-4", "200"]}],
        [{"key": "model", "values": ["o1", "true"]}],
    ]
)


def make_meter(
    kind: AggregationType, filters: list[dict[str, Any]], bucket: BucketSize | None = None
) -> Meter:
    aggregation: dict[str, Any] = {"type": kind.value, "field": "tokens", "multiplier": "2.5"}
    if bucket is not None:
        aggregation["bucket_size"] = bucket.value
    return Meter.model_validate({"event_name": "api_call", "aggregation": aggregation, "filters": filters})


@EXAMPLES
@given(
    kind=st.sampled_from(list(AggregationType)),
    filters=filter_sets,
    batch=event_lists,
    window=windows(),
    data=st.data(),
)
def test_aggregate_is_invariant_to_event_order(
    kind: AggregationType,
    filters: list[dict[str, Any]],
    batch: list[dict[str, Any]],
    window: tuple[datetime, datetime],
    data: st.DataObject,
) -> None:
    meter = make_meter(kind, filters)
    shuffled = data.draw(st.permutations(batch))
    assert aggregate(meter, shuffled, *window) == aggregate(meter, batch, *window)


@EXAMPLES
@given(batch=event_lists, data=st.data())
def test_deduplicate_picks_the_same_versions_in_any_order(
    batch: list[dict[str, Any]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(batch))
    by_id = {event["event_id"]: event for event in deduplicate(batch)}
    assert {event["event_id"]: event for event in deduplicate(shuffled)} == by_id
    assert set(by_id) == {event["event_id"] for event in batch}
    for event in batch:
        assert event["ingested_at"] <= by_id[event["event_id"]]["ingested_at"]


@EXAMPLES
@given(
    kind=st.sampled_from(list(AggregationType)),
    filters=filter_sets,
    batch=event_lists.filter(bool),
    window=windows(),
    data=st.data(),
)
def test_resending_an_identical_event_later_changes_nothing(
    kind: AggregationType,
    filters: list[dict[str, Any]],
    batch: list[dict[str, Any]],
    window: tuple[datetime, datetime],
    data: st.DataObject,
) -> None:
    meter = make_meter(kind, filters)
    current = data.draw(st.sampled_from(deduplicate(batch)))
    resent = {**current, "ingested_at": max(e["ingested_at"] for e in batch) + timedelta(seconds=1)}
    copies = data.draw(st.integers(min_value=1, max_value=3))
    assert aggregate(meter, [*batch, *[resent] * copies], *window) == aggregate(meter, batch, *window)


@EXAMPLES
@given(filters=filter_sets, batch=event_lists, window=windows())
def test_count_bounds_count_unique(
    filters: list[dict[str, Any]], batch: list[dict[str, Any]], window: tuple[datetime, datetime]
) -> None:
    count = aggregate(make_meter(AggregationType.COUNT, filters), batch, *window)
    unique = aggregate(make_meter(AggregationType.COUNT_UNIQUE, filters), batch, *window)
    assert count is not None and unique is not None
    assert count >= unique >= 0


@EXAMPLES
@given(filters=filter_sets, batch=event_lists, window=windows())
def test_min_avg_max_are_ordered_and_absent_together(
    filters: list[dict[str, Any]], batch: list[dict[str, Any]], window: tuple[datetime, datetime]
) -> None:
    low, mean, high, latest = (
        aggregate(make_meter(kind, filters), batch, *window)
        for kind in (AggregationType.MIN, AggregationType.AVG, AggregationType.MAX, AggregationType.LATEST)
    )
    if low is None:
        assert mean is None and high is None and latest is None
    else:
        assert mean is not None and high is not None and latest is not None
        assert low <= mean <= high
        assert low <= latest <= high


@EXAMPLES
@given(
    bucket=st.sampled_from(list(BucketSize)),
    filters=filter_sets,
    batch=event_lists,
    window=windows(),
)
def test_buckets_partition_the_window(
    bucket: BucketSize,
    filters: list[dict[str, Any]],
    batch: list[dict[str, Any]],
    window: tuple[datetime, datetime],
) -> None:
    plain_sum = aggregate(make_meter(AggregationType.SUM, filters), batch, *window)
    sums = aggregate_buckets(make_meter(AggregationType.SUM, filters, bucket), batch, *window)
    assert sum((value for _, value in sums), Decimal(0)) == (plain_sum or 0)
    assert (plain_sum is None) == (sums == [])

    plain_max = aggregate(make_meter(AggregationType.MAX, filters), batch, *window)
    maxima = aggregate_buckets(make_meter(AggregationType.MAX, filters, bucket), batch, *window)
    assert max((value for _, value in maxima), default=None) == plain_max

    starts = [moment for moment, _ in sums]
    assert starts == sorted(set(starts))
    for moment in starts:
        assert window[0] <= moment < window[1]
        assert moment == window[0] or bucket_start(bucket, moment) == moment


@EXAMPLES
@given(
    kind=st.sampled_from([AggregationType.COUNT, AggregationType.SUM]),
    filters=filter_sets,
    batch=event_lists,
    cuts=st.lists(moments, min_size=3, max_size=3).map(sorted),
)
def test_adjacent_windows_add_up(
    kind: AggregationType, filters: list[dict[str, Any]], batch: list[dict[str, Any]], cuts: list[datetime]
) -> None:
    meter = make_meter(kind, filters)
    start, middle, end = cuts
    parts = [aggregate(meter, batch, start, middle), aggregate(meter, batch, middle, end)]
    whole = aggregate(meter, batch, start, end)
    assert sum((p for p in parts if p is not None), Decimal(0)) == (whole or 0)
