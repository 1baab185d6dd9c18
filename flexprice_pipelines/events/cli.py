"""``flexprice sink``: drain the event bus into the warehouse."""

from __future__ import annotations

import signal
import time
from types import FrameType

import typer

from flexprice_pipelines.events.sink import BatchResult, Sink, SinkTotals, make_source
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.listener import embedded_listeners
from flexprice_pipelines.warehouse import make_warehouse


def sink(
    once: bool = typer.Option(False, "--once", help="Drain what is on the bus now, then exit."),
    batch_size: int = typer.Option(20_000, "--batch-size", min=1, help="Messages per warehouse insert."),
    quiet: bool = typer.Option(False, "--quiet", help="Print only the final totals."),
) -> None:
    """Move events from the bus (outbox or Kafka) into the warehouse's raw_events, poison messages to the DLQ."""
    settings = Settings()
    stopping = False
    heartbeat = settings.home / "sink.heartbeat"
    heartbeat.parent.mkdir(parents=True, exist_ok=True)
    last_beat = 0.0

    def should_stop() -> bool:
        # The container healthcheck reads this file's age: it proves the loop turns, busy or idle.
        nonlocal last_beat
        if time.monotonic() - last_beat > 5:
            heartbeat.touch()
            last_beat = time.monotonic()
        return stopping

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    # Finish the batch in hand on SIGTERM/SIGINT rather than dying between insert and commit.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    warehouse = make_warehouse(settings.resolved_warehouse_url)
    warehouse.ensure_schema()
    source = make_source(settings)
    typer.echo(f"sink: {settings.event_bus} → {settings.resolved_warehouse_url}", err=True)

    def progress(batch: BatchResult, totals: SinkTotals) -> None:
        if not quiet:
            rate = batch.polled / batch.seconds if batch.seconds else 0.0
            typer.echo(
                f"batch {totals.batches}: {batch.inserted} inserted, {batch.dead} to DLQ "
                f"({rate:,.0f} ev/s); total {totals.inserted} inserted, {totals.dead} to DLQ",
                err=True,
            )

    try:
        # The usage read model (entitlement checks) follows the sink when the bus is the outbox.
        totals = Sink(source, warehouse, batch_size=batch_size, listeners=embedded_listeners(settings)).run(
            once=once, should_stop=should_stop, on_batch=progress
        )
    finally:
        source.close()
        warehouse.close()
    typer.echo(f"sink done: {totals.inserted} inserted, {totals.dead} to DLQ in {totals.batches} batches")


if __name__ == "__main__":  # pragma: no cover - `python -m` skips the imports of the other sub-commands
    typer.run(sink)
