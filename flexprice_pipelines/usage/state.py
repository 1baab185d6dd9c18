"""Running aggregates of one (customer, meter, window): add and remove one event's contribution.

Pure: no I/O. The updater keeps one ``WindowState`` per window row and the per-event rows it was
folded from; ``usage`` turns a state into the meter's quantity exactly as ``billing.meters.aggregate``
would over the same events. COUNT, SUM, SUM_WITH_MULTIPLIER, AVG, MIN, MAX, LATEST, COUNT_UNIQUE,
WEIGHTED_SUM and bucketed SUM / MAX are all exact: AVG and WEIGHTED_SUM keep their exact numerators
(Σ value, Σ value × µs to the window end) and divide once on read, in ``meters.ARITHMETIC``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from flexprice_pipelines.billing.meters import (
    ARITHMETIC,
    AggregationType,
    Meter,
    bucket_start,
    quantity_product,
    quantity_ratio,
)

ZERO = Decimal(0)


def microseconds(delta: timedelta) -> int:
    """Exact length of ``delta`` in microseconds."""
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class MeterEvent:
    """One event's contribution to one meter: the per-event row of the read model."""

    event_id: str
    meter_id: str
    external_customer_id: str
    timestamp: datetime
    ingested_at: datetime
    value: Decimal | None
    unique_value: str | None

    @property
    def latest_key(self) -> tuple[datetime, datetime, str]:
        """LATEST order: timestamp, then ingestion time, then id (as ``meters.aggregate``)."""
        return (self.timestamp, self.ingested_at, self.event_id)


@dataclass(slots=True)
class WindowState:
    """The aggregates of one window ``[start, end)``; counts of distinct values and bucket maxima
    live in their own rows (``unique_count`` and ``bucket_max_total`` are their summaries)."""

    start: datetime
    end: datetime
    event_count: int = 0
    value_count: int = 0
    value_sum: Decimal = ZERO
    weighted_sum: Decimal = ZERO
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    latest: tuple[datetime, datetime, str, Decimal] | None = None
    unique_count: int = 0
    bucket_max_total: Decimal | None = None

    def add(self, event: MeterEvent) -> None:
        """Count ``event`` in the window (its id must not be counted already)."""
        self.event_count += 1
        value = event.value
        if value is None:
            return
        with localcontext(ARITHMETIC):
            self.value_count += 1
            self.value_sum += value
            self.weighted_sum += value * microseconds(self.end - event.timestamp)
        if self.value_min is None or value < self.value_min:
            self.value_min = value
        if self.value_max is None or value > self.value_max:
            self.value_max = value
        if self.latest is None or event.latest_key > self.latest[:3]:
            self.latest = (*event.latest_key, value)

    def remove(self, event: MeterEvent) -> bool:
        """Take ``event``'s contribution back out; True when MIN, MAX or LATEST must be recomputed
        from the remaining events (the removed value was an extreme or the latest)."""
        self.event_count -= 1
        value = event.value
        if value is None:
            return False
        with localcontext(ARITHMETIC):
            self.value_count -= 1
            self.value_sum -= value
            self.weighted_sum -= value * microseconds(self.end - event.timestamp)
        if self.value_count == 0:
            self.value_sum = self.weighted_sum = ZERO
            self.value_min = self.value_max = self.latest = None
            return False
        return (
            value == self.value_min
            or value == self.value_max
            or (self.latest is not None and self.latest[2] == event.event_id)
        )

    def recompute_extremes(self, events: Iterable[MeterEvent]) -> None:
        """Reset MIN, MAX and LATEST from the window's remaining events."""
        self.value_min = self.value_max = self.latest = None
        for event in events:
            value = event.value
            if value is None:
                continue
            if self.value_min is None or value < self.value_min:
                self.value_min = value
            if self.value_max is None or value > self.value_max:
                self.value_max = value
            if self.latest is None or event.latest_key > self.latest[:3]:
                self.latest = (*event.latest_key, value)


def bucket_maxima(meter: Meter, events: Iterable[MeterEvent]) -> dict[datetime, Decimal]:
    """Per-bucket maxima of a bucketed meter's valued events (buckets aligned as ``meters.bucket_start``)."""
    size = meter.aggregation.bucket_size
    assert size is not None
    maxima: dict[datetime, Decimal] = {}
    for event in events:
        if event.value is None:
            continue
        key = bucket_start(size, event.timestamp)
        current = maxima.get(key)
        if current is None or event.value > current:
            maxima[key] = event.value
    return maxima


def fold(meter: Meter, start: datetime, end: datetime, events: Iterable[MeterEvent]) -> WindowState:
    """The state of window ``[start, end)`` holding exactly ``events`` (one version per id)."""
    state = WindowState(start, end)
    kept = [event for event in events if start <= event.timestamp < end]
    for event in kept:
        state.add(event)
    state.unique_count = len({e.unique_value for e in kept if e.unique_value is not None})
    if is_bucketed_max(meter):
        maxima = bucket_maxima(meter, kept)
        with localcontext(ARITHMETIC):
            state.bucket_max_total = sum(maxima.values(), ZERO) if maxima else None
    return state


def is_bucketed_max(meter: Meter) -> bool:
    """Whether the meter needs per-bucket maxima (bucketed MAX; bucketed SUM equals plain SUM)."""
    return meter.aggregation.bucket_size is not None and meter.aggregation.type is AggregationType.MAX


def usage(meter: Meter, state: WindowState) -> Decimal | None:
    """The meter's quantity for the window, as ``billing.meters.aggregate`` defines it."""
    kind = meter.aggregation.type
    if kind is AggregationType.COUNT:
        return Decimal(state.event_count)
    if kind is AggregationType.COUNT_UNIQUE:
        return Decimal(state.unique_count)
    if is_bucketed_max(meter):
        return state.bucket_max_total
    if state.value_count == 0:
        return None
    with localcontext(ARITHMETIC):
        if kind is AggregationType.SUM:
            return state.value_sum
        if kind is AggregationType.SUM_WITH_MULTIPLIER:
            multiplier = meter.aggregation.multiplier
            assert multiplier is not None
            return quantity_product(state.value_sum, multiplier)
        if kind is AggregationType.AVG:
            return quantity_ratio(state.value_sum, state.value_count)
        if kind is AggregationType.MIN:
            return state.value_min
        if kind is AggregationType.MAX:
            return state.value_max
        if kind is AggregationType.LATEST:
            return state.latest[3] if state.latest else None
        if kind is AggregationType.WEIGHTED_SUM:
            return quantity_ratio(state.weighted_sum, microseconds(state.end - state.start))
    raise AssertionError(f"unhandled aggregation type {kind}")  # pragma: no cover
