"""Usage per billing window from raw events, with the reference meter semantics (``billing.meters``).

This is the embedded fallback for the dbt model ``fct_period_usage``: the same rows, computed in
Python. The dbt models are tested against the same reference, so either source rates identically.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from flexprice_pipelines.billing.errors import QuantityOverflow
from flexprice_pipelines.billing.meters import (
    Event,
    Meter,
    aggregate,
    aggregate_buckets,
    deduplicate,
    event_matches,
)
from flexprice_pipelines.billing.rating.rate import UsageRow
from flexprice_pipelines.billing.rating.windows import UsageWindow


def compute_period_usage(
    windows: Iterable[UsageWindow], meters: Mapping[str, Meter], events: Iterable[Event]
) -> list[UsageRow]:
    """One ``UsageRow`` per window: the meter's aggregate over the customer's events in ``[start, end)``.

    ``event_count`` counts the de-duplicated events the meter matched in the window (name and filters),
    as ``fct_period_usage.event_count`` does; the reconciliation check recounts them from the raw rows.
    A value outside DECIMAL(38, 18) is left out, as the SQL engines leave it out (the check names it); a
    quantity outside it raises ``QuantityOverflow`` naming the meter, customer and window.
    """
    by_customer: dict[str, list[Event]] = defaultdict(list)
    for event in deduplicate(events):
        by_customer[str(event["external_customer_id"])].append(event)
    rows: list[UsageRow] = []
    for window in windows:
        meter = meters[window.meter_id]
        own = by_customer.get(window.external_customer_id, [])
        try:
            rows.append(_usage_row(window, meter, own))
        except QuantityOverflow as exc:
            raise QuantityOverflow(
                f"{exc.message} for meter {window.meter_id}, customer {window.external_customer_id}, "
                f"window {window.window_start.isoformat()} – {window.window_end.isoformat()}",
                field=exc.field,
            ) from exc
    return rows


def _usage_row(window: UsageWindow, meter: Meter, events: Sequence[Event]) -> UsageRow:
    start, end = window.window_start, window.window_end
    return UsageRow(
        window_id=window.window_id,
        quantity=aggregate(meter, events, start, end),
        event_count=matched_events(meter, events, start, end),
        buckets=tuple(value for _, value in aggregate_buckets(meter, events, start, end))
        if meter.aggregation.bucket_size is not None
        else None,
    )


def matched_events(meter: Meter, events: Iterable[Event], start: datetime, end: datetime) -> int:
    """How many (already de-duplicated) events the meter matches in ``[start, end)``."""
    return sum(1 for e in events if event_matches(meter, e) and start <= _ts(e["timestamp"]) < end)


def _ts(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"event timestamp must be a datetime, not {type(value).__name__}")
    return value
