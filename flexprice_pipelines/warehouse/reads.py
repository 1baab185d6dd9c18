"""What the billing pipeline reads back from the warehouse, as plain values both stores return.

The SQL of each read is the store's own (``duckdb_store.py``, ``clickhouse_store.py``: one dialect each); this
module holds what the rows become, so a row means the same on DuckDB and on ClickHouse.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple

# The columns ``events_for_customers`` selects from ``raw_events_latest``, in ``WarehouseEvent`` row order.
EVENT_COLUMNS = ("event_id", "event_name", "external_customer_id", "timestamp", "properties", "ingested_at")
_EVENT_KEYS = EVENT_COLUMNS


def as_utc(value: datetime) -> datetime:
    """A warehouse timestamp as an aware UTC datetime (DuckDB returns naive UTC, ClickHouse aware)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class IngestedCustomer(NamedTuple):
    """A customer with events ingested after some instant: their earliest timestamp and newest ingestion."""

    tenant_id: str
    environment_id: str
    external_customer_id: str
    earliest_timestamp: datetime
    newest_ingested_at: datetime


def ingested_customers(rows: list[tuple[Any, ...]]) -> list[IngestedCustomer]:
    """``(tenant, environment, customer, min timestamp, max ingested_at)`` rows as ``IngestedCustomer``."""
    return [
        IngestedCustomer(str(t), str(e), str(c), as_utc(first), as_utc(at)) for t, e, c, first, at in rows
    ]


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


class BillingReads:
    """The billing pipeline's reads, one body for every store: a store supplies ``query`` and its dialect's SQL.

    Each statement takes the parameters its method passes (``tenant``, ``env``, ``customers``, ``start``, ``end``,
    ``periods``, ``period``, ``since``), spelled in the store's own parameter syntax.
    """

    EVENTS_SQL: ClassVar[str]
    USAGE_SQL: ClassVar[str]
    BUCKETS_SQL: ClassVar[str]
    FCT_CONSISTENCY_SQL: ClassVar[str]
    INGESTED_SQL: ClassVar[str]

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        raise NotImplementedError

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
        params = {"tenant": tenant_id, "env": environment_id, "customers": list(customers), "start": start}
        rows = self.query(self.EVENTS_SQL, {**params, "end": end})
        return [WarehouseEvent(row) for row in rows]

    def period_usage_rows(self, tenant_id: str, periods: Sequence[str]) -> list[tuple[Any, ...]]:
        """(window_id, meter_id, quantity, event_count) of ``fct_period_usage`` for the tenant's periods."""
        return self.query(self.USAGE_SQL, {"tenant": tenant_id, "periods": list(periods)})

    def period_usage_buckets(self, tenant_id: str, periods: Sequence[str]) -> list[tuple[Any, ...]]:
        """(window_id, bucket_start, bucket_quantity) of ``fct_period_usage_buckets`` for the tenant's periods."""
        return self.query(self.BUCKETS_SQL, {"tenant": tenant_id, "periods": list(periods)})

    def period_usage_intervals(self, tenant_id: str, period_key: str) -> list[tuple[Any, ...]]:
        """(environment, customer, meter, window_start, window_end, usage_start, aggregation, quantity) of
        ``fct_period_usage`` for one period: what the usage consistency check compares."""
        return self.query(self.FCT_CONSISTENCY_SQL, {"tenant": tenant_id, "period": period_key})

    def customers_ingested_since(self, since: datetime) -> list[IngestedCustomer]:
        """Every customer with events ingested after ``since`` (raw versions, so corrections count too)."""
        return ingested_customers(self.query(self.INGESTED_SQL, {"since": since}))
