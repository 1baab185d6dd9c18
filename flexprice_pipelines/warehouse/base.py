"""The ``Warehouse`` protocol, the ``raw_events`` columns, and the choice of store by URL.

``raw_events`` is append-only: one row per received version of an event. Redelivery after a crash appends an
identical row; a re-sent ``event_id`` appends its new version. Reads used for billing go through the view
``raw_events_latest`` — one row per ``(tenant_id, environment_id, event_id)``, the one with the greatest
``ingested_at`` (ties: later ``timestamp``, then greater ``properties`` text, so both stores pick the same row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from flexprice_pipelines.events.codec import properties_json
from flexprice_pipelines.events.schema import Event

if TYPE_CHECKING:
    from flexprice_pipelines.warehouse.reads import IngestedCustomer, WarehouseEvent

RAW_EVENT_COLUMNS = (
    "tenant_id",
    "environment_id",
    "event_id",
    "event_name",
    "external_customer_id",
    "customer_id",
    "timestamp",
    "source",
    "properties",
    "ingested_at",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_INSTANT = pa.timestamp("us", tz="UTC")


class Warehouse(Protocol):
    """Where raw events land and billing reads start."""

    dialect: str

    def ensure_schema(self) -> None:
        """Create ``raw_events`` and ``raw_events_latest`` if missing."""
        ...

    def insert_events(self, events: Sequence[Event]) -> int:
        """Append the events (idempotent under redelivery via the read-time view); return the row count."""
        ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read in the store's own dialect."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    # The billing pipeline's reads and dbt inputs (each store has the SQL of its dialect).

    def events_for_customers(
        self,
        tenant_id: str,
        environment_id: str,
        customers: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> list[WarehouseEvent]:
        """Latest versions of the customers' events with ``start <= timestamp < end`` (UTC)."""
        ...

    def period_usage_rows(self, tenant_id: str, periods: Sequence[str]) -> list[tuple[Any, ...]]:
        """(window_id, meter_id, quantity, event_count) of ``fct_period_usage`` for the tenant's periods."""
        ...

    def period_usage_buckets(self, tenant_id: str, periods: Sequence[str]) -> list[tuple[Any, ...]]:
        """(window_id, bucket_start, bucket_quantity) of ``fct_period_usage_buckets`` for the tenant's periods."""
        ...

    def period_usage_intervals(self, tenant_id: str, period_key: str) -> list[tuple[Any, ...]]:
        """``fct_period_usage`` rows of one period keyed by the interval counted (the consistency check)."""
        ...

    def customers_ingested_since(self, since: datetime) -> list[IngestedCustomer]:
        """Every customer with events ingested after ``since`` (raw versions, so corrections count too)."""
        ...

    def billing_inputs_target(self) -> AbstractContextManager[tuple[Any, str]]:
        """(DuckDB connection or clickhouse-connect client, database) for ``billing_inputs`` writers."""
        ...


def events_to_arrow(events: Sequence[Event]) -> pa.Table:
    """The events as an Arrow table in ``RAW_EVENT_COLUMNS`` order (the fast insert path of both stores)."""
    # Integers convert to Arrow far faster than datetime objects.
    timestamps = pa.array([(e.timestamp - _EPOCH) // _MICROSECOND for e in events], pa.int64()).cast(_INSTANT)
    ingested = pa.array([(e.ingested_at - _EPOCH) // _MICROSECOND for e in events], pa.int64()).cast(_INSTANT)
    return pa.Table.from_arrays(
        [
            pa.array([e.tenant_id for e in events], pa.string()),
            pa.array([e.environment_id for e in events], pa.string()),
            pa.array([e.event_id for e in events], pa.string()),
            pa.array([e.event_name for e in events], pa.string()),
            pa.array([e.external_customer_id for e in events], pa.string()),
            pa.array([e.customer_id for e in events], pa.string()),
            timestamps,
            pa.array([e.source for e in events], pa.string()),
            pa.array([properties_json(e.properties) for e in events], pa.string()),
            ingested,
        ],
        names=list(RAW_EVENT_COLUMNS),
    )


def make_warehouse(url: str) -> Warehouse:
    """The store named by ``FLEXPRICE_WAREHOUSE_URL``: ``duckdb:///path``, ``clickhouse://host:8123/db``, ``chdb:///path``."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "duckdb":
        from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

        return DuckDBWarehouse(url.removeprefix(f"{url.split('://', 1)[0]}:///"))
    if scheme in {"clickhouse", "clickhouses", "chdb"}:
        from flexprice_pipelines.warehouse.clickhouse_store import ClickHouseWarehouse

        return ClickHouseWarehouse.from_url(url)
    raise ValueError(
        f"unsupported warehouse URL {url!r}: use duckdb:///…, clickhouse://host:8123/db or chdb:///…"
    )
