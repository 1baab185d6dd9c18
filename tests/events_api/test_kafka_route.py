"""The bulk route on the production bus: Kafka (the real Tansu broker), configured by settings alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.kafka import EVENTS_TOPIC, KafkaBus, KafkaSource, ensure_topics
from flexprice_pipelines.events.sink import Sink
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.api.conftest import Tenant, new_tenant
from tests.events_api.conftest import make_app


@pytest.fixture
def kafka_app(catalog_url: str, tmp_path: Path, kafka_bootstrap: str) -> Iterator[tuple[FastAPI, TestClient]]:
    ensure_topics(kafka_bootstrap, [EVENTS_TOPIC], partitions=3)
    app = make_app(catalog_url, tmp_path / "home", event_bus="kafka", kafka_bootstrap_servers=kafka_bootstrap)
    with TestClient(app) as client:
        yield app, client
    # The lifespan closed and dropped the producer (a live one keeps reconnecting to the broker).
    assert app.state.ingest_service is None


def _events(count: int) -> list[dict[str, object]]:
    return [
        {
            "event_id": f"k-{i}",
            "event_name": "api_call",
            "external_customer_id": f"c-{i % 4}",
            "properties": {"n": i},
        }
        for i in range(count)
    ]


def test_bulk_through_kafka_is_acknowledged_and_lands_once(
    kafka_app: tuple[FastAPI, TestClient], kafka_bootstrap: str, tmp_path: Path
) -> None:
    app, client = kafka_app
    tenant = new_tenant(client, app, "kafka-tenant")
    first = tenant.post("/v1/events/bulk", {"events": _events(300)})
    assert first.status_code == 202, first.text
    assert first.json() == {"message": "Events accepted for processing"}  # Flexprice's shape: no ids
    assert isinstance(app.state.ingest_service.bus, KafkaBus)  # chosen by FLEXPRICE_EVENT_BUS alone
    # A client retry of part of the batch: accepted again, counted once downstream.
    assert tenant.post("/v1/events/bulk", {"events": _events(300)[:50]}).status_code == 202

    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    warehouse.ensure_schema()
    source = KafkaSource(kafka_bootstrap, group_id=f"sink_{uuid.uuid4().hex[:8]}", session_timeout_ms=2000)
    try:
        Sink(source, warehouse, poll_timeout=0.5).run(once=True)
    finally:
        source.close()
    mine = {"t": tenant.scope.tenant_id}
    assert warehouse.query("SELECT count(*) FROM raw_events WHERE tenant_id = $t", mine) == [(350,)]
    assert warehouse.query(
        "SELECT count(*), sum(CAST(properties->>'n' AS INTEGER)) FROM raw_events_latest WHERE tenant_id = $t",
        mine,
    ) == [(300, sum(range(300)))]


def test_an_unreachable_broker_is_503(kafka_app: tuple[FastAPI, TestClient]) -> None:
    app, client = kafka_app
    tenant: Tenant = new_tenant(client, app, "kafka-down")
    app.state.ingest_service = IngestService(KafkaBus("127.0.0.1:1", timeout=1.0))
    response = tenant.post("/v1/events/bulk", {"events": _events(20)})
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service_unavailable"
