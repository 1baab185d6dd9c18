"""Helpers shared by the event and warehouse tests: one chdb engine per test process, event factories."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.warehouse.clickhouse_store import ClickHouseWarehouse

NOW = datetime(2024, 3, 20, 12, 0, tzinfo=UTC)

_chdb: dict[str, Client] = {}
_chdb_path: list[str] = []


def chdb_client() -> Client:
    """The process's chdb engine (chdb allows one data path per process), removed at exit."""
    if "client" not in _chdb:
        path = tempfile.mkdtemp(prefix="fp-chdb-")
        _chdb_path.append(path)
        _chdb["client"] = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        atexit.register(shutil.rmtree, path, True)
    return _chdb["client"]


def chdb_path() -> str:
    """The data path of the process's chdb engine."""
    chdb_client()
    return _chdb_path[0]


def fresh_clickhouse() -> ClickHouseWarehouse:
    """A ClickHouse warehouse in its own database, schema created."""
    warehouse = ClickHouseWarehouse(chdb_client(), database=f"t_{uuid.uuid4().hex[:12]}")
    warehouse.ensure_schema()
    return warehouse


def make_event(
    event_id: str, amount: Decimal | str | int, *, customer: str = "cust-1", **overrides: Any
) -> Event:
    """An accepted event with an ``amount`` property."""
    fields: dict[str, Any] = {
        "tenant_id": "tenant-a",
        "environment_id": "prod",
        "event_id": event_id,
        "event_name": "api_call",
        "external_customer_id": customer,
        "customer_id": None,
        "timestamp": NOW - timedelta(hours=1),
        "source": "test",
        "properties": {"amount": amount},
        "ingested_at": NOW,
    }
    fields.update(overrides)
    return Event(**fields)


def billed_totals(warehouse: Any) -> tuple[int, Decimal]:
    """``(count, sum of amount)`` over the de-duplicated view — what billing would read."""
    if warehouse.dialect == "duckdb":
        sql = (
            "SELECT count(*), coalesce(sum(CAST(json_extract_string(properties, '$.amount') AS DECIMAL(38, 6))), 0) "
            "FROM raw_events_latest"
        )
    else:
        sql = "SELECT count(), sum(toDecimal128(JSONExtractString(properties, 'amount'), 6)) FROM {db}.raw_events_latest"
    count, total = warehouse.query(sql)[0]
    return int(count), Decimal(total)


def raw_row_count(warehouse: Any) -> int:
    """Rows in ``raw_events`` including redelivered and superseded versions."""
    table = "raw_events" if warehouse.dialect == "duckdb" else "{db}.raw_events"
    return int(warehouse.query(f"SELECT count(*) FROM {table}")[0][0])


def latest_versions(warehouse: Any) -> dict[str, tuple[datetime, str, datetime]]:
    """``event_id → (timestamp, properties, ingested_at)`` as the view resolves them."""
    table = "raw_events_latest" if warehouse.dialect == "duckdb" else "{db}.raw_events_latest"
    rows = warehouse.query(f'SELECT event_id, "timestamp", properties, ingested_at FROM {table}')
    return {row[0]: (_utc(row[1]), row[2], _utc(row[3])) for row in rows}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
