"""How events reach the read model.

- Embedded (outbox bus): the sink calls ``UsageReadModelListener.on_events`` after each durable
  warehouse insert, before committing its position; a crash redelivers the batch, which changes nothing
  here (same ``event_id`` and ``ingested_at`` → no-op).
- Kafka: the read model is its own consumer group (``usage_read_model``) on the ``events`` topic, so
  it neither waits for nor slows the warehouse sink; ``run_kafka_consumer`` reuses the sink's source
  and decoding and commits offsets only after the read model's transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import db
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.events.sink import apply_isolating, decode_messages, telling
from flexprice_pipelines.events.source import DeadLetter
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.updater import UsageUpdater

log = logging.getLogger(__name__)
CONSUMER_GROUP = "usage_read_model"


class UsageReadModelListener:
    """A ``SinkListener``: applies each batch in one write transaction of the catalog database."""

    def __init__(self, factory: sessionmaker[Session], updater: UsageUpdater | None = None) -> None:
        self.factory = factory
        self.updater = updater or UsageUpdater()

    def on_events(self, events: Sequence[Event]) -> None:
        """Apply ``events``; raises (so the sink redelivers) if the transaction fails."""
        if not events:
            return
        with db.write_session(self.factory) as session:
            self.updater.apply(session, events)


def make_listener(settings: Settings) -> UsageReadModelListener:
    """A listener on the catalog database named by ``settings``."""
    return UsageReadModelListener(db.session_factory(db.make_engine(settings.resolved_database_url)))


def embedded_listeners(settings: Settings) -> list[UsageReadModelListener]:
    """The listeners the warehouse sink should call: the read model with the outbox bus; none with
    Kafka, where the read model consumes the topic in its own group (``run_kafka_consumer``)."""
    return [make_listener(settings)] if settings.event_bus.strip().lower() == "outbox" else []


def run_kafka_consumer(
    settings: Settings,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    once: bool = False,
    batch_size: int = 5_000,
    poll_timeout: float = 0.2,
    listener: UsageReadModelListener | None = None,
    topic: str | None = None,
    dlq_topic: str | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> int:
    """Consume ``topic`` (default ``events``) in group ``usage_read_model`` until ``should_stop`` — or,
    with ``once``, until every assigned partition is read to its end; returns the events applied.

    Offsets are committed after the read model's transaction commits, so a crash redelivers, which the
    updater ignores (same id and version). Poison messages are skipped here: the warehouse sink already
    sends them to the dead-letter topic. An event the read model refuses (a data error, found by halving
    the batch as the sink does) goes to the dead-letter topic (default ``events_dlq``) with the reason and
    the rest of the batch is applied: no event can stop this consumer. ``on_batch(applied, total)``
    reports progress.
    """
    from flexprice_pipelines.events.kafka import DLQ_TOPIC, EVENTS_TOPIC, KafkaSource

    listener = listener or make_listener(settings)
    source = KafkaSource(
        settings.kafka_bootstrap_servers,
        topic=topic or EVENTS_TOPIC,
        group_id=CONSUMER_GROUP,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        dlq_topic=dlq_topic or DLQ_TOPIC,
    )
    applied = 0
    try:
        while not should_stop():
            messages = source.poll(batch_size, poll_timeout)
            if not messages:
                if once and source.drained():
                    break
                continue
            batch = decode_messages(messages)
            for index, reason in batch.dead:
                log.info("skipping poison message at %s: %s", messages[index].position, reason)
            refused: list[tuple[int, str]] = []
            if len(batch):
                batch = apply_isolating("usage read model", batch, telling(listener), refused)
            source.commit(
                messages, [DeadLetter(messages[index], reason) for index, reason in sorted(refused)]
            )
            applied += len(batch)
            if on_batch is not None:
                on_batch(len(batch), applied)
    finally:
        source.close()
    return applied
