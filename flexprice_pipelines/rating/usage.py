"""Usage per billing window from raw events, with the reference meter semantics (``billing.meters``).

This is the embedded fallback for the dbt model ``fct_period_usage``: the same rows, computed in
Python. The dbt models are tested against the same reference, so either source rates identically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from flexprice_pipelines.billing.meters import (
    Event,
    Meter,
    aggregate,
    aggregate_buckets,
    deduplicate,
    event_matches,
)
from flexprice_pipelines.rating.rate import UsageRow
from flexprice_pipelines.rating.windows import UsageWindow


def compute_period_usage(
    windows: Iterable[UsageWindow], meters: Mapping[str, Meter], events: Iterable[Event]
) -> list[UsageRow]:
    """One ``UsageRow`` per window: the meter's aggregate over the customer's events in ``[start, end)``.

    ``event_count`` counts the de-duplicated events the meter matched in the window (name and filters),
    as ``fct_period_usage.event_count`` does; the reconciliation check recounts them from the raw rows.
    """
    by_customer: dict[str, list[Event]] = defaultdict(list)
    for event in deduplicate(events):
        by_customer[str(event["external_customer_id"])].append(event)
    rows: list[UsageRow] = []
    for window in windows:
        meter = meters[window.meter_id]
        own = by_customer.get(window.external_customer_id, [])
        rows.append(
            UsageRow(
                window_id=window.window_id,
                quantity=aggregate(meter, own, window.window_start, window.window_end),
                event_count=matched_events(meter, own, window.window_start, window.window_end),
                buckets=tuple(
                    value
                    for _, value in aggregate_buckets(meter, own, window.window_start, window.window_end)
                )
                if meter.aggregation.bucket_size is not None
                else None,
            )
        )
    return rows


def matched_events(meter: Meter, events: Iterable[Event], start: datetime, end: datetime) -> int:
    """How many (already de-duplicated) events the meter matches in ``[start, end)``."""
    return sum(1 for e in events if event_matches(meter, e) and start <= _ts(e["timestamp"]) < end)


def _ts(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"event timestamp must be a datetime, not {type(value).__name__}")
    return value
