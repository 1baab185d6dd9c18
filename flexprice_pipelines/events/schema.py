"""Usage events: the Flexprice request shape, the accepted event, and batch validation (docs/billing-semantics.md §1).

A batch is validated as a whole: every bad index and field is reported at once and nothing of a batch with
any error is accepted. JSON numbers are ``Decimal`` from the first byte on; a ``float`` reaching this module
is a programming error (``TypeError``), never silently rounded.

``EventIn`` documents the request shape (OpenAPI); the hot path checks the same rules in plain code
(``_check_item``), which is several times faster than building a pydantic model per event.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, field_validator

from flexprice_pipelines.billing.meters import NUMERIC_STRING, QUANTITY_INTEGER_DIGITS, quantity_problem

MAX_BATCH = 1000
# Generous for 1000 events with a few properties each; larger bodies are refused before parsing.
MAX_BODY_BYTES = 5 * 1024 * 1024

# What every later stage can hold: the read model keys ids as VARCHAR(255); orjson (the sink's codec)
# stops at 254 levels and the warehouses' JSON functions are not meant for deep documents; an event is
# one row of ``raw_events``, not a file. The sink applies the same limits to what it reads off the bus.
MAX_FIELD_LENGTH = 255  # characters of event_id, event_name, external_customer_id, customer_id, source
MAX_PROPERTIES_DEPTH = 32  # nesting levels of objects/arrays; ``properties`` itself is level 1
MAX_PROPERTY_VALUES = 1000  # keys and array items, nested ones included
MAX_PROPERTY_KEY_LENGTH = 255  # characters of one key
MAX_PROPERTY_STRING_LENGTH = 8192  # characters of one string value (or one number written out)
MAX_PROPERTIES_CHARS = 65_536  # characters of all keys and string values together
# Timestamps every warehouse stores (ClickHouse DateTime64 spans 1900-01-01 .. 2299-12-31).
EARLIEST_TIMESTAMP = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_TIMESTAMP = datetime(2300, 1, 1, tzinfo=UTC)  # exclusive

_NUMBER_START = frozenset("+-.0123456789")
_INT_BOUND = 10**QUANTITY_INTEGER_DIGITS


@dataclass(frozen=True, slots=True)
class TenantScope:
    """Who sends the events: always taken from the API key, never from the body."""

    tenant_id: str
    environment_id: str


@dataclass(frozen=True, slots=True)
class TimestampPolicy:
    """How far from receipt time an event timestamp may lie (a tenant setting; §1 defaults)."""

    max_past: timedelta = timedelta(days=35)
    max_future: timedelta = timedelta(minutes=5)


class EventValidationError(ValueError):
    """A batch (or body) was rejected; ``errors`` lists every ``{index, field, message}``.

    ``index`` is the event's position in the batch, or ``None`` for an error of the body itself.
    """

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(_describe(e) for e in errors))


class PayloadTooLarge(EventValidationError):
    """The body exceeds ``MAX_BODY_BYTES`` (the API answers 413)."""


def _describe(error: Mapping[str, Any]) -> str:
    where = error["field"] if error["index"] is None else f"events[{error['index']}].{error['field']}"
    return f"{where}: {error['message']}"


class EventIn(BaseModel):
    """One event as a client sends it (Flexprice ``IngestEventRequest``); unknown keys are ignored like Flexprice."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str | None = None
    event_name: str
    external_customer_id: str
    customer_id: str | None = None
    timestamp: datetime | None = None
    source: str | None = None
    properties: dict[str, Any] = {}

    @field_validator("event_name")
    @classmethod
    def _trim_event_name(cls, value: str) -> str:
        trimmed = value.strip()
        if not trimmed:
            raise ValueError("must not be empty")
        return trimmed

    @field_validator("external_customer_id")
    @classmethod
    def _require_customer(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("event_id", "customer_id", "source")
    @classmethod
    def _blank_is_absent(cls, value: str | None) -> str | None:
        # Flexprice treats an empty event_id as "assign one"; the same holds for the optional ids.
        return value.strip() or None if value is not None else None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _timestamp_is_rfc3339(cls, value: Any) -> Any:
        # Lax pydantic would take a bare number as epoch seconds; Flexprice takes RFC 3339 strings only.
        if value is None or isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 string such as 2024-03-20T15:04:05Z")
        return value

    @field_validator("timestamp")
    @classmethod
    def _timestamp_is_aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must include a UTC offset (e.g. Z or +05:30)")
        return value

    @field_validator("properties")
    @classmethod
    def _properties_fit(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = properties_problem(value)
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        return value

    @field_validator("event_id", "event_name", "external_customer_id", "customer_id", "source", mode="before")
    @classmethod
    def _bounded_length(cls, value: Any) -> Any:
        if type(value) is str and len(value) > MAX_FIELD_LENGTH:
            raise ValueError(_too_long(value))
        return value


def _too_long(value: str) -> str:
    return f"is {len(value)} characters long; at most {MAX_FIELD_LENGTH}"


def numeric_problem(value: object) -> str | None:
    """Why a numeric property value is not exactly a DECIMAL(38,18), or ``None`` if it is one (or no number).

    Numeric means an ``int`` (not ``bool``), a finite ``Decimal`` or a string matching ``NUMERIC_STRING``
    (``"12.5"``, ``"-1e30"``, ``"1e400"``); other strings (``"NaN"``, ``"Infinity"``, ``" 12"``) are text.
    The value must satisfy |v| < 1e20 and have at most 18 digits after the point once trailing zeros are
    dropped. This is the one rule the API (400) and the sink (dead letter) apply, so that no engine ever
    meets a number it cannot count exactly.
    """
    if type(value) is int:
        return None if -_INT_BOUND < value < _INT_BOUND else quantity_problem(Decimal(value))
    if type(value) is str:
        if not value or value[0] not in _NUMBER_START or not NUMERIC_STRING.fullmatch(value):
            return None
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    else:
        return None
    if not number.is_finite():
        return None  # not a number: JSON has no such literal and NUMERIC_STRING never matches one
    _, _, literal_exponent = number.as_tuple()
    assert isinstance(literal_exponent, int)
    # Plain notation is what the stages write (``format(v, "f")``): "0E-100000" would be 100,002 characters.
    if -literal_exponent > MAX_PROPERTY_STRING_LENGTH - 2:
        return f"is a number longer than {MAX_PROPERTY_STRING_LENGTH} characters written out"
    return quantity_problem(number)


def properties_problem(properties: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first way ``properties`` breaks a documented limit or the numeric rule: ``(field, message)``.

    ``field`` is ``properties.<key path>`` (list items by index), or ``properties`` for the size limits.
    ``None`` when everything fits. The walk keeps its own stack, so no nesting can exhaust Python's;
    a ``float`` is a programming error here (``TypeError``), as everywhere in this module.
    """
    values = chars = 0
    stack: list[tuple[Any, tuple[Any, ...], int]] = [(properties, (), 1)]
    while stack:
        container, path, depth = stack.pop()
        if depth > MAX_PROPERTIES_DEPTH:
            return "properties", f"nests deeper than {MAX_PROPERTIES_DEPTH} levels"
        entries = container.items() if isinstance(container, Mapping) else enumerate(container)
        for key, item in entries:
            values += 1
            if type(key) is str:
                if len(key) > MAX_PROPERTY_KEY_LENGTH:
                    return _field(
                        path
                    ), f"has a key of {len(key)} characters; at most {MAX_PROPERTY_KEY_LENGTH}"
                chars += len(key)
            elif not isinstance(container, list):
                return _field(path), "has a key that is not a string"
            kind = type(item)
            if kind is str:
                size = len(item)
                chars += size
                if size > MAX_PROPERTY_STRING_LENGTH:
                    return (
                        _field((*path, key)),
                        f"is a string of {size} characters; at most {MAX_PROPERTY_STRING_LENGTH}",
                    )
                if size and item[0] in _NUMBER_START:
                    problem = numeric_problem(item)
                    if problem is not None:
                        return _field((*path, key)), problem
            elif kind is int or kind is Decimal:
                problem = numeric_problem(item)
                if problem is not None:
                    return _field((*path, key)), problem
            elif kind is dict or kind is list:
                stack.append((item, (*path, key), depth + 1))
            elif kind is float:
                raise TypeError(
                    f"{_field((*path, key))} is a float; parse JSON with parse_float=Decimal (see parse_json)"
                )
            elif not (item is None or kind is bool):
                return _field((*path, key)), f"is a {kind.__name__}, not a JSON value"
        if values > MAX_PROPERTY_VALUES:
            return "properties", f"holds more than {MAX_PROPERTY_VALUES} keys and list items"
        if chars > MAX_PROPERTIES_CHARS:
            return "properties", f"keys and strings hold more than {MAX_PROPERTIES_CHARS} characters"
    return None


def _field(path: tuple[Any, ...]) -> str:
    return ".".join(("properties", *(str(part) for part in path)))


_OUT_OF_RANGE = "lies outside the supported range (1900-01-01T00:00:00Z to 2299-12-31T23:59:59Z)"


def timestamp_problem(value: datetime) -> str | None:
    """Why an aware timestamp cannot be stored by every warehouse, or ``None`` (UTC range 1900–2299)."""
    try:
        instant = value.astimezone(UTC)
    except OverflowError:
        return _OUT_OF_RANGE
    return None if EARLIEST_TIMESTAMP <= instant < LATEST_TIMESTAMP else _OUT_OF_RANGE


@dataclass(frozen=True, slots=True)
class Event:
    """An accepted event: scoped, with its id and timestamp settled, and the time it was accepted.

    A slotted dataclass rather than a pydantic model: the sink builds hundreds of thousands per second
    from messages it has already checked (``codec.decode_event``).
    """

    tenant_id: str
    environment_id: str
    event_id: str
    event_name: str
    external_customer_id: str
    customer_id: str | None
    timestamp: datetime
    source: str | None
    properties: dict[str, Any] = field(hash=False)
    ingested_at: datetime

    @property
    def identity(self) -> tuple[str, str, str]:
        """The idempotency key: an id counts once per tenant and environment."""
        return (self.tenant_id, self.environment_id, self.event_id)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_size(body: bytes | str) -> None:
    size = len(body.encode() if isinstance(body, str) else body)
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            [
                {
                    "index": None,
                    "field": "body",
                    "message": f"body is {size} bytes; the limit is {MAX_BODY_BYTES}",
                }
            ]
        )


def parse_json(body: bytes | str) -> Any:
    """Parse a request body with every number as ``Decimal`` or ``int``; raise ``EventValidationError``."""
    _check_size(body)
    return _parse_exactly(body)


def _parse_exactly(body: bytes | str) -> Any:
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
        # An escaped lone surrogate (``"\ud800"``) parses, but is no Unicode text: no bus could carry it.
        json.dumps(parsed, default=str, ensure_ascii=False).encode()
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise EventValidationError(
            [{"index": None, "field": "body", "message": f"malformed JSON: {exc}"}]
        ) from None
    return parsed


def _parse_events_body(body: bytes | str) -> Any:
    """Like ``parse_json``, but fast for the usual body: orjson, unless a property holds a JSON fraction.

    orjson reads fractions and integers beyond 64 bits as floats; a body with such a number in a
    ``properties`` object (and every malformed body, for the error message) is re-read by the exact parser.
    Only ``properties`` pass values through: a number anywhere else is refused by type, float or not.
    """
    _check_size(body)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise EventValidationError([_too_deep(body)]) from None
        return _parse_exactly(body)
    items = parsed.get("events") if type(parsed) is dict else None
    if type(items) is not list:
        items = [parsed]
    for item in items:
        properties = item.get("properties") if type(item) is dict else None
        if (type(properties) is dict or type(properties) is list) and holds_float(properties):
            return _parse_exactly(body)
    return parsed


def holds_float(value: dict[str, Any] | list[Any]) -> bool:
    """Whether a float lies anywhere in ``value``; its own stack, so any nesting orjson reads is safe."""
    stack: list[Any] = [value]
    while stack:
        container = stack.pop()
        for item in container.values() if type(container) is dict else container:
            kind = type(item)
            if kind is float:
                return True
            if kind is dict or kind is list:
                stack.append(item)
    return False


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _too_deep(body: bytes | str) -> dict[str, Any]:
    """The error for a body nested beyond orjson's 1,024 levels, naming the event field that nests.

    Only strings and brackets matter for nesting; the regular expression finds them at C speed, so even a
    5 MiB body costs a fraction of a second, and only on this error path.
    """
    data = body.encode() if isinstance(body, str) else body
    stack: list[list[Any]] = []  # [is_object, current key or index]
    previous = b"{"
    for match in _TOKENS.finditer(data):
        token = match.group()
        head = token[:1]
        if head == b"{" or head == b"[":
            stack.append([head == b"{", None if head == b"{" else 0])
            if len(stack) > MAX_PROPERTIES_DEPTH + 3:
                break
        elif head == b"}" or head == b"]":
            if stack:
                stack.pop()
        elif head == b",":
            if stack and not stack[-1][0]:
                stack[-1][1] += 1
        elif stack and stack[-1][0] and previous in (b"{", b","):
            stack[-1][1] = token[1:-1].decode("utf-8", "replace")
        previous = head
    path = [entry[1] for entry in stack]
    message = f"nests deeper than {MAX_PROPERTIES_DEPTH} levels"
    if len(path) >= 3 and path[0] == "events" and type(path[1]) is int and type(path[2]) is str:
        return {"index": path[1], "field": path[2], "message": message}  # a bulk body's event field
    if path and type(path[0]) is str and path[0] != "events":
        return {"index": None, "field": path[0], "message": message}  # a single event's field
    return {"index": None, "field": "body", "message": message}


def parse_bulk_body(body: bytes | str) -> list[Any]:
    """The ``events`` list of a ``POST /v1/events/bulk`` body (``{"events": [...]}``)."""
    parsed = _parse_events_body(body)
    if not isinstance(parsed, dict) or not isinstance(parsed.get("events"), list):
        raise EventValidationError(
            [{"index": None, "field": "events", "message": "must be a list of events"}]
        )
    events: list[Any] = parsed["events"]
    return events


def parse_single_body(body: bytes | str) -> list[Any]:
    """A ``POST /v1/events`` body as a batch of one."""
    parsed = _parse_events_body(body)
    if not isinstance(parsed, dict):
        raise EventValidationError([{"index": None, "field": "body", "message": "must be a JSON object"}])
    return [parsed]


def new_event_id() -> str:
    """A server-assigned id, for events sent without one (Flexprice prefixes its ids the same way)."""
    return f"event_{uuid.uuid4().hex}"


def validate_batch(
    raw_items: bytes | str | Sequence[Any],
    scope: TenantScope,
    now: datetime,
    policy: TimestampPolicy | None = None,
) -> list[Event]:
    """Validate a batch and return the accepted events, or raise ``EventValidationError`` listing every error.

    ``raw_items`` is a JSON array (bytes/str) or already-parsed items (numbers as ``Decimal``). ``now`` is the
    receipt time: it defaults missing timestamps and anchors the timestamp policy. Events of one batch get
    ``ingested_at = now + index µs`` so that a repeated id inside one batch resolves to its last occurrence.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    policy = policy or TimestampPolicy()
    items = parse_json(raw_items) if isinstance(raw_items, bytes | str) else raw_items
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise EventValidationError(
            [{"index": None, "field": "events", "message": "must be a list of events"}]
        )
    if not items:
        raise EventValidationError(
            [{"index": None, "field": "events", "message": "must hold at least 1 event"}]
        )
    if len(items) > MAX_BATCH:
        raise EventValidationError(
            [{"index": None, "field": "events", "message": f"holds {len(items)} events; at most {MAX_BATCH}"}]
        )
    now = now.astimezone(UTC)
    earliest, latest = now - policy.max_past, now + policy.max_future
    errors: list[dict[str, Any]] = []
    accepted: list[Event] = []
    scope_ids = (scope.tenant_id, scope.environment_id)
    for index, item in enumerate(items):
        if type(item) is not dict and not isinstance(item, Mapping):
            errors.append({"index": index, "field": "event", "message": "must be a JSON object"})
            continue
        checked = _check_fast(item) or _check_item(item, index, errors)
        if checked is None:
            continue
        event_id, event_name, customer, customer_id, timestamp, source, properties = checked
        timestamp = now if timestamp is None else timestamp.astimezone(UTC)
        if not earliest <= timestamp <= latest:
            errors.append(
                {"index": index, "field": "timestamp", "message": _crossed_bound(timestamp, now, policy)}
            )
            continue
        if not EARLIEST_TIMESTAMP <= timestamp < LATEST_TIMESTAMP:  # a tenant policy wider than the stores
            errors.append({"index": index, "field": "timestamp", "message": _OUT_OF_RANGE})
            continue
        accepted.append(
            Event(
                *scope_ids,
                event_id or new_event_id(),
                event_name,
                customer,
                customer_id,
                timestamp,
                source,
                properties,
                now + _INDEX_OFFSETS[index],
            )
        )
    if errors:
        raise EventValidationError(errors)
    return accepted


def _crossed_bound(timestamp: datetime, now: datetime, policy: TimestampPolicy) -> str:
    if timestamp < now - policy.max_past:
        return f"is more than {_human(policy.max_past)} in the past (max_past bound)"
    return f"is more than {_human(policy.max_future)} in the future (max_future bound)"


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"


_MISSING = object()
# ``ingested_at`` offsets by batch index, built once: a timedelta per event is a measurable share of the cost.
_INDEX_OFFSETS = tuple(timedelta(microseconds=i) for i in range(MAX_BATCH))
_RFC3339_HINT = "must be an RFC 3339 string such as 2024-03-20T15:04:05Z"

# (event_id, event_name, external_customer_id, customer_id, timestamp, source, properties)
_Checked = tuple[str | None, str, str, str | None, datetime | None, str | None, dict[str, Any]]


_OPTIONAL_STR = frozenset({str, type(None)})
_OPTIONAL_PROPERTIES = frozenset({dict, type(None)})


def _check_fast(item: Mapping[str, Any]) -> _Checked | None:
    """The checked fields of a well-formed event, or ``None`` to let ``_check_item`` find what is wrong.

    The common case in one pass of type tests; it accepts exactly what ``_check_item`` accepts.
    """
    get = item.get
    event_name, customer = get("event_name"), get("external_customer_id")
    event_id, customer_id, source = get("event_id"), get("customer_id"), get("source")
    properties = get("properties")
    if not (
        type(event_name) is str
        and type(customer) is str
        and type(event_id) in _OPTIONAL_STR
        and type(customer_id) in _OPTIONAL_STR
        and type(source) in _OPTIONAL_STR
        and type(properties) in _OPTIONAL_PROPERTIES
    ):
        return None
    limit = MAX_FIELD_LENGTH
    if (
        len(event_name) > limit
        or len(customer) > limit
        or (event_id is not None and len(event_id) > limit)
        or (customer_id is not None and len(customer_id) > limit)
        or (source is not None and len(source) > limit)
    ):
        return None
    event_name = event_name.strip()
    if not event_name or not customer.strip():
        return None
    raw_timestamp = get("timestamp")
    timestamp = None
    if raw_timestamp is not None:
        timestamp = _rfc3339(raw_timestamp)
        if timestamp is None:
            return None
    if properties is None:
        properties = {}
    else:
        if properties_problem(properties) is not None:
            return None
        properties = dict(properties)
    return (
        event_id.strip() or None if event_id is not None else None,
        event_name,
        customer,
        customer_id.strip() or None if customer_id is not None else None,
        timestamp,
        source.strip() or None if source is not None else None,
        properties,
    )


def _check_item(item: Mapping[str, Any], index: int, errors: list[dict[str, Any]]) -> _Checked | None:
    """``EventIn``'s rules in plain code: the checked fields, or ``None`` after appending every error."""
    found = len(errors)

    def fail(field_name: str, message: str) -> None:
        errors.append({"index": index, "field": field_name, "message": message})

    event_name = item.get("event_name", _MISSING)
    if event_name is _MISSING or event_name is None:
        fail("event_name", "required")
    elif type(event_name) is not str:
        fail("event_name", "must be a string")
    elif len(event_name) > MAX_FIELD_LENGTH:
        fail("event_name", _too_long(event_name))
    else:
        event_name = event_name.strip()
        if not event_name:
            fail("event_name", "must not be empty")
    customer = item.get("external_customer_id", _MISSING)
    if customer is _MISSING or customer is None:
        fail("external_customer_id", "required")
    elif type(customer) is not str:
        fail("external_customer_id", "must be a string")
    elif len(customer) > MAX_FIELD_LENGTH:
        fail("external_customer_id", _too_long(customer))
    elif not customer.strip():
        fail("external_customer_id", "must not be empty")
    optional: list[str | None] = []
    for key in ("event_id", "customer_id", "source"):
        value = item.get(key)
        if value is None:
            optional.append(None)
        elif type(value) is str:
            if len(value) > MAX_FIELD_LENGTH:
                fail(key, _too_long(value))
            # Flexprice treats an empty event_id as "assign one"; the same holds for the optional ids.
            optional.append(value.strip() or None)
        else:
            fail(key, "must be a string")
    timestamp = _check_timestamp(item.get("timestamp"), fail)
    properties = item.get("properties")
    if properties is None:
        properties = {}
    elif type(properties) is not dict:
        fail("properties", "must be a JSON object")
    else:
        problem = properties_problem(properties)
        if problem is not None:
            fail(*problem)
        properties = dict(properties)
    if len(errors) > found:
        return None
    event_id, customer_id, source = optional
    return (event_id, event_name, customer, customer_id, timestamp, source, properties)


def _rfc3339(value: Any) -> datetime | None:
    # In UTC already: "9999-12-31T23:59:59-01:00" parses, but has no UTC instant (OverflowError).
    parsed = _rfc3339_shape(value)
    if parsed is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def _rfc3339_shape(value: Any) -> datetime | None:
    # Flexprice takes RFC 3339 strings only: no epoch numbers, no naive times, and none of the other
    # ISO 8601 forms ``fromisoformat`` reads (basic, week or ordinal dates, missing seconds, any separator).
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if (
        parsed.tzinfo is None
        or len(value) < 20
        or value[7] != "-"
        or value[16] != ":"
        or value[10] not in "Tt "
    ):
        return None
    return parsed


def _check_timestamp(value: Any, fail: Callable[[str, str], None]) -> datetime | None:
    if value is None:
        return None
    shaped = _rfc3339_shape(value)
    if shaped is None:
        naive = type(value) is str and _rfc3339_shape(f"{value}Z") is not None
        fail("timestamp", "must include a UTC offset (e.g. Z or +05:30)" if naive else _RFC3339_HINT)
        return None
    parsed = _rfc3339(value)
    if parsed is None:
        fail("timestamp", _OUT_OF_RANGE)
    return parsed
