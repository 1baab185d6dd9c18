"""Reading and writing window rows and per-event rows (SQLAlchemy Core, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter, namedtuple
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.meters import AggregationType, Meter
from flexprice_pipelines.catalog.models import utcnow
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.usage.state import MeterEvent, WindowState, bucket_maxima, fold, is_bucketed_max
from flexprice_pipelines.usage.tables import meter_events, window_buckets, window_values, windows

WindowKey = tuple[str, str, datetime, datetime]
"""(external_customer_id, meter_id, window_start, window_end)"""


def lock_scope(session: Session, scope: Scope) -> None:
    """Serialize read-model writers of one tenant + environment on PostgreSQL (SQLite writers are
    already serialized by ``BEGIN IMMEDIATE``): folding a new window must see every committed event."""
    if session.get_bind().dialect.name == "postgresql":
        key = f"usage:{scope.tenant_id}:{scope.environment_id}"
        session.execute(text("select pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def _scope_filter(table: Any, scope: Scope) -> Any:
    return and_(table.c.tenant_id == scope.tenant_id, table.c.environment_id == scope.environment_id)


def _window_filter(table: Any, scope: Scope, key: WindowKey) -> Any:
    customer, meter_id, start, end = key
    return and_(
        _scope_filter(table, scope),
        table.c.external_customer_id == customer,
        table.c.meter_id == meter_id,
        table.c.window_start == start,
        table.c.window_end == end,
    )


def _window_columns(scope: Scope, key: WindowKey) -> dict[str, Any]:
    """The identity columns of a window's rows (the write-side twin of ``_window_filter``)."""
    customer, meter_id, start, end = key
    return {
        "tenant_id": scope.tenant_id,
        "environment_id": scope.environment_id,
        "external_customer_id": customer,
        "meter_id": meter_id,
        "window_start": start,
        "window_end": end,
    }


def row_event(row: Any) -> MeterEvent:
    """A ``usage_meter_events`` row as a ``MeterEvent``."""
    return MeterEvent(
        event_id=row.event_id,
        meter_id=row.meter_id,
        external_customer_id=row.external_customer_id,
        timestamp=row.timestamp,
        ingested_at=row.ingested_at,
        value=row.value,
        unique_value=row.unique_value,
    )


def window_state(row: Any) -> WindowState:
    """A ``usage_windows`` row as a ``WindowState``."""
    latest = None
    if row.latest_value is not None:
        latest = (row.latest_timestamp, row.latest_ingested_at, row.latest_event_id, row.latest_value)
    return WindowState(
        start=row.window_start,
        end=row.window_end,
        event_count=row.event_count,
        value_count=row.value_count,
        value_sum=row.value_sum,
        weighted_sum=row.weighted_sum,
        value_min=row.value_min,
        value_max=row.value_max,
        latest=latest,
        unique_count=row.unique_count,
        bucket_max_total=row.bucket_max_total,
    )


def _state_values(state: WindowState) -> dict[str, Any]:
    latest = state.latest
    return {
        "event_count": state.event_count,
        "value_count": state.value_count,
        "value_sum": state.value_sum,
        "weighted_sum": state.weighted_sum,
        "value_min": state.value_min,
        "value_max": state.value_max,
        "latest_timestamp": latest[0] if latest else None,
        "latest_ingested_at": latest[1] if latest else None,
        "latest_event_id": latest[2] if latest else None,
        "latest_value": latest[3] if latest else None,
        "unique_count": state.unique_count,
        "bucket_max_total": state.bucket_max_total,
        "updated_at": utcnow(),
    }


def windows_containing(
    session: Session, scope: Scope, customer: str, meter_id: str, instant: datetime
) -> list[Any]:
    """The tracked window rows of (customer, meter) holding ``instant`` (few: only windows ending later)."""
    statement = select(windows).where(
        _scope_filter(windows, scope),
        windows.c.external_customer_id == customer,
        windows.c.meter_id == meter_id,
        windows.c.window_end > instant,
        windows.c.window_start <= instant,
    )
    return list(session.execute(statement))


# Built once: on the check's hot path, building the expression costs more than running it.
_GET_WINDOW = select(windows).where(
    windows.c.tenant_id == bindparam("tenant_id"),
    windows.c.environment_id == bindparam("environment_id"),
    windows.c.external_customer_id == bindparam("customer"),
    windows.c.meter_id == bindparam("meter_id"),
    windows.c.window_start == bindparam("start", type_=windows.c.window_start.type),
    windows.c.window_end == bindparam("end", type_=windows.c.window_end.type),
)


# A window row read without SQLAlchemy's result machinery: attribute access like a ``Row``.
WindowRow = namedtuple("WindowRow", [column.name for column in windows.columns])  # type: ignore[misc]


class _RawWindowRead:
    """``_GET_WINDOW`` compiled once for a dialect, run on a pooled DBAPI connection: a check outside
    any transaction needs one statement, not the Session's begin / execute / rollback machinery."""

    def __init__(self, dialect: Any) -> None:
        compiled = _GET_WINDOW.compile(dialect=dialect)
        self.sql = compiled.string
        self.order = list(compiled.positiontup or ()) if compiled.positional else None
        self.binds = {
            name: windows.c[column].type.dialect_impl(dialect).bind_processor(dialect)
            for name, column in (("start", "window_start"), ("end", "window_end"))
        }
        self.dialect = dialect
        self.results: list[Any] | None = None  # per column, from the first result's type codes

    def _processors(self, description: Any) -> list[Any]:
        # PostgreSQL's numeric processors pick their conversion from the column's type code.
        dialect = self.dialect
        return [
            column.type.dialect_impl(dialect).result_processor(dialect, described[1])
            for column, described in zip(windows.columns, description, strict=True)
        ]

    def read(self, engine: Any, parameters: dict[str, Any]) -> Any | None:
        for name, process in self.binds.items():
            if process is not None:
                parameters[name] = process(parameters[name])
        bound = tuple(parameters[name] for name in self.order) if self.order is not None else parameters
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(self.sql, bound)
            raw = cursor.fetchone()
            if self.results is None:
                self.results = self._processors(cursor.description)
            cursor.close()
        finally:
            connection.close()
        if raw is None:
            return None
        processors = self.results or []
        return WindowRow._make(v if f is None else f(v) for f, v in zip(processors, raw, strict=True))


_raw_reads: dict[tuple[str, str], _RawWindowRead] = {}


def get_window(session: Session, scope: Scope, key: WindowKey) -> Any | None:
    """The window row of ``key``, or None when the window is not tracked yet.

    Outside a transaction (a check whose catalog configuration is cached) the row is read straight
    from a pooled connection; inside one, through the session, so its own writes are seen.
    """
    customer, meter_id, start, end = key
    parameters = {
        "tenant_id": scope.tenant_id,
        "environment_id": scope.environment_id,
        "customer": customer,
        "meter_id": meter_id,
        "start": start,
        "end": end,
    }
    if not session.in_transaction():
        engine = session.get_bind()
        dialect = engine.dialect
        reader = _raw_reads.get((dialect.name, dialect.driver))
        if reader is None:
            reader = _raw_reads[(dialect.name, dialect.driver)] = _RawWindowRead(dialect)
        return reader.read(engine, parameters)
    return session.execute(_GET_WINDOW, parameters).first()


def window_events(
    session: Session, scope: Scope, customer: str, meter_id: str, start: datetime, end: datetime
) -> list[MeterEvent]:
    """Per-event rows of (customer, meter) with ``start <= timestamp < end``."""
    statement = select(meter_events).where(
        _scope_filter(meter_events, scope),
        meter_events.c.external_customer_id == customer,
        meter_events.c.meter_id == meter_id,
        meter_events.c.timestamp >= start,
        meter_events.c.timestamp < end,
    )
    return [row_event(row) for row in session.execute(statement)]


def write_state(session: Session, scope: Scope, key: WindowKey, state: WindowState, *, billing: bool) -> None:
    """Store ``state`` on the existing window row of ``key``."""
    values = _state_values(state)
    if billing:
        values["is_billing_window"] = True
    session.execute(update(windows).where(_window_filter(windows, scope, key)).values(**values))


def insert_window(
    session: Session, scope: Scope, key: WindowKey, state: WindowState, *, billing: bool
) -> None:
    """Create the window row of ``key`` holding ``state`` (its distinct-value and bucket rows are the caller's)."""
    session.execute(
        insert(windows).values(
            **_window_columns(scope, key), is_billing_window=billing, **_state_values(state)
        )
    )


def materialize(
    session: Session, scope: Scope, key: WindowKey, meter: Meter, *, billing: bool
) -> WindowState:
    """Create the window row of ``key`` (and its distinct-value and bucket rows) from per-event rows."""
    customer, meter_id, start, end = key
    events = window_events(session, scope, customer, meter_id, start, end)
    state = fold(meter, start, end, events)
    insert_window(session, scope, key, state, billing=billing)
    base = _window_columns(scope, key)
    if meter.aggregation.type is AggregationType.COUNT_UNIQUE:
        counts = Counter(e.unique_value for e in events if e.unique_value is not None)
        if counts:
            session.execute(
                insert(window_values), [{**base, "unique_value": v, "refcount": n} for v, n in counts.items()]
            )
    if is_bucketed_max(meter):
        maxima = bucket_maxima(meter, events)
        if maxima:
            session.execute(
                insert(window_buckets),
                [{**base, "bucket_start": b, "bucket_max": m} for b, m in maxima.items()],
            )
    return state


def change_unique(session: Session, scope: Scope, key: WindowKey, value: str, delta: int) -> int:
    """Add ``delta`` (±1) to the refcount of ``value`` in the window; returns the change (±1 or 0)
    of the window's number of distinct values."""
    where = and_(_window_filter(window_values, scope, key), window_values.c.unique_value == value)
    current = session.execute(select(window_values.c.refcount).where(where)).scalar()
    if current is None:
        if delta < 0:
            return 0
        session.execute(
            insert(window_values).values(**_window_columns(scope, key), unique_value=value, refcount=delta)
        )
        return 1
    if current + delta <= 0:
        session.execute(delete(window_values).where(where))
        return -1
    session.execute(update(window_values).where(where).values(refcount=current + delta))
    return 0


def bucket_max(session: Session, scope: Scope, key: WindowKey, bucket: datetime) -> Decimal | None:
    """The stored maximum of one bucket of the window (None when the bucket holds no value)."""
    where = and_(_window_filter(window_buckets, scope, key), window_buckets.c.bucket_start == bucket)
    value: Decimal | None = session.execute(select(window_buckets.c.bucket_max).where(where)).scalar()
    return value


def set_bucket_max(
    session: Session, scope: Scope, key: WindowKey, bucket: datetime, value: Decimal | None, *, exists: bool
) -> None:
    """Store (or with ``value`` None, drop) one bucket's maximum."""
    where = and_(_window_filter(window_buckets, scope, key), window_buckets.c.bucket_start == bucket)
    if value is None:
        session.execute(delete(window_buckets).where(where))
    elif exists:
        session.execute(update(window_buckets).where(where).values(bucket_max=value))
    else:
        session.execute(
            insert(window_buckets).values(
                **_window_columns(scope, key), bucket_start=bucket, bucket_max=value
            )
        )


def has_buckets(session: Session, scope: Scope, key: WindowKey) -> bool:
    """Whether any bucket of the window holds a value."""
    statement = (
        select(window_buckets.c.bucket_start).where(_window_filter(window_buckets, scope, key)).limit(1)
    )
    return session.execute(statement).first() is not None


def event_rows(session: Session, scope: Scope, event_id: str) -> list[MeterEvent]:
    """The per-meter rows of one event id."""
    statement = select(meter_events).where(
        _scope_filter(meter_events, scope), meter_events.c.event_id == event_id
    )
    return [row_event(row) for row in session.execute(statement)]


def delete_event_rows(session: Session, scope: Scope, event_id: str) -> None:
    """Drop every per-meter row of one event id."""
    session.execute(
        delete(meter_events).where(_scope_filter(meter_events, scope), meter_events.c.event_id == event_id)
    )


def insert_event_rows(session: Session, scope: Scope, rows: Sequence[MeterEvent]) -> None:
    """Store per-meter rows."""
    if not rows:
        return
    session.execute(
        insert(meter_events),
        [
            {
                "tenant_id": scope.tenant_id,
                "environment_id": scope.environment_id,
                "event_id": r.event_id,
                "meter_id": r.meter_id,
                "external_customer_id": r.external_customer_id,
                "timestamp": r.timestamp,
                "ingested_at": r.ingested_at,
                "value": r.value,
                "unique_value": r.unique_value,
            }
            for r in rows
        ],
    )


def events_in(rows: Iterable[MeterEvent], start: datetime, end: datetime) -> list[MeterEvent]:
    """The events of ``rows`` with ``start <= timestamp < end``."""
    return [r for r in rows if start <= r.timestamp < end]
