"""The read model's own consumer group (``usage_read_model``) on a real Kafka-protocol broker (Tansu):
events published through ``IngestService`` show up in checks; committed offsets are not re-applied;
a re-sent id replaces its old contribution; poison messages are skipped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from confluent_kafka import Producer
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.kafka import KafkaBus, ensure_topics
from flexprice_pipelines.events.schema import Event, TenantScope
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.listener import UsageReadModelListener, run_kafka_consumer
from flexprice_pipelines.usage.service import CustomerRef, EntitlementService, FeatureRef
from flexprice_pipelines.usage.updater import UsageUpdater
from tests.events.conftest import kafka_bootstrap  # noqa: F401  (the real Tansu broker, one per session)
from tests.events.test_kafka import _read_all
from tests.usage.seed import create_customer, create_meters, create_plan, subscribe

START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 1, 10, tzinfo=UTC)
METERS = {"tokens": {"event_name": "call", "aggregation": {"type": "SUM", "field": "tokens"}}}


def _check(factory: sessionmaker[Session], scope: Scope, customer: CustomerRef, feature_id: str) -> Any:
    with factory() as session:
        (answer,) = EntitlementService().check(session, scope, customer, [FeatureRef(feature_id)], NOW)
        return answer.check


def _consume(bootstrap: str, topic: str, factory: sessionmaker[Session]) -> int:
    """One bounded ``--once`` run of the consumer: until drained, or 60 s."""
    deadline = time.monotonic() + 60
    return run_kafka_consumer(
        Settings(kafka_bootstrap_servers=bootstrap, kafka_session_timeout_ms=2000, database_url="sqlite://"),
        once=True,
        topic=topic,
        listener=UsageReadModelListener(factory, UsageUpdater(config_ttl=0)),
        should_stop=lambda: time.monotonic() > deadline,
    )


def test_consumer_group_feeds_checks(
    kafka_bootstrap: str,  # noqa: F811
    factory: sessionmaker[Session],
    scope: Scope,
) -> None:
    topic = f"events_{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, [topic], partitions=3)
    with factory() as session:
        catalog = create_meters(session, scope, METERS)
        row = create_customer(session, scope)
        feature_id = catalog.features["tokens"].id
        limit = [{"feature_id": feature_id, "feature_type": "metered", "usage_limit": 100}]
        subscribe(session, scope, row, create_plan(session, scope, limit), START)
        customer = CustomerRef(row.id, row.external_id)

    def item(event_id: str, tokens: int, hours_ago: int) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "event_name": "call",
            "external_customer_id": customer.external_id,
            "timestamp": (NOW - timedelta(hours=hours_ago)).isoformat(),
            "properties": {"tokens": tokens},
        }

    bus = KafkaBus(kafka_bootstrap, topic=topic)
    ingest = IngestService(bus)
    tenant = TenantScope(scope.tenant_id, scope.environment_id)
    ingest.ingest(tenant, [item(f"a{i}", i, i) for i in range(1, 31)], NOW)  # 1 + … + 30 = 465
    raw = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    raw.produce(topic, key=b"junk", value=b"\x00 not an event")
    assert raw.flush(10) == 0

    assert _consume(kafka_bootstrap, topic, factory) == 30
    check = _check(factory, scope, customer, feature_id)
    assert (check.current_usage, check.allowed, check.reason.value) == (Decimal(465), False, "limit_reached")

    # The group's offsets were committed after the read model's commit: nothing is applied twice.
    assert _consume(kafka_bootstrap, topic, factory) == 0
    assert _check(factory, scope, customer, feature_id).current_usage == Decimal(465)

    # New events, and a re-sent id (newer version: a1 now counts 50 instead of 1).
    ingest.ingest(tenant, [item("b1", 5, 1), item("a1", 50, 2)], NOW + timedelta(minutes=1))
    bus.close()
    assert _consume(kafka_bootstrap, topic, factory) == 2
    assert _check(factory, scope, customer, feature_id).current_usage == Decimal(465 + 5 - 1 + 50)


class RefusesOne(UsageReadModelListener):
    """The read model with one event it cannot apply (a data error, as a value it cannot store)."""

    def on_events(self, events: Sequence[Event]) -> None:
        if any(event.event_id == "refused" for event in events):
            raise ValueError("cannot apply refused")
        super().on_events(events)


def test_an_event_the_read_model_refuses_is_dead_lettered_and_the_others_applied(
    kafka_bootstrap: str,  # noqa: F811
    factory: sessionmaker[Session],
    scope: Scope,
) -> None:
    topic = f"events_{uuid.uuid4().hex[:8]}"
    dlq = f"{topic}_dlq"
    ensure_topics(kafka_bootstrap, [topic, dlq], partitions=1)
    with factory() as session:
        catalog = create_meters(session, scope, METERS)
        row = create_customer(session, scope)
        feature_id = catalog.features["tokens"].id
        limit = [{"feature_id": feature_id, "feature_type": "metered", "usage_limit": 1000}]
        subscribe(session, scope, row, create_plan(session, scope, limit), START)
        customer = CustomerRef(row.id, row.external_id)
    events = [
        {
            "event_id": event_id,
            "event_name": "call",
            "external_customer_id": customer.external_id,
            "timestamp": (NOW - timedelta(hours=1)).isoformat(),
            "properties": {"tokens": tokens},
        }
        for event_id, tokens in [*((f"ok{i}", i) for i in range(1, 11)), ("refused", 500)]
    ]
    bus = KafkaBus(kafka_bootstrap, topic=topic)
    IngestService(bus).ingest(TenantScope(scope.tenant_id, scope.environment_id), events, NOW)
    bus.close()

    deadline = time.monotonic() + 60
    applied = run_kafka_consumer(
        Settings(
            kafka_bootstrap_servers=kafka_bootstrap, kafka_session_timeout_ms=2000, database_url="sqlite://"
        ),
        once=True,
        topic=topic,
        dlq_topic=dlq,
        listener=RefusesOne(factory, UsageUpdater(config_ttl=0)),
        should_stop=lambda: time.monotonic() > deadline,
    )

    assert applied == 10
    assert _check(factory, scope, customer, feature_id).current_usage == Decimal(55)  # 1 + … + 10
    [(payload, headers)] = _read_all(kafka_bootstrap, dlq, 1)
    assert b'"refused"' in payload
    assert headers["dlq_reason"].decode() == "usage read model: ValueError: cannot apply refused"
