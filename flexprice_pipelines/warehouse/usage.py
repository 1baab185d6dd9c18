"""The API's usage history reads over ``raw_events_latest``: aggregated usage and pages of raw events.

Every read is one SQL statement in the store's dialect, scoped to one tenant and environment, over the
half-open range ``start <= timestamp < end`` (after de-duplication, as billing reads). Aggregation happens
in the engine; Python only receives the aggregated rows or the one page of events it returns.

``DuckDBUsageSQL`` and ``ClickHouseUsageSQL`` hold the dialect's building blocks (placeholders, JSON
property extraction, exact decimal casts, time buckets); ``UsageReader`` assembles the statements. Values
are bound as parameters, never spliced into SQL; only fixed expressions chosen from enums are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any, ClassVar

from flexprice_pipelines.warehouse.reads import as_utc

if TYPE_CHECKING:
    from flexprice_pipelines.warehouse.base import Warehouse

# Flexprice's ``types.WindowSize`` → length (fixed sizes; WEEK and MONTH are calendar units, UTC).
WINDOW_SIZES: dict[str, timedelta] = {
    "MINUTE": timedelta(minutes=1),
    "15MIN": timedelta(minutes=15),
    "30MIN": timedelta(minutes=30),
    "HOUR": timedelta(hours=1),
    "3HOUR": timedelta(hours=3),
    "6HOUR": timedelta(hours=6),
    "12HOUR": timedelta(hours=12),
    "DAY": timedelta(days=1),
    "WEEK": timedelta(days=7),
    "MONTH": timedelta(days=28),  # the shortest month: bounds the number of windows
}
# Aggregations computed in SQL (Flexprice's names, and our MIN).
AGGREGATIONS = ("COUNT", "SUM", "AVG", "COUNT_UNIQUE", "LATEST", "SUM_WITH_MULTIPLIER", "MAX", "MIN")
# Property values read as numbers: DECIMAL(38, 18), the events' bound and the scale of ``fct_period_usage``.
SCALE = 18


@dataclass(frozen=True)
class UsageQuery:
    """One aggregated usage read: events of ``event_name`` in ``[start, end)``, optionally per window/group."""

    tenant_id: str
    environment_id: str
    event_name: str
    aggregation: str
    start: datetime
    end: datetime
    property_name: str | None = None
    multiplier: Decimal | None = None
    external_customer_id: str | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    window_size: str | None = None
    group_by: tuple[str, ...] = ()  # "source" or "properties.<key>"
    sources: tuple[str, ...] = ()  # only events of these sources (none: every source)


@dataclass(frozen=True)
class UsageRow:
    """One aggregated row: its window start (None without a window), its group values and its value."""

    window_start: datetime | None
    group: dict[str, str | None]
    value: Decimal
    event_count: int


@dataclass(frozen=True)
class UsageResult:
    """The total over the whole range and the rows per window/group (empty without either)."""

    value: Decimal
    event_count: int
    rows: list[UsageRow] = field(default_factory=list)


@dataclass(frozen=True)
class EventsQuery:
    """A page of latest event versions in ``[start, end)``, newest first by default."""

    tenant_id: str
    environment_id: str
    start: datetime
    end: datetime
    limit: int
    offset: int = 0
    event_name: str | None = None
    external_customer_id: str | None = None
    event_id: str | None = None
    source: str | None = None
    property_filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sort: str = "timestamp"  # or "event_name"
    descending: bool = True


@dataclass(frozen=True)
class StoredEvent:
    """An event as the read endpoints return it (its latest version)."""

    event_id: str
    event_name: str
    external_customer_id: str
    customer_id: str | None
    timestamp: datetime
    source: str | None
    properties: str  # JSON text, numbers kept exactly (decimals as strings)
    environment_id: str
    ingested_at: datetime


_EVENT_SELECT = (
    "event_id, event_name, external_customer_id, customer_id, {ts}, source, properties, environment_id, "
    "ingested_at"
)


class _Params:
    """Collects bound parameters under generated names."""

    def __init__(self, sql: type[UsageSQL]) -> None:
        self.sql = sql
        self.values: dict[str, Any] = {}

    def add(self, value: Any, kind: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return self.sql.placeholder(name, kind)


class UsageSQL:
    """A dialect's building blocks; ``kind`` is ``text``, ``texts`` (a list of text) or ``instant``."""

    TABLE: ClassVar[str]
    TIMESTAMP: ClassVar[str]

    @classmethod
    def placeholder(cls, name: str, kind: str) -> str:
        raise NotImplementedError

    @classmethod
    def property_text(cls, params: _Params, key: str) -> str:
        """The property ``key`` as text (numbers in their JSON spelling, strings unquoted), NULL if absent."""
        raise NotImplementedError

    @classmethod
    def number(cls, text: str) -> str:
        """``text`` as an exact decimal, NULL if it is not a number."""
        raise NotImplementedError

    @classmethod
    def in_list(cls, expression: str, placeholder: str) -> str:
        raise NotImplementedError

    @classmethod
    def window(cls, size: str) -> str:
        """The start of the window (UTC) of ``size`` holding the event's timestamp."""
        raise NotImplementedError

    LATEST: ClassVar[str]  # "{value}" the value of the latest event
    COUNT_DISTINCT: ClassVar[str]  # "{value}"


class DuckDBUsageSQL(UsageSQL):
    TABLE = "raw_events_latest"
    TIMESTAMP = '"timestamp"'
    LATEST = 'arg_max({value}, "timestamp")'
    COUNT_DISTINCT = "count(DISTINCT {value})"
    _FIXED: ClassVar[dict[str, str]] = {
        "MINUTE": "minute",
        "HOUR": "hour",
        "DAY": "day",
        "WEEK": "week",
        "MONTH": "month",
    }
    _BUCKET: ClassVar[dict[str, str]] = {
        "15MIN": "15 minutes",
        "30MIN": "30 minutes",
        "3HOUR": "3 hours",
        "6HOUR": "6 hours",
        "12HOUR": "12 hours",
    }
    _KINDS: ClassVar[dict[str, str]] = {"text": "VARCHAR", "texts": "VARCHAR[]", "instant": "TIMESTAMPTZ"}

    @classmethod
    def placeholder(cls, name: str, kind: str) -> str:
        return f"CAST(${name} AS {cls._KINDS[kind]})"

    @classmethod
    def property_text(cls, params: _Params, key: str) -> str:
        path = params.add('$."' + key.replace('"', '\\"') + '"', "text")
        return f"json_extract_string(properties, {path})"

    @classmethod
    def number(cls, text: str) -> str:
        return f"TRY_CAST({text} AS DECIMAL(38, {SCALE}))"

    @classmethod
    def in_list(cls, expression: str, placeholder: str) -> str:
        return f"list_contains({placeholder}, {expression})"

    @classmethod
    def window(cls, size: str) -> str:
        if size in cls._FIXED:
            return f"date_trunc('{cls._FIXED[size]}', \"timestamp\")"
        return f"time_bucket(INTERVAL '{cls._BUCKET[size]}', \"timestamp\", TIMESTAMPTZ '1970-01-01 00:00:00+00')"


class ClickHouseUsageSQL(UsageSQL):
    TABLE = "{db}.raw_events_latest"
    TIMESTAMP = "timestamp"
    LATEST = "argMax({value}, timestamp)"
    COUNT_DISTINCT = "uniqExact({value})"
    _WINDOWS: ClassVar[dict[str, str]] = {
        "MINUTE": "toStartOfInterval(timestamp, INTERVAL 1 minute)",
        "15MIN": "toStartOfInterval(timestamp, INTERVAL 15 minute)",
        "30MIN": "toStartOfInterval(timestamp, INTERVAL 30 minute)",
        "HOUR": "toStartOfInterval(timestamp, INTERVAL 1 hour)",
        "3HOUR": "toStartOfInterval(timestamp, INTERVAL 3 hour)",
        "6HOUR": "toStartOfInterval(timestamp, INTERVAL 6 hour)",
        "12HOUR": "toStartOfInterval(timestamp, INTERVAL 12 hour)",
        "DAY": "toStartOfDay(timestamp)",
        "WEEK": "toMonday(timestamp)",
        "MONTH": "toStartOfMonth(timestamp)",
    }
    _KINDS: ClassVar[dict[str, str]] = {
        "text": "String",
        "texts": "Array(String)",
        "instant": "DateTime64(6, 'UTC')",
    }

    @classmethod
    def placeholder(cls, name: str, kind: str) -> str:
        return "{" + f"{name}:{cls._KINDS[kind]}" + "}"

    @classmethod
    def property_text(cls, params: _Params, key: str) -> str:
        k = params.add(key, "text")
        return (
            f"if(JSONHas(properties, {k}), if(JSONType(properties, {k}) = 'String', "
            f"JSONExtractString(properties, {k}), JSONExtractRaw(properties, {k})), NULL)"
        )

    @classmethod
    def number(cls, text: str) -> str:
        return f"toDecimal128OrNull(toString({text}), {SCALE})"

    @classmethod
    def in_list(cls, expression: str, placeholder: str) -> str:
        return f"has({placeholder}, {expression})"

    @classmethod
    def window(cls, size: str) -> str:
        return f"toDateTime({cls._WINDOWS[size]}, 'UTC')"


def usage_sql(warehouse: Warehouse) -> type[UsageSQL]:
    """The building blocks of the warehouse's dialect."""
    return DuckDBUsageSQL if warehouse.dialect == "duckdb" else ClickHouseUsageSQL


def _where(
    sql: type[UsageSQL],
    params: _Params,
    tenant_id: str,
    environment_id: str,
    start: datetime,
    end: datetime,
    equal: Sequence[tuple[str, str | None]],
    filters: Sequence[tuple[str, tuple[str, ...]]],
    sources: Sequence[str] = (),
) -> str:
    # Tenant and environment first: they are the de-duplication's grouping keys, pushed below it.
    clauses = [
        f"tenant_id = {params.add(tenant_id, 'text')}",
        f"environment_id = {params.add(environment_id, 'text')}",
        f"{sql.TIMESTAMP} >= {params.add(start, 'instant')}",
        f"{sql.TIMESTAMP} < {params.add(end, 'instant')}",
    ]
    clauses += [f"{column} = {params.add(value, 'text')}" for column, value in equal if value is not None]
    if sources:
        clauses.append(sql.in_list("source", params.add(list(sources), "texts")))
    for key, values in filters:
        clauses.append(sql.in_list(sql.property_text(params, key), params.add(list(values), "texts")))
    return " AND ".join(clauses)


class UsageReader:
    """The usage read endpoints' SQL over one warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.sql = usage_sql(warehouse)

    def usage(self, query: UsageQuery) -> UsageResult:
        """The total over ``[start, end)`` and, with a window size or group_by, the rows per window/group."""
        total = self._total(query)
        value, count = total[0] if total else (Decimal(0), 0)
        rows: list[UsageRow] = []
        if query.window_size is not None or query.group_by:
            rows = self._rows(query)
        return UsageResult(value, count, rows)

    def _rows(self, query: UsageQuery) -> list[UsageRow]:
        params = _Params(self.sql)
        select, keys = self._dimensions(query, params)
        statement = self._statement(query, params, select)
        result = []
        for row in self.warehouse.query(statement, params.values):
            width = len(select)
            window = as_utc(_instant(row[0])) if query.window_size is not None else None
            groups = row[1 if query.window_size is not None else 0 : width]
            value = self._value(query, row[width], row[width + 1])
            result.append(UsageRow(window, dict(zip(keys, groups, strict=True)), value, int(row[width + 2])))
        return result

    def _total(self, query: UsageQuery) -> list[tuple[Decimal, int]]:
        params = _Params(self.sql)
        statement = self._statement(query, params, [])
        return [
            (self._value(query, first, second), int(count))
            for first, second, count in self.warehouse.query(statement, params.values)
        ]

    def _dimensions(self, query: UsageQuery, params: _Params) -> tuple[list[str], list[str]]:
        select: list[str] = []
        if query.window_size is not None:
            select.append(self.sql.window(query.window_size))
        keys = list(query.group_by)
        for key in keys:
            if key == "source":
                select.append("source")
            else:
                select.append(self.sql.property_text(params, key.removeprefix("properties.")))
        return select, keys

    def _statement(self, query: UsageQuery, params: _Params, dimensions: list[str]) -> str:
        # The dimensions' parameters come first in the select list, so they are added first.
        value = "NULL"
        if query.property_name is not None and query.aggregation != "COUNT":
            value = self.sql.property_text(params, query.property_name)
        number = self.sql.number(value)
        first, second = {
            "COUNT": ("count(*)", "NULL"),
            "SUM": (f"sum({number})", "NULL"),
            "SUM_WITH_MULTIPLIER": (f"sum({number})", "NULL"),
            "AVG": (f"sum({number})", f"count({number})"),
            "MAX": (f"max({number})", "NULL"),
            "MIN": (f"min({number})", "NULL"),
            "LATEST": (self.sql.LATEST.format(value=number), "NULL"),
            "COUNT_UNIQUE": (self.sql.COUNT_DISTINCT.format(value=value), "NULL"),
        }[query.aggregation]
        where = _where(
            self.sql,
            params,
            query.tenant_id,
            query.environment_id,
            query.start,
            query.end,
            [("event_name", query.event_name), ("external_customer_id", query.external_customer_id)],
            query.filters,
            query.sources,
        )
        columns = [*dimensions, f"{first} AS v1", f"{second} AS v2", "count(*) AS n"]
        statement = f"SELECT {', '.join(columns)} FROM {self.sql.TABLE} WHERE {where}"
        if dimensions:
            positions = ", ".join(str(i + 1) for i in range(len(dimensions)))
            statement += f" GROUP BY {positions} ORDER BY {positions}"
        return statement

    @staticmethod
    def _value(query: UsageQuery, first: Any, second: Any) -> Decimal:
        with localcontext(prec=80):  # exact for 38-digit values times a multiplier, and for averages
            return UsageReader._exact(query, first, second)

    @staticmethod
    def _exact(query: UsageQuery, first: Any, second: Any) -> Decimal:
        if first is None:
            return Decimal(0)
        value = Decimal(str(first))
        if query.aggregation == "AVG":
            count = int(second or 0)
            return _normal((value / count).quantize(Decimal(1).scaleb(-SCALE))) if count else Decimal(0)
        if query.aggregation == "SUM_WITH_MULTIPLIER" and query.multiplier is not None:
            value *= query.multiplier
        return _normal(value)

    def events(self, query: EventsQuery) -> tuple[list[StoredEvent], int]:
        """One page of latest event versions and how many match in all."""
        params = _Params(self.sql)
        where = _where(
            self.sql,
            params,
            query.tenant_id,
            query.environment_id,
            query.start,
            query.end,
            [
                ("event_name", query.event_name),
                ("external_customer_id", query.external_customer_id),
                ("event_id", query.event_id),
                ("source", query.source),
            ],
            query.property_filters,
        )
        direction = "DESC" if query.descending else "ASC"
        order = self.sql.TIMESTAMP if query.sort == "timestamp" else "event_name"
        count = self.warehouse.query(f"SELECT count(*) FROM {self.sql.TABLE} WHERE {where}", params.values)
        total = int(count[0][0]) if count else 0
        if total <= query.offset:
            return [], total
        columns = _EVENT_SELECT.format(ts=self.sql.TIMESTAMP)
        statement = (
            f"SELECT {columns} FROM {self.sql.TABLE} WHERE {where} "
            f"ORDER BY {order} {direction}, event_id {direction} LIMIT {int(query.limit)} OFFSET {int(query.offset)}"
        )
        return [_event(row) for row in self.warehouse.query(statement, params.values)], total

    def event(self, tenant_id: str, environment_id: str, event_id: str) -> StoredEvent | None:
        """The latest version of one event of the tenant, by id, whatever its timestamp."""
        params = _Params(self.sql)
        where = (
            f"tenant_id = {params.add(tenant_id, 'text')} AND environment_id = "
            f"{params.add(environment_id, 'text')} AND event_id = {params.add(event_id, 'text')}"
        )
        columns = _EVENT_SELECT.format(ts=self.sql.TIMESTAMP)
        rows = self.warehouse.query(
            f"SELECT {columns} FROM {self.sql.TABLE} WHERE {where} LIMIT 1", params.values
        )
        return _event(rows[0]) if rows else None


def _event(row: tuple[Any, ...]) -> StoredEvent:
    event_id, name, external, customer, ts, source, properties, env, ingested = row
    return StoredEvent(
        str(event_id),
        str(name),
        str(external),
        customer,
        as_utc(ts),
        source,
        str(properties),
        str(env),
        as_utc(ingested),
    )


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)  # a ClickHouse Date


def _normal(value: Decimal) -> Decimal:
    """Drop the trailing zeros of the 12-place scale (``12.500000000000`` → ``12.5``), keep integers plain."""
    # Not ``normalize()``: it rounds to the context's 28 digits, and 38-digit sums must stay exact.
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return Decimal(text)
