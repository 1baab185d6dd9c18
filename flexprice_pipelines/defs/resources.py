"""The pipeline's resources, chosen in one place from ``Settings``: catalog, warehouse, dbt, clock, IO.

The embedded default (SQLite catalog, DuckDB warehouse, local pickles) and production (PostgreSQL,
ClickHouse, S3) are the same resources with other URLs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import db
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.warehouse import Warehouse, make_warehouse

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


class WarehouseResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Raw events (``raw_events_latest``) and the dbt models in DuckDB or ClickHouse.

    Only the choice of store: the reads and the dbt inputs are methods of the store (``Warehouse``), each in
    its own dialect (``warehouse/duckdb_store.py``, ``warehouse/clickhouse_store.py``).
    """

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

    @contextmanager
    def open(self) -> Iterator[Warehouse]:
        """The store for the block, closed on exit."""
        store = self.store()
        try:
            yield store
        finally:
            store.close()


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
