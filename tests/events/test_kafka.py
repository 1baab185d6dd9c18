"""The Kafka path against a real Kafka-protocol broker (Tansu): producer acks, consumer group, DLQ topic."""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson
import pytest
from confluent_kafka import Consumer, Producer

from flexprice_pipelines.events.bus import BusUnavailable
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.kafka import KafkaBus, KafkaSource, ensure_topics
from flexprice_pipelines.events.schema import TenantScope
from flexprice_pipelines.events.sink import Sink
from tests.events.scenario import usage_stream
from tests.warehouse.shared import NOW, billed_totals, fresh_clickhouse, latest_versions

SCOPE = TenantScope("tenant-a", "prod")


def _topics(bootstrap: str) -> tuple[str, str]:
    name = f"events_{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, [name, f"{name}_dlq"], partitions=3)
    return name, f"{name}_dlq"


def _source(bootstrap: str, topic: str, dlq: str) -> KafkaSource:
    return KafkaSource(
        bootstrap, topic=topic, dlq_topic=dlq, group_id=f"sink_{topic}", session_timeout_ms=2000
    )


def _read_all(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes | None, dict[str, bytes]]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader_{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 2000,
        }
    )
    consumer.subscribe([topic])
    found: list[tuple[bytes | None, dict[str, bytes]]] = []
    try:
        for _ in range(60):
            for message in consumer.consume(num_messages=100, timeout=0.5):
                if message.error() is None:
                    found.append((message.value(), dict(message.headers() or [])))
            if len(found) >= expected:
                break
    finally:
        consumer.close()
    return found


def test_kafka_to_clickhouse_counts_each_id_once_and_dead_letters_poison(kafka_bootstrap: str) -> None:
    topic, dlq = _topics(kafka_bootstrap)
    stream = usage_stream(NOW, events=2000, batch_size=200, seed=11, prefix="k")
    bus = KafkaBus(kafka_bootstrap, topic=topic)
    service = IngestService(bus)
    for i, batch in enumerate(stream.batches):
        service.ingest(SCOPE, batch, NOW + timedelta(seconds=i))
    poison = [
        b"\x00\x01 not json",
        b'{"event_name": "x"}',
        b'{"tenant_id": "t", "environment_id": "p", "event_id": "z",'
        b' "event_name": "x", "external_customer_id": 42, "timestamp": "2024-03-20T00:00:00Z"}',
    ]
    raw = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    for value in poison:
        raw.produce(topic, key=b"tenant-a:junk", value=value)
    # A producer writing straight to the topic without ingested_at: the broker timestamp versions it.
    direct = {
        "tenant_id": "tenant-a",
        "environment_id": "prod",
        "event_id": "direct-1",
        "event_name": "api_call",
        "external_customer_id": "cust-1",
        "timestamp": "2024-03-20T11:00:00Z",
        "properties": {"amount": "5.00"},
    }
    raw.produce(topic, key=b"tenant-a:cust-1", value=orjson.dumps(direct))
    assert raw.flush(10) == 0
    bus.close()

    warehouse = fresh_clickhouse()
    source = _source(kafka_bootstrap, topic, dlq)
    try:
        totals = Sink(source, warehouse, batch_size=500).run(once=True)
    finally:
        source.close()

    assert (totals.inserted, totals.dead) == (2001, 3)
    count, amount = stream.expected
    assert billed_totals(warehouse) == (count + 1, amount + 5)
    assert "direct-1" in latest_versions(warehouse)
    letters = _read_all(kafka_bootstrap, dlq, 3)
    assert sorted(value for value, _ in letters) == sorted(poison)
    reasons = {value: headers["dlq_reason"].decode() for value, headers in letters}
    assert reasons[poison[0]].startswith("not JSON")
    assert reasons[poison[1]] == "tenant_id: required non-empty string"
    assert reasons[poison[2]] == "external_customer_id: required non-empty string"
    assert all(headers["source_topic"] == topic.encode() for _, headers in letters)


def test_committed_offsets_resume_exactly(kafka_bootstrap: str) -> None:
    topic, dlq = _topics(kafka_bootstrap)
    bus = KafkaBus(kafka_bootstrap, topic=topic)
    service = IngestService(bus)
    service.ingest(
        SCOPE,
        [{"event_id": f"a{i}", "event_name": "x", "external_customer_id": f"c{i % 5}"} for i in range(300)],
        NOW,
    )

    warehouse = fresh_clickhouse()
    first = _source(kafka_bootstrap, topic, dlq)
    try:
        assert Sink(first, warehouse).run(once=True).inserted == 300
    finally:
        first.close()
    service.ingest(
        SCOPE,
        [{"event_id": f"b{i}", "event_name": "x", "external_customer_id": "c1"} for i in range(40)],
        NOW,
    )
    bus.close()
    second = _source(kafka_bootstrap, topic, dlq)
    try:
        assert Sink(second, warehouse).run(once=True).inserted == 40  # only what came after the commit
    finally:
        second.close()


def test_unreachable_broker_is_bus_unavailable() -> None:
    bus = KafkaBus("127.0.0.1:1", topic="events", timeout=1.0)
    with pytest.raises(BusUnavailable, match="acknowledged 0 of 2"):
        IngestService(bus).ingest(SCOPE, [{"event_name": "x", "external_customer_id": "c"}] * 2, NOW)
