"""The ingest use case behind ``POST /v1/events`` and ``POST /v1/events/bulk``: validate all, then publish all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flexprice_pipelines.events.bus import EventBus
from flexprice_pipelines.events.schema import Event, TenantScope, TimestampPolicy, validate_batch


class IngestService:
    """Accepts batches of events for a tenant; a return means the bus holds every one of them durably."""

    def __init__(self, bus: EventBus, *, policy: TimestampPolicy | None = None) -> None:
        self.bus = bus
        self.policy = policy or TimestampPolicy()

    def ingest(
        self,
        scope: TenantScope,
        items: bytes | str | Sequence[Any],
        now: datetime,
        *,
        policy: TimestampPolicy | None = None,
    ) -> list[str]:
        """Validate the whole batch, publish it, and return the event ids in request order.

        Raises ``EventValidationError`` (400/413; nothing published) or ``BusUnavailable`` (503; nothing
        acknowledged). ``policy`` overrides the service default with the tenant's own timestamp setting.
        """
        events = self.accept(scope, items, now, policy=policy)
        return [event.event_id for event in events]

    def accept(
        self,
        scope: TenantScope,
        items: bytes | str | Sequence[Any],
        now: datetime,
        *,
        policy: TimestampPolicy | None = None,
    ) -> list[Event]:
        """Like ``ingest`` but returns the accepted events themselves (ids, timestamps, ``ingested_at``)."""
        events = validate_batch(items, scope, now, policy or self.policy)
        self.bus.publish(events)
        return events
