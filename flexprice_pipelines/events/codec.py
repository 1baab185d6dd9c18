"""The wire format of an accepted event on the bus (outbox row or Kafka message value).

A JSON object with every ``Event`` field; timestamps are RFC 3339 in UTC with microseconds, and ``Decimal``
property values travel as strings so that no consumer in any language can turn them into floats.
``decode_event`` is the sink's gate: anything it refuses goes to the dead-letter queue with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson

from flexprice_pipelines.events.schema import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_FIELD_LENGTH,
    Event,
    holds_float,
    properties_problem,
    timestamp_problem,
)
from flexprice_pipelines.events.source import SourceMessage

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow (and the numpy and pandas it loads: ~440 modules, ~100 MB, two threads, ~2 s) is imported by the
# functions that build Arrow batches (the sink's), not with this module: the API publishes through
# ``encode_event`` and never decodes a batch, so its processes do not carry Arrow.

_REQUIRED_IDS = ("tenant_id", "environment_id", "event_id", "external_customer_id")
# Tenant and environment ids are catalog ids (VARCHAR(64) in the read model); the API never writes longer.
MAX_SCOPE_ID_LENGTH = 64
_FIELD_LIMITS = {
    "tenant_id": MAX_SCOPE_ID_LENGTH,
    "environment_id": MAX_SCOPE_ID_LENGTH,
    "event_id": MAX_FIELD_LENGTH,
    "external_customer_id": MAX_FIELD_LENGTH,
    "event_name": MAX_FIELD_LENGTH,
    "customer_id": MAX_FIELD_LENGTH,
    "source": MAX_FIELD_LENGTH,
}
# A dead letter's reason travels as a Kafka header and a DLQ column: keep it readable, not a dump.
MAX_REASON_LENGTH = 500


class PoisonMessage(ValueError):
    """A bus message that is not a valid accepted event; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        reason = bounded_reason(reason)
        super().__init__(reason)
        self.reason = reason


def bounded_reason(reason: str) -> str:
    """A dead-letter reason cut to ``MAX_REASON_LENGTH`` characters."""
    return reason if len(reason) <= MAX_REASON_LENGTH else reason[: MAX_REASON_LENGTH - 1] + "…"


def _decimal_as_string(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in an event")


def properties_json(properties: dict[str, Any]) -> str:
    """The properties as compact JSON text (Decimals as strings), as stored in ``raw_events.properties``."""
    try:
        return orjson.dumps(properties, default=_decimal_as_string).decode()
    except TypeError:
        return _dumps_exactly(properties)


def _dumps_exactly(value: Any) -> str:
    # orjson refuses integers beyond 64 bits; the standard library writes any int exactly.
    return json.dumps(value, default=_decimal_as_string, separators=(",", ":"), ensure_ascii=False)


def encode_event(event: Event) -> bytes:
    """Serialise an accepted event for the bus."""
    try:
        return _encode_fast(event)
    except TypeError:
        return _encode_exactly(event)


def _encode_exactly(event: Event) -> bytes:
    document = {
        "tenant_id": event.tenant_id,
        "environment_id": event.environment_id,
        "event_id": event.event_id,
        "event_name": event.event_name,
        "external_customer_id": event.external_customer_id,
        "customer_id": event.customer_id,
        "timestamp": _rfc3339(event.timestamp),
        "source": event.source,
        "properties": event.properties,
        "ingested_at": _rfc3339(event.ingested_at),
    }
    return _dumps_exactly(document).encode()


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _encode_fast(event: Event) -> bytes:
    return orjson.dumps(
        {
            "tenant_id": event.tenant_id,
            "environment_id": event.environment_id,
            "event_id": event.event_id,
            "event_name": event.event_name,
            "external_customer_id": event.external_customer_id,
            "customer_id": event.customer_id,
            "timestamp": event.timestamp,
            "source": event.source,
            "properties": event.properties,
            "ingested_at": event.ingested_at,
        },
        default=_decimal_as_string,
        option=orjson.OPT_UTC_Z,
    )


def _load(payload: bytes) -> Any:
    # orjson is several times faster than json; it reads non-integer numbers and integers beyond 64 bits
    # as floats, so messages holding either (only foreign producers write them) are re-read exactly.
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        data = None
    else:
        properties = data.get("properties") if type(data) is dict else None
        if not (type(properties) is dict and holds_float(properties)):
            return data
    try:
        return json.loads(payload, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise PoisonMessage(f"not JSON: {type(exc).__name__}: {exc}") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _instant(data: dict[str, Any], key: str, fallback: datetime | None) -> datetime:
    raw = data.get(key)
    if raw is None and fallback is not None:
        return fallback
    if type(raw) is not str:
        raise PoisonMessage(f"{key}: required RFC 3339 string")
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise PoisonMessage(f"{key}: not an RFC 3339 timestamp: {raw[:64]!r}") from None
    if value.utcoffset() is None:
        raise PoisonMessage(f"{key}: timestamp without UTC offset: {raw[:64]!r}")
    problem = timestamp_problem(value)
    if problem is not None:
        raise PoisonMessage(f"{key}: {problem}: {raw[:64]!r}")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return value
    if type(value) is not str:
        raise PoisonMessage(f"{key}: must be a string or null")
    return _bounded(key, value)


def _bounded(key: str, value: str) -> str:
    if len(value) > _FIELD_LIMITS[key]:
        raise PoisonMessage(f"{key}: {len(value)} characters; at most {_FIELD_LIMITS[key]}")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PoisonMessage(f"{key}: not Unicode text (a lone surrogate)") from None
    return value


def _check_properties(properties: dict[str, Any]) -> None:
    # The API's limits and numeric rule (producers may write to the topic directly), then the one thing
    # only a foreign producer can send: text that is no Unicode (an escaped lone surrogate).
    try:
        problem = properties_problem(properties)
    except TypeError as exc:
        raise PoisonMessage(f"properties: {exc}") from None
    if problem is not None:
        raise PoisonMessage(f"{problem[0]}: {problem[1]}")
    try:
        properties_json(properties).encode()
    except (TypeError, ValueError) as exc:
        raise PoisonMessage(f"properties: cannot be written as JSON text: {exc}") from None


def decode_event(payload: bytes, *, fallback_ingested_at: datetime | None = None) -> Event:
    """Parse and check one bus message; raise ``PoisonMessage`` with the reason if it is not an accepted event.

    ``fallback_ingested_at`` (the broker timestamp of a Kafka message) stands in for a missing ``ingested_at``
    when a producer writes to the topic directly; it is stable across redeliveries, so de-duplication holds.
    """
    data = _load(payload)
    if type(data) is not dict:
        raise PoisonMessage("not a JSON object")
    ids = []
    for key in _REQUIRED_IDS:
        value = data.get(key)
        if type(value) is not str or not value.strip():
            raise PoisonMessage(f"{key}: required non-empty string")
        ids.append(_bounded(key, value))
    event_name = data.get("event_name")
    if type(event_name) is not str or not event_name.strip():
        raise PoisonMessage("event_name: required non-empty string")
    _bounded("event_name", event_name)
    properties = data.get("properties", {})
    if properties is None:
        properties = {}
    elif type(properties) is not dict:
        raise PoisonMessage("properties: must be a JSON object")
    _check_properties(properties)
    return Event(
        tenant_id=ids[0],
        environment_id=ids[1],
        event_id=ids[2],
        event_name=event_name.strip(),
        external_customer_id=ids[3],
        customer_id=_optional_str(data, "customer_id"),
        timestamp=_instant(data, "timestamp", None),
        source=_optional_str(data, "source"),
        properties=properties,
        ingested_at=_instant(data, "ingested_at", fallback_ingested_at),
    )


# The ``raw_events`` column order (``warehouse.base.RAW_EVENT_COLUMNS``, which imports this module).
BATCH_COLUMNS = (
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


@cache
def _instant_type() -> pa.DataType:
    import pyarrow as pa

    return pa.timestamp("us", tz="UTC")


@dataclass(slots=True)
class DecodedBatch:
    """A batch of bus messages decoded into ``raw_events`` columns, with the refused ones set aside.

    ``dead`` holds ``(index into the messages, reason)``; ``rows[i]`` is the message index of table row ``i``.
    ``events()`` builds ``Event`` objects only for those who need them (listeners, stores without an
    Arrow insert): the warehouse insert does not.
    """

    table: pa.Table
    properties: list[dict[str, Any]]
    dead: list[tuple[int, str]]
    rows: list[int]

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @staticmethod
    def concat(parts: Sequence[DecodedBatch]) -> DecodedBatch:
        """The parts' rows as one batch, in order (their dead letters are not kept)."""
        import pyarrow as pa

        return DecodedBatch(
            pa.concat_tables([part.table for part in parts]),
            [props for part in parts for props in part.properties],
            [],
            [row for part in parts for row in part.rows],
        )

    def take(self, positions: Sequence[int]) -> DecodedBatch:
        """The batch of table rows ``positions`` (in that order), without dead letters."""
        import pyarrow as pa

        return DecodedBatch(
            self.table.take(pa.array(positions, pa.int64())),
            [self.properties[i] for i in positions],
            [],
            [self.rows[i] for i in positions],
        )

    def events(self) -> list[Event]:
        """The accepted events, in message order."""
        columns = [self.table.column(name).to_pylist() for name in BATCH_COLUMNS]
        columns[BATCH_COLUMNS.index("properties")] = self.properties
        for name in ("timestamp", "ingested_at"):
            # Arrow hands back zoneinfo UTC; ``decode_event`` gives ``datetime.UTC``: keep one kind.
            at = BATCH_COLUMNS.index(name)
            columns[at] = [value.replace(tzinfo=UTC) for value in columns[at]]
        return [Event(*row) for row in zip(*columns, strict=True)]


def decode_batch(messages: Sequence[SourceMessage]) -> DecodedBatch:
    """Decode and check a batch of bus messages at once; the result equals ``decode_event`` on each.

    Messages in the shape ``encode_event`` writes take a fast path (one ``orjson.loads``, type checks,
    column appends; timestamps are parsed by Arrow for the whole column at once). Anything else — floats,
    integers beyond 64 bits, a missing ``ingested_at``, a refusal — goes through ``decode_event``.
    """
    import pyarrow as pa

    columns: list[list[Any]] = [[] for _ in BATCH_COLUMNS]
    try:
        return _decode_batch(messages, columns, fast=True)
    except (pa.ArrowInvalid, ValueError):
        # A timestamp Arrow refuses, or one outside the range the warehouses store: ``decode_event``
        # names it (or normalises it) message by message.
        return _decode_batch(messages, [[] for _ in BATCH_COLUMNS], fast=False)


def _decode_batch(messages: Sequence[SourceMessage], columns: list[list[Any]], *, fast: bool) -> DecodedBatch:
    import pyarrow as pa

    (tenants, environments, ids, names, customers, customer_ids, timestamps, sources, texts, ingested) = (
        columns
    )
    properties: list[dict[str, Any]] = []
    dead: list[tuple[int, str]] = []
    rows: list[int] = []
    loads, dumps = orjson.loads, orjson.dumps
    scope_limit, limit = MAX_SCOPE_ID_LENGTH, MAX_FIELD_LENGTH
    for index, message in enumerate(messages):
        payload = message.payload
        if not payload:
            dead.append((index, "empty message"))
            continue
        data: Any = None
        if fast:
            try:
                data = loads(payload)
            except orjson.JSONDecodeError:
                data = None
        if type(data) is dict:
            tenant = data.get("tenant_id")
            environment = data.get("environment_id")
            event_id = data.get("event_id")
            customer = data.get("external_customer_id")
            name = data.get("event_name")
            customer_id = data.get("customer_id")
            source = data.get("source")
            timestamp = data.get("timestamp")
            ingested_at = data.get("ingested_at")
            props = data.get("properties")
            if props is None:
                props = {}
            if (
                type(tenant) is str
                and type(environment) is str
                and type(event_id) is str
                and type(customer) is str
                and type(name) is str
                and type(timestamp) is str
                and type(ingested_at) is str
                and (customer_id is None or (type(customer_id) is str and len(customer_id) <= limit))
                and (source is None or (type(source) is str and len(source) <= limit))
                and type(props) is dict
                and len(tenant) <= scope_limit
                and len(environment) <= scope_limit
                and len(event_id) <= limit
                and len(customer) <= limit
                and len(name) <= limit
                and _fits(props)
            ):
                name = name.strip()
                if tenant.strip() and environment.strip() and event_id.strip() and customer.strip() and name:
                    tenants.append(tenant)
                    environments.append(environment)
                    ids.append(event_id)
                    names.append(name)
                    customers.append(customer)
                    customer_ids.append(customer_id)
                    timestamps.append(timestamp)
                    sources.append(source)
                    texts.append(dumps(props).decode())
                    ingested.append(ingested_at)
                    properties.append(props)
                    rows.append(index)
                    continue
        try:
            event = decode_event(payload, fallback_ingested_at=message.fallback_ingested_at)
            text = properties_json(event.properties)
        except PoisonMessage as poison:
            dead.append((index, poison.reason))
            continue
        except MemoryError:
            raise
        except Exception as exc:  # no message may stop the sink: set it aside with the reason
            dead.append((index, bounded_reason(f"decode: {type(exc).__name__}: {exc}")))
            continue
        tenants.append(event.tenant_id)
        environments.append(event.environment_id)
        ids.append(event.event_id)
        names.append(event.event_name)
        customers.append(event.external_customer_id)
        customer_ids.append(event.customer_id)
        timestamps.append(_rfc3339(event.timestamp))
        sources.append(event.source)
        texts.append(text)
        ingested.append(_rfc3339(event.ingested_at))
        properties.append(event.properties)
        rows.append(index)
    arrays = [
        pa.array(column, pa.string()).cast(_instant_type())
        if name in ("timestamp", "ingested_at")
        else pa.array(column, pa.string())
        for name, column in zip(BATCH_COLUMNS, columns, strict=True)
    ]
    if fast:
        for name in ("timestamp", "ingested_at"):
            _within_range(arrays[BATCH_COLUMNS.index(name)])
    return DecodedBatch(pa.Table.from_arrays(arrays, names=list(BATCH_COLUMNS)), properties, dead, rows)


def _fits(properties: dict[str, Any]) -> bool:
    # Floats (a foreign producer's fractions) take the exact path, which re-reads them as Decimals.
    try:
        return properties_problem(properties) is None
    except TypeError:
        return False


@cache
def _range() -> tuple[pa.Scalar, pa.Scalar]:
    import pyarrow as pa

    return pa.scalar(EARLIEST_TIMESTAMP, _instant_type()), pa.scalar(LATEST_TIMESTAMP, _instant_type())


def _within_range(column: pa.Array) -> None:
    # Arrow reads any year; the warehouses store 1900–2299. The exact path names the message that is out.
    import pyarrow.compute as pc

    if len(column):
        bounds = pc.min_max(column)
        earliest, latest = _range()
        if pc.less(bounds["min"], earliest).as_py() or pc.greater_equal(bounds["max"], latest).as_py():
            raise ValueError("a timestamp outside the supported range")
