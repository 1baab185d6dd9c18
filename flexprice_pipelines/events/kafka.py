"""The production event bus: Kafka topic ``events`` (producer side) and consumer group ``event_sink`` (sink side).

"Nothing half-written" on Kafka: a batch is acknowledged only when every message of it is acknowledged by
all in-sync replicas (idempotent producer, ``acks=all``); otherwise the caller gets ``BusUnavailable`` and the
unsent rest is purged from the local queue. Messages already in flight may still land, so a client retrying
after a 503 must resend the same ``event_id`` values: the warehouse counts each id once. Events sent without
an id get a fresh one on every attempt, which is why the API returns the ids it assigned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import (
    OFFSET_INVALID,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from flexprice_pipelines.events.bus import BusUnavailable
from flexprice_pipelines.events.codec import encode_event
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.events.source import DeadLetter, SourceMessage

EVENTS_TOPIC = "events"
DLQ_TOPIC = "events_dlq"
SINK_GROUP = "event_sink"

log = logging.getLogger(__name__)

# (key, value, headers) of one message to produce.
_Outgoing = tuple[bytes | None, bytes | None, list[tuple[str, str | bytes | None]] | None]


def event_key(event: Event) -> bytes:
    """Partition key: one customer's events stay in order on one partition."""
    return f"{event.tenant_id}:{event.external_customer_id}".encode()


def ensure_topics(
    bootstrap_servers: str, topics: Sequence[str], *, partitions: int = 6, timeout: float = 15.0
) -> None:
    """Create the topics that do not exist yet (existing ones are left as they are)."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})
    existing = admin.list_topics(timeout=timeout).topics
    missing = [
        NewTopic(name, num_partitions=partitions, replication_factor=-1)
        for name in topics
        if name not in existing
    ]
    if not missing:
        return
    for name, future in admin.create_topics(missing, request_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            log.debug("topic %s created concurrently", name)


def _producer(bootstrap_servers: str, timeout: float, extra: dict[str, Any] | None) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            # A message must not be delivered long after the caller was told the batch failed.
            "delivery.timeout.ms": int(timeout * 1000),
            **(extra or {}),
        }
    )


def _deliver_all(
    producer: Producer,
    send: Sequence[_Outgoing],
    topic: str,
    timeout: float,
) -> None:
    """Produce ``(key, value, headers)`` messages and wait for every acknowledgement or raise ``BusUnavailable``."""
    deadline = time.monotonic() + timeout
    outcome = {"ok": 0, "failed": 0}
    errors: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            outcome["ok"] += 1
        else:
            outcome["failed"] += 1
            errors.append(str(err))

    try:
        for key, value, headers in send:
            while True:
                try:
                    producer.produce(topic, key=key, value=value, headers=headers, on_delivery=on_delivery)
                    break
                except BufferError:
                    if time.monotonic() >= deadline:
                        raise BusUnavailable(f"Kafka producer queue stayed full for {timeout}s") from None
                    producer.poll(0.05)
            producer.poll(0)
        while outcome["ok"] + outcome["failed"] < len(send) and time.monotonic() < deadline:
            producer.flush(max(0.0, deadline - time.monotonic()))
    except KafkaException as exc:
        raise BusUnavailable(f"Kafka refused the batch: {exc}") from exc
    finally:
        if outcome["ok"] < len(send):
            producer.purge(in_queue=True, in_flight=False)
            producer.poll(0)
    if outcome["ok"] < len(send):
        detail = errors[0] if errors else f"no acknowledgement within {timeout}s"
        raise BusUnavailable(f"Kafka acknowledged {outcome['ok']} of {len(send)} messages: {detail}")


class KafkaBus:
    """``EventBus`` over Kafka: idempotent producer, ``acks=all``, key ``tenant_id:external_customer_id``."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = EVENTS_TOPIC,
        timeout: float = 10.0,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self.timeout = timeout
        self._producer = _producer(bootstrap_servers, timeout, config)

    def publish(self, events: Sequence[Event]) -> None:
        """Send the batch and wait until every message is acknowledged, or raise ``BusUnavailable``."""
        if events:
            messages = [(event_key(event), encode_event(event), None) for event in events]
            _deliver_all(self._producer, messages, self.topic, self.timeout)

    def close(self) -> None:
        """Deliver what is still queued (bounded by the timeout)."""
        self._producer.flush(self.timeout)


def _broker_time(message: Message) -> datetime | None:
    kind, millis = message.timestamp()
    if kind == TIMESTAMP_NOT_AVAILABLE:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


class KafkaSource:
    """``SinkSource`` over the consumer group ``event_sink``; offsets are committed only by ``commit``."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = EVENTS_TOPIC,
        dlq_topic: str = DLQ_TOPIC,
        group_id: str = SINK_GROUP,
        session_timeout_ms: int = 45_000,
        timeout: float = 30.0,
        config: dict[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self.dlq_topic = dlq_topic
        self.timeout = timeout
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap_servers,
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": session_timeout_ms,
                "heartbeat.interval.ms": max(100, session_timeout_ms // 10),
                "fetch.wait.max.ms": 100,
                **(config or {}),
            }
        )
        self._consumer.subscribe([topic])
        self._dlq = _producer(bootstrap_servers, timeout, None)

    def poll(self, max_messages: int, timeout: float) -> list[SourceMessage]:
        """The next messages of the assigned partitions (broker errors are logged, not returned)."""
        batch: list[SourceMessage] = []
        for message in self._consumer.consume(num_messages=max_messages, timeout=timeout):
            error = message.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                log.warning("consumer error: %s", error)
                continue
            batch.append(
                SourceMessage(
                    payload=message.value(),
                    position=(message.topic(), message.partition(), message.offset()),
                    key=message.key(),
                    fallback_ingested_at=_broker_time(message),
                )
            )
        return batch

    def commit(self, messages: Sequence[SourceMessage], dead: Sequence[DeadLetter]) -> None:
        """Deliver dead letters to ``events_dlq`` (acknowledged), then commit the offsets past ``messages``."""
        if dead:
            letters: list[_Outgoing] = [
                (
                    d.message.key,
                    d.message.payload,
                    [
                        ("dlq_reason", d.reason.encode()),
                        ("source_topic", str(d.message.position[0]).encode()),
                        ("source_partition", str(d.message.position[1]).encode()),
                        ("source_offset", str(d.message.position[2]).encode()),
                    ],
                )
                for d in dead
            ]
            _deliver_all(self._dlq, letters, self.dlq_topic, self.timeout)
        next_offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            topic, partition, offset = message.position
            next_offsets[(topic, partition)] = max(next_offsets.get((topic, partition), 0), offset + 1)
        if not next_offsets:
            return
        offsets = [
            TopicPartition(topic, partition, offset) for (topic, partition), offset in next_offsets.items()
        ]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # Lost the partitions in a rebalance: their new owner re-reads and re-inserts, which de-duplicates.
            log.warning("offset commit failed (batch will be redelivered): %s", exc)

    def drained(self) -> bool:
        """True once partitions are assigned and each is read up to its high watermark."""
        assignment = self._consumer.assignment()
        if not assignment:
            return False
        positions = self._consumer.position(assignment)
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in self._consumer.committed(assignment, timeout=self.timeout)
        }
        for tp in positions:
            low, high = self._consumer.get_watermark_offsets(tp, timeout=self.timeout, cached=False)
            at = tp.offset
            if at == OFFSET_INVALID or at < 0:
                at = committed.get((tp.topic, tp.partition), OFFSET_INVALID)
            if at == OFFSET_INVALID or at < 0:
                at = low
            if at < high:
                return False
        return True

    def close(self) -> None:
        """Leave the group cleanly so a successor is assigned the partitions at once."""
        self._consumer.close()
        self._dlq.flush(self.timeout)
