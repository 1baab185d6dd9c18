"""``flexprice usage-consumer``: keep the usage read model current from Kafka (its own consumer group)."""

from __future__ import annotations

import signal
from types import FrameType

import typer

from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.listener import CONSUMER_GROUP, run_kafka_consumer


def usage_consumer(
    once: bool = typer.Option(False, "--once", help="Apply what is on the topic now, then exit."),
    batch_size: int = typer.Option(5_000, "--batch-size", min=1, help="Messages per read-model transaction."),
    quiet: bool = typer.Option(False, "--quiet", help="Print only the final total."),
) -> None:
    """Apply Kafka's ``events`` to the entitlement read model in consumer group ``usage_read_model``.

    Only for ``FLEXPRICE_EVENT_BUS=kafka``: with the embedded outbox, ``flexprice sink`` feeds the read model.
    """
    settings = Settings()
    if settings.event_bus.strip().lower() != "kafka":
        typer.echo(
            "usage-consumer needs FLEXPRICE_EVENT_BUS=kafka (the sink feeds the read model otherwise)",
            err=True,
        )
        raise typer.Exit(2)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    # Finish the batch in hand on SIGTERM/SIGINT: its offsets are committed after the read model's commit.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    from flexprice_pipelines.events.kafka import EVENTS_TOPIC, ensure_topics

    ensure_topics(settings.kafka_bootstrap_servers, [EVENTS_TOPIC])
    typer.echo(f"usage-consumer: {settings.kafka_bootstrap_servers} group {CONSUMER_GROUP}", err=True)

    def progress(batch: int, total: int) -> None:
        if not quiet:
            typer.echo(f"applied {batch} events (total {total})", err=True)

    total = run_kafka_consumer(
        settings, should_stop=lambda: stopping, once=once, batch_size=batch_size, on_batch=progress
    )
    typer.echo(f"usage-consumer done: {total} events applied")
