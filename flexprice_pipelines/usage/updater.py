"""Applies accepted events to the read model, in the caller's transaction.

Per event: the newest version of an id wins (ordered by ``ingested_at``, then ``timestamp``); a
redelivery (same id, same version) or an older version changes nothing. A newer version first takes
the old contribution out of every window it was counted in, then adds its own to every tracked
window holding its timestamp — existing window rows, plus the windows of the customer's subscriptions
(``WindowSpec``), which are folded from the per-event rows the first time they are needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.meters import (
    AggregationType,
    Meter,
    bucket_end,
    bucket_start,
    event_matches,
    event_value,
    property_string,
)
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import Customer
from flexprice_pipelines.usage import store
from flexprice_pipelines.usage.catalog_view import TTLCache, load_customer_view, load_meters
from flexprice_pipelines.usage.state import MeterEvent, WindowState, is_bucketed_max
from flexprice_pipelines.usage.tables import event_versions
from flexprice_pipelines.usage.windows import WindowCalendar, WindowSpec


class AcceptedEvent(Protocol):
    """What the updater reads of an event (``events.schema.Event`` has it all)."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def environment_id(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def event_name(self) -> str: ...
    @property
    def external_customer_id(self) -> str: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def properties(self) -> dict[str, object]: ...
    @property
    def ingested_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class _Meters:
    by_id: dict[str, Meter]
    by_name: dict[str, list[tuple[str, Meter]]]


class UsageUpdater:
    """Keeps the read model current. One instance per process: it caches meter definitions and
    customers' window specs for ``config_ttl`` seconds (0 = always reload)."""

    def __init__(self, *, config_ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.calendar = WindowCalendar()
        self._meter_cache: TTLCache[Scope, _Meters] = TTLCache(config_ttl, clock)
        self._specs: TTLCache[tuple[Scope, str], dict[str, frozenset[WindowSpec]]] = TTLCache(
            config_ttl, clock
        )

    def invalidate(self) -> None:
        """Forget cached meters and subscriptions (after a catalog change, to skip the TTL)."""
        self._meter_cache.invalidate()
        self._specs.invalidate()

    def apply(self, session: Session, events: Iterable[AcceptedEvent]) -> int:
        """Apply ``events`` in ``session``'s transaction (the caller commits); returns how many
        event versions changed the read model. On SQLite open the transaction with ``BEGIN IMMEDIATE``."""
        batch = sorted(events, key=lambda e: (e.tenant_id, e.environment_id))
        locked: set[Scope] = set()
        applied = 0
        for event in batch:
            scope = Scope(event.tenant_id, event.environment_id)
            if scope not in locked:
                store.lock_scope(session, scope)
                locked.add(scope)
            applied += self._apply_one(session, scope, event)
        return applied

    # -- one event --------------------------------------------------------------------------------

    def _apply_one(self, session: Session, scope: Scope, event: AcceptedEvent) -> int:
        key = (
            (event_versions.c.tenant_id == scope.tenant_id)
            & (event_versions.c.environment_id == scope.environment_id)
            & (event_versions.c.event_id == event.event_id)
        )
        previous = session.execute(
            select(event_versions.c.ingested_at, event_versions.c.timestamp).where(key)
        ).first()
        version = (event.ingested_at, event.timestamp)
        meters_by_id = self._meters(session, scope).by_id
        if previous is not None:
            if version <= (previous.ingested_at, previous.timestamp):
                return 0
            session.execute(
                update(event_versions)
                .where(key)
                .values(ingested_at=event.ingested_at, timestamp=event.timestamp)
            )
            old_rows = store.event_rows(session, scope, event.event_id)
            store.delete_event_rows(session, scope, event.event_id)
            for row in old_rows:
                meter = meters_by_id.get(row.meter_id)
                if meter is not None:
                    self._remove(session, scope, row, meter)
        else:
            session.execute(
                insert(event_versions).values(
                    tenant_id=scope.tenant_id,
                    environment_id=scope.environment_id,
                    event_id=event.event_id,
                    ingested_at=event.ingested_at,
                    timestamp=event.timestamp,
                )
            )
        rows = self._meter_rows(session, scope, event)
        store.insert_event_rows(session, scope, [row for row, _ in rows])
        for row, meter in rows:
            self._add(session, scope, row, meter)
        return 1

    def _meter_rows(
        self, session: Session, scope: Scope, event: AcceptedEvent
    ) -> list[tuple[MeterEvent, Meter]]:
        candidates = self._meters(session, scope).by_name.get(event.event_name.strip(), [])
        if not candidates:
            return []
        mapping = {"event_name": event.event_name, "properties": event.properties}
        rows = []
        for meter_id, meter in candidates:
            if not event_matches(meter, mapping):
                continue
            field = meter.aggregation.field
            unique = None
            if meter.aggregation.type is AggregationType.COUNT_UNIQUE and field is not None:
                unique = property_string(event.properties.get(field))
            rows.append(
                (
                    MeterEvent(
                        event_id=event.event_id,
                        meter_id=meter_id,
                        external_customer_id=event.external_customer_id,
                        timestamp=event.timestamp,
                        ingested_at=event.ingested_at,
                        value=event_value(meter, mapping),
                        unique_value=unique,
                    ),
                    meter,
                )
            )
        return rows

    # -- windows ----------------------------------------------------------------------------------

    def _add(self, session: Session, scope: Scope, row: MeterEvent, meter: Meter) -> None:
        customer, meter_id = row.external_customer_id, row.meter_id
        existing = {
            (w.window_start, w.window_end): w
            for w in store.windows_containing(session, scope, customer, meter_id, row.timestamp)
        }
        billing_windows: set[tuple[datetime, datetime]] = set()
        for spec in self._specs_for(session, scope, customer).get(meter_id, ()):
            window = self.calendar.window_at(spec, row.timestamp)
            if window is None:
                continue
            bounds = (window.start, window.end)
            if spec.billing:
                billing_windows.add(bounds)
            if bounds not in existing:
                # Folded from per-event rows, which already hold this event.
                store.materialize(session, scope, (customer, meter_id, *bounds), meter, billing=spec.billing)
                existing[bounds] = None
        for bounds, window_row in existing.items():
            if window_row is None:
                continue
            key = (customer, meter_id, *bounds)
            state = store.window_state(window_row)
            state.add(row)
            if row.unique_value is not None:
                state.unique_count += store.change_unique(session, scope, key, row.unique_value, +1)
            if is_bucketed_max(meter) and row.value is not None:
                size = meter.aggregation.bucket_size
                assert size is not None
                bucket = bucket_start(size, row.timestamp)
                current = store.bucket_max(session, scope, key, bucket)
                if current is None or row.value > current:
                    total = state.bucket_max_total or 0
                    state.bucket_max_total = total + row.value - (current or 0)
                    store.set_bucket_max(session, scope, key, bucket, row.value, exists=current is not None)
            billing = bounds in billing_windows and not window_row.is_billing_window
            store.write_state(session, scope, key, state, billing=billing)

    def _remove(self, session: Session, scope: Scope, row: MeterEvent, meter: Meter) -> None:
        customer, meter_id = row.external_customer_id, row.meter_id
        for window_row in store.windows_containing(session, scope, customer, meter_id, row.timestamp):
            key = (customer, meter_id, window_row.window_start, window_row.window_end)
            state = store.window_state(window_row)
            if state.remove(row):
                state.recompute_extremes(
                    store.window_events(session, scope, customer, meter_id, state.start, state.end)
                )
            if row.unique_value is not None:
                state.unique_count += store.change_unique(session, scope, key, row.unique_value, -1)
            if is_bucketed_max(meter) and row.value is not None:
                self._remove_from_bucket(session, scope, key, row, meter, state)
            store.write_state(session, scope, key, state, billing=False)

    def _remove_from_bucket(
        self,
        session: Session,
        scope: Scope,
        key: store.WindowKey,
        row: MeterEvent,
        meter: Meter,
        state: WindowState,
    ) -> None:
        assert row.value is not None
        size = meter.aggregation.bucket_size
        assert size is not None
        bucket = bucket_start(size, row.timestamp)
        current = store.bucket_max(session, scope, key, bucket)
        if current is None or row.value != current:
            return
        lower, upper = max(bucket, state.start), min(bucket_end(size, bucket), state.end)
        remaining = [
            e.value
            for e in store.window_events(session, scope, key[0], key[1], lower, upper)
            if e.value is not None
        ]
        new_max = max(remaining) if remaining else None
        store.set_bucket_max(session, scope, key, bucket, new_max, exists=True)
        total = (state.bucket_max_total or 0) - current + (new_max or 0)
        state.bucket_max_total = (
            total if new_max is not None or store.has_buckets(session, scope, key) else None
        )

    # -- caches -----------------------------------------------------------------------------------

    def _meters(self, session: Session, scope: Scope) -> _Meters:
        def load() -> _Meters:
            by_id = load_meters(session, scope)
            by_name: dict[str, list[tuple[str, Meter]]] = {}
            for meter_id, meter in sorted(by_id.items()):
                by_name.setdefault(meter.event_name, []).append((meter_id, meter))
            return _Meters(by_id, by_name)

        return self._meter_cache.get_or_load(scope, load)

    def _specs_for(
        self, session: Session, scope: Scope, external_customer_id: str
    ) -> dict[str, frozenset[WindowSpec]]:
        def load() -> dict[str, frozenset[WindowSpec]]:
            customers = Repository(session, scope, Customer)
            customer = customers.find_one(external_id=external_customer_id)
            if customer is None:
                return {}
            return load_customer_view(session, scope, customer).specs_by_meter()

        return self._specs.get_or_load((scope, external_customer_id), load)


def apply_events(
    session: Session, events: Sequence[AcceptedEvent], updater: UsageUpdater | None = None
) -> int:
    """Apply ``events`` with a fresh (uncached) updater; for scripts and tests."""
    return (updater or UsageUpdater(config_ttl=0)).apply(session, events)
