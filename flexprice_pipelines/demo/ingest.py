"""Land the demo events the way production does: validate and publish to the bus, then drain with the sink.

Publishing goes through ``IngestService`` (the body of ``POST /v1/events/bulk``) onto the outbox in
1,000-event batches; draining runs the ``Sink`` of ``flexprice sink --once`` into the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.outbox import OutboxBus, OutboxSource
from flexprice_pipelines.events.schema import TenantScope, TimestampPolicy
from flexprice_pipelines.events.sink import BatchResult, Sink, SinkTotals
from flexprice_pipelines.warehouse import make_warehouse

Advance = Callable[[int], None]
RECEIPT_SPAN = timedelta(minutes=10)


def backfill_policy(now: datetime, earliest: datetime) -> TimestampPolicy:
    """A timestamp policy wide enough for a historical import starting at ``earliest`` (whole days)."""
    days = (now - earliest).days + 2
    return TimestampPolicy(max_past=timedelta(days=days))


def publish_batches(
    outbox: Path,
    scope: TenantScope,
    batches: Iterable[list[dict[str, Any]]],
    now: datetime,
    policy: TimestampPolicy,
    advance: Advance,
) -> tuple[int, int]:
    """Validate and publish every batch; returns (items sent, batches). Any invalid batch raises.

    Batch ``i`` is received at ``now - RECEIPT_SPAN + i ms``: a re-sent id is a newer version than its
    first send, and (for up to 600,000 batches) nothing is received after ``now``.
    """
    bus = OutboxBus(outbox)
    service = IngestService(bus, policy=policy)
    sent = count = 0
    try:
        for count, batch in enumerate(batches, start=1):
            service.ingest(scope, batch, now - RECEIPT_SPAN + timedelta(milliseconds=count))
            sent += len(batch)
            advance(len(batch))
    finally:
        bus.close()
    return sent, count


def drain(outbox: Path, warehouse_url: str, advance: Advance, *, batch_size: int = 50_000) -> SinkTotals:
    """Run the sink until the outbox is empty (``flexprice sink --once``)."""
    source = OutboxSource(outbox)
    warehouse = make_warehouse(warehouse_url)
    warehouse.ensure_schema()

    def on_batch(batch: BatchResult, _totals: SinkTotals) -> None:
        advance(batch.polled)

    try:
        # No read-model listener: the import is historical, so no current entitlement window holds it.
        return Sink(source, warehouse, batch_size=batch_size, poll_timeout=0.05).run(
            once=True, on_batch=on_batch
        )
    finally:
        source.close()
        warehouse.close()
