"""The read model behind the real embedded sink: outbox → DuckDB warehouse → listener → catalog."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.events.outbox import OutboxBus, OutboxSource
from flexprice_pipelines.events.sink import Sink
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.listener import UsageReadModelListener, embedded_listeners
from flexprice_pipelines.usage.tables import event_versions, meter_events
from flexprice_pipelines.usage.updater import UsageUpdater
from flexprice_pipelines.warehouse import make_warehouse
from tests.usage.seed import create_customer, create_meters, create_plan, event, subscribe, uid

START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 1, 10, tzinfo=UTC)
METERS = {"tokens": {"event_name": "call", "aggregation": {"type": "SUM", "field": "tokens"}}}


def _setup(factory: sessionmaker[Session], scope: Scope) -> tuple[str, str, str]:
    with factory() as session:
        catalog = create_meters(session, scope, METERS)
        customer = create_customer(session, scope)
        feature = catalog.features["tokens"]
        plan = create_plan(
            session, scope, [{"feature_id": feature.id, "feature_type": "metered", "usage_limit": 10}]
        )
        subscribe(session, scope, customer, plan, START)
        return customer.external_id, catalog.meters["tokens"].id, customer.id


def _usage(factory: sessionmaker[Session], scope: Scope, customer_id: str) -> Decimal:
    from flexprice_pipelines.catalog.models import Customer
    from flexprice_pipelines.usage.service import EntitlementService

    with factory() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        (answer,) = EntitlementService().usage(session, scope, customer, NOW)
        return answer.check.current_usage


def test_sink_feeds_the_read_model_and_redelivery_changes_nothing(
    factory: sessionmaker[Session], scope: Scope, tmp_path: Path
) -> None:
    external_id, _meter_id, customer_id = _setup(factory, scope)
    events = [
        event(
            scope,
            external_id,
            uid("e"),
            NOW - timedelta(hours=i),
            NOW + timedelta(microseconds=i),
            {"tokens": i},
        )
        for i in range(1, 6)
    ]
    bus = OutboxBus(tmp_path / "outbox.db")
    bus.publish(events)
    bus.close()
    warehouse = make_warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    warehouse.ensure_schema()
    listener = UsageReadModelListener(factory, UsageUpdater(config_ttl=0))
    source = OutboxSource(tmp_path / "outbox.db")
    try:
        totals = Sink(source, warehouse, listeners=[listener]).run(once=True)
    finally:
        source.close()
        warehouse.close()
    assert totals.inserted == 5
    assert _usage(factory, scope, customer_id) == Decimal(15)

    # A crash before the sink's commit redelivers the batch: same ids and versions, no change.
    listener.on_events(events)
    listener.on_events(events[:2])
    assert _usage(factory, scope, customer_id) == Decimal(15)
    with factory() as session:
        ids = [e.event_id for e in events]
        assert (
            session.scalar(
                select(func.count()).select_from(meter_events).where(meter_events.c.event_id.in_(ids))
            )
            == 5
        )
        assert (
            session.scalar(
                select(func.count()).select_from(event_versions).where(event_versions.c.event_id.in_(ids))
            )
            == 5
        )


def test_resent_id_replaces_its_old_contribution(factory: sessionmaker[Session], scope: Scope) -> None:
    external_id, _meter_id, customer_id = _setup(factory, scope)
    listener = UsageReadModelListener(factory, UsageUpdater(config_ttl=0))
    first = event(scope, external_id, "same-id", NOW - timedelta(hours=1), NOW, {"tokens": 7})
    newer = event(
        scope, external_id, "same-id", NOW - timedelta(hours=2), NOW + timedelta(seconds=1), {"tokens": 2}
    )
    listener.on_events([newer])
    listener.on_events([first])  # older version arriving late: ignored
    assert _usage(factory, scope, customer_id) == Decimal(2)
    gone = event(scope, external_id, "same-id", NOW, NOW + timedelta(seconds=2), {"tokens": 2}, name="other")
    listener.on_events([gone])  # the newest version matches no meter any more
    assert _usage(factory, scope, customer_id) == Decimal(0)


def test_read_model_follows_the_embedded_sink_only() -> None:
    assert len(embedded_listeners(Settings(event_bus="outbox", database_url="sqlite://"))) == 1
    assert embedded_listeners(Settings(event_bus="kafka", database_url="sqlite://")) == []


def test_freshness_of_one_event_is_well_under_a_second(factory: sessionmaker[Session], scope: Scope) -> None:
    external_id, _meter_id, customer_id = _setup(factory, scope)
    listener = UsageReadModelListener(factory, UsageUpdater())
    started = time.perf_counter()
    listener.on_events([event(scope, external_id, uid("f"), NOW - timedelta(minutes=1), NOW, {"tokens": 3})])
    assert _usage(factory, scope, customer_id) == Decimal(3)
    assert time.perf_counter() - started < 1.0
