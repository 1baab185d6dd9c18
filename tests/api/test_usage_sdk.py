"""The official Flexprice SDK reads usage from a real uvicorn server (``test_schemathesis.py``'s) whose
embedded DuckDB warehouse holds events written by this process through the warehouse's turn protocol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.tenancy import resolve_api_key
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.api.test_schemathesis import server  # noqa: F401  (the fixture: a real server + a tenant key)

flexprice = pytest.importorskip(
    "flexprice", reason="the Flexprice SDK is a dev dependency (pip install -e '.[dev]')"
)
pytestmark = [pytest.mark.timeout(120)]


def test_the_sdk_reads_usage_by_meter_and_raw_events(
    server: tuple[str, str],  # noqa: F811
    database_url: str,
    tmp_path: Path,
) -> None:
    base, key = server
    engine = db.make_engine(database_url)
    with Session(engine) as session:
        scope = resolve_api_key(session, key)
    engine.dispose()
    assert scope is not None
    now = datetime.now(UTC).replace(microsecond=0)
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")  # the server's FLEXPRICE_HOME
    warehouse.ensure_schema()
    amounts = ["1.5", "2.25", "0.25"]
    warehouse.insert_events(
        [
            Event(
                tenant_id=scope.tenant_id,
                environment_id=scope.environment_id,
                event_id=f"sdk-{i}",
                event_name="tokens_used",
                external_customer_id="sdk-customer",
                customer_id=None,
                timestamp=now - timedelta(hours=3 - i),
                source="sdk",
                properties={"tokens": amount},
                ingested_at=now,
            )
            for i, amount in enumerate(amounts)
        ]
    )
    with httpx.Client(base_url=base, headers={"x-api-key": key}) as http:
        meter = http.post(
            "/v1/meters",
            json={
                "event_name": "tokens_used",
                "name": "Tokens",
                "aggregation": {"type": "SUM", "field": "tokens"},
            },
        )
        assert meter.status_code == 201, meter.text
    client = flexprice.Flexprice(server_url=f"{base}/v1", api_key_auth=key)

    usage = client.events.get_usage_by_meter(
        meter_id=meter.json()["id"],
        external_customer_id="sdk-customer",
        start_time=now - timedelta(days=1),
        end_time=now,
        window_size="HOUR",
    )
    assert usage.event_name == "tokens_used" and usage.type == "SUM"
    assert usage.value == 4.0
    assert [r.value for r in usage.results or []] == [1.5, 2.25, 0.25]

    page = client.events.list_raw_events(external_customer_id="sdk-customer", page_size=2, order="asc")
    assert [e.id for e in page.events or []] == ["sdk-0", "sdk-1"]
    assert (page.total_count, page.has_more) == (3, True)
    assert page.events is not None and page.events[0].properties == {"tokens": "1.5"}

    found = client.events.get_event(id="sdk-2", external_customer_id="sdk-customer")
    assert found.event is not None and found.event.properties == {"tokens": "0.25"}
