"""The pipeline's resources, chosen in one place from ``Settings``: catalog, warehouse, dbt, clock, IO.

The embedded default (SQLite catalog, DuckDB warehouse, local pickles) and production (PostgreSQL,
ClickHouse, S3) are the same resources with other URLs.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import dagster as dg
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import db
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.warehouse import Warehouse, make_warehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

_SCHEMA_READY: set[str] = set()

# Serializes warehouse steps across concurrent Dagster runs; on DuckDB the store's turns (warehouse/turns.py)
# also serialize them with processes outside Dagster (the sink, ``flexprice bill``, ``flexprice docs``).
WAREHOUSE_POOL = "warehouse_writes"


# One engine (and connection pool) per database URL for the process, until ``dispose_engines``.
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(url: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = db.make_engine(url)
        return engine


def dispose_engines() -> int:
    """Close every cached catalog engine's pooled connections and forget them; returns how many.

    For callers that replace the database under a URL (the demo wipes its home): a cached engine would
    keep reading the old file through its pooled connections. The next ``CatalogResource`` use reconnects.
    """
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        engine.dispose()
    return len(engines)


class CatalogResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The catalog + ledger database (SQLite file or PostgreSQL)."""

    database_url: str

    def sessions(self) -> sessionmaker[Session]:
        """A session factory bound to a per-process engine."""
        return db.session_factory(_engine(self.database_url))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (rolled back on exit)."""
        with self.sessions()() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction, committed on success (``BEGIN IMMEDIATE`` on SQLite)."""
        with db.write_session(self.sessions()) as session:
            yield session


class ClockResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The time the pipeline believes it is; tests and replays freeze it with ``frozen_at``."""

    frozen_at: str | None = None

    def now(self) -> datetime:
        """``frozen_at`` (ISO 8601, aware) or the wall clock, in UTC."""
        if self.frozen_at is None:
            return datetime.now(UTC)
        moment = datetime.fromisoformat(self.frozen_at)
        if moment.tzinfo is None:
            raise ValueError("ClockResource.frozen_at must carry a UTC offset")
        return moment.astimezone(UTC)


class IngestedCustomer(NamedTuple):
    """A customer with events ingested after some instant: their earliest timestamp and newest ingestion."""

    tenant_id: str
    environment_id: str
    external_customer_id: str
    earliest_timestamp: datetime
    newest_ingested_at: datetime


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Raw events (``raw_events_latest``) in DuckDB or ClickHouse."""

    url: str
    # "dbt": usage from the dbt models (fct_period_usage); "python": the reference aggregation in-process.
    usage_engine: str = "dbt"

    def store(self) -> Warehouse:
        """The warehouse adapter for ``url`` (opened per call on DuckDB); the schema is ensured once per process."""
        warehouse = make_warehouse(self.url)
        if self.url not in _SCHEMA_READY:
            warehouse.ensure_schema()
            _SCHEMA_READY.add(self.url)
        return warehouse

    def events_for_customers(
        self,
        tenant_id: str,
        environment_id: str,
        customers: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> list[WarehouseEvent]:
        """Latest versions of the customers' events with ``start <= timestamp < end`` (UTC)."""
        if not customers:
            return []
        store = self.store()
        try:
            params = _params(store.dialect, tenant_id, environment_id, customers, start, end)
            rows = store.query(_events_sql(store.dialect), params)
        finally:
            store.close()
        return [WarehouseEvent(row) for row in rows]

    @contextmanager
    def dbt_target(self) -> Iterator[tuple[Any, str]]:
        """(DuckDB connection or clickhouse-connect client, database) for ``warehouse.billing_inputs`` writers."""
        store = self.store()
        try:
            if isinstance(store, DuckDBWarehouse):
                with store.connect() as conn:
                    yield conn, "main"
            else:
                yield store.client, store.database  # type: ignore[attr-defined]
        finally:
            store.close()

    def read_usage_rows(self, tenant_id: str, periods: Sequence[str]) -> list[tuple[Any, ...]]:
        """(window_id, meter_id, quantity, event_count) of ``fct_period_usage`` for the tenant's periods."""
        return self._query(
            _dialect_sql(self._dialect(), _USAGE_SQL), {"tenant": tenant_id, "periods": list(periods)}
        )

    def read_usage_buckets(self, tenant_id: str, periods: Sequence[str]) -> list[tuple[Any, ...]]:
        """(window_id, bucket_start, bucket_quantity) of ``fct_period_usage_buckets`` for the tenant's periods."""
        return self._query(
            _dialect_sql(self._dialect(), _BUCKETS_SQL), {"tenant": tenant_id, "periods": list(periods)}
        )

    def _dialect(self) -> str:
        return "duckdb" if self.url.startswith("duckdb") else "clickhouse"

    def _query(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        store = self.store()
        try:
            return store.query(sql, params)
        finally:
            store.close()

    def customers_ingested_since(self, since: datetime) -> list[IngestedCustomer]:
        """Every customer with events ingested after ``since`` (raw versions, so corrections count too)."""
        store = self.store()
        try:
            rows = store.query(_dialect_sql(store.dialect, _INGESTED_SQL), {"since": since})
        finally:
            store.close()
        return [
            IngestedCustomer(str(t), str(e), str(c), as_utc(first), as_utc(at)) for t, e, c, first, at in rows
        ]


_USAGE_SQL = {
    "duckdb": (
        "select window_id, meter_id, quantity, event_count from fct_period_usage "
        "where tenant_id = $tenant and list_contains($periods, period_key)"
    ),
    "clickhouse": (
        "select window_id, meter_id, quantity, event_count from {db}.fct_period_usage "
        "where tenant_id = {tenant:String} and has({periods:Array(String)}, period_key)"
    ),
}
_BUCKETS_SQL = {
    "duckdb": (
        "select window_id, bucket_start, bucket_quantity from fct_period_usage_buckets "
        "where tenant_id = $tenant and list_contains($periods, period_key)"
    ),
    "clickhouse": (
        "select window_id, bucket_start, bucket_quantity from {db}.fct_period_usage_buckets "
        "where tenant_id = {tenant:String} and has({periods:Array(String)}, period_key)"
    ),
}
_INGESTED_SQL = {
    "duckdb": (
        'select tenant_id, environment_id, external_customer_id, min("timestamp"), max(ingested_at) '
        "from raw_events where ingested_at > $since group by all order by 1, 2, 3"
    ),
    "clickhouse": (
        "select tenant_id, environment_id, external_customer_id, min(timestamp), max(ingested_at) "
        "from {db}.raw_events where ingested_at > {since:DateTime64(6, 'UTC')} "
        "group by 1, 2, 3 order by 1, 2, 3"
    ),
}

_EVENT_COLUMNS = ("event_id", "event_name", "external_customer_id", "timestamp", "properties", "ingested_at")


def _dialect_sql(dialect: str, statements: dict[str, str]) -> str:
    return statements["duckdb" if dialect == "duckdb" else "clickhouse"]


def _events_sql(dialect: str, columns: Sequence[str] = _EVENT_COLUMNS) -> str:
    if dialect == "duckdb":
        listed = ", ".join('"timestamp"' if c == "timestamp" else c for c in columns)
        return (
            f"select {listed} from raw_events_latest where tenant_id = $tenant and environment_id = $env "
            'and list_contains($customers, external_customer_id) and "timestamp" >= $start '
            'and "timestamp" < $end order by external_customer_id, "timestamp"'
        )
    return (
        f"select {', '.join(columns)} from {{db}}.raw_events_latest where tenant_id = {{tenant:String}} "
        "and environment_id = {env:String} and has({customers:Array(String)}, external_customer_id) "
        "and timestamp >= {start:DateTime64(6, 'UTC')} and timestamp < {end:DateTime64(6, 'UTC')} "
        "order by external_customer_id, timestamp"
    )


def _params(
    dialect: str, tenant: str, env: str, customers: Sequence[str], start: datetime, end: datetime
) -> dict[str, Any]:
    return {"tenant": tenant, "env": env, "customers": list(customers), "start": start, "end": end}


def as_utc(value: datetime) -> datetime:
    """A warehouse timestamp as an aware UTC datetime (DuckDB returns naive UTC, ClickHouse aware)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_EVENT_KEYS = ("event_id", "event_name", "external_customer_id", "timestamp", "properties", "ingested_at")


class WarehouseEvent(Mapping[str, Any]):
    """A latest raw event version as the billing core reads it (``billing.meters.Event``), with
    ``properties`` parsed from its JSON text on first read: the usage recount reads properties only for
    meters with filters, and parsing a month of events it never reads cost more than the recount itself."""

    __slots__ = ("_fields", "_properties_text")

    def __init__(self, row: tuple[Any, ...]) -> None:
        event_id, name, customer, ts, properties, ingested = row
        self._fields: dict[str, Any] = {
            "event_id": event_id,
            "event_name": name,
            "external_customer_id": customer,
            "timestamp": as_utc(ts),
            "ingested_at": as_utc(ingested),
        }
        self._properties_text: str | None = properties

    @property
    def properties_text(self) -> str | None:
        """The raw JSON text of ``properties``, read without parsing it."""
        return self._properties_text

    def __getitem__(self, key: str) -> Any:
        if key == "properties" and key not in self._fields:
            text = self._properties_text
            self._fields[key] = json.loads(text, parse_float=Decimal) if text else {}
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_EVENT_KEYS)

    def __len__(self) -> int:
        return len(_EVENT_KEYS)


def dbt_project_dir() -> Path:
    """The dbt project at the repository root."""
    return Path(__file__).resolve().parents[2] / "dbt"


def dbt_executable() -> str:
    """``dbt`` from the venv that runs Dagster (docs/toolchain.md: DbtCliResource needs it)."""
    import sys

    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def build_resources(
    settings: Settings | None = None, *, frozen_at: str | None = None, usage_engine: str = "dbt"
) -> dict[str, Any]:
    """Every resource of the pipeline, configured from ``settings`` (the one place that chooses adapters)."""
    from flexprice_pipelines.defs.usage_dbt import DbtUsageResource

    chosen = settings or Settings()
    return {
        "catalog": CatalogResource(database_url=chosen.resolved_database_url),
        "warehouse": WarehouseResource(url=chosen.resolved_warehouse_url, usage_engine=usage_engine),
        "dbt_usage": DbtUsageResource(warehouse_url=chosen.resolved_warehouse_url),
        "clock": ClockResource(frozen_at=frozen_at),
        "io_manager": dg.FilesystemIOManager(base_dir=str(chosen.home.resolve() / "dagster_storage")),
    }
