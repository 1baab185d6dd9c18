"""Meters and the reference meter aggregation (docs/billing-semantics.md §1–§2).

This module is the executable definition of usage: the DuckDB and ClickHouse queries are tested
against it on random events, so every edge is pinned down here.

Events are plain mappings (``event_id``, ``event_name``, ``external_customer_id``, ``customer_id?``,
``timestamp``, ``source?``, ``properties``, ``ingested_at``); timestamps are aware datetimes.

Quantities are exact decimals in the domain of the warehouse's DECIMAL(38, 18) (``fits_quantity``:
|v| < 1e20, at most 18 fractional digits), the same on every engine, digit for digit:

- a property value outside that domain (``1e400``, ``-1e30``, ``1e-19``) is not counted by any engine
  (``event_value`` is None) and is reported by ``uncountable_value``, which the pipeline's blocking usage
  check turns into a failure naming the meter, customer and event;
- SUM, MIN, MAX and LATEST are exact; the one inexact step of AVG (Σ / n), WEIGHTED_SUM
  (Σ value × µs / window µs) and SUM_WITH_MULTIPLIER (Σ × multiplier) is rounded to 18 fractional digits,
  half away from zero, computed in integers from the exact operands (no intermediate rounding);
- a result outside the domain raises ``QuantityOverflow`` (the SQL engines fail the run as well).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from flexprice_pipelines.billing.errors import InvalidMeter, InvalidPeriod, QuantityOverflow

Event = Mapping[str, object]
"""One usage event as received (see the module docstring for its keys)."""

ARITHMETIC = Context(prec=60, rounding=ROUND_HALF_EVEN)
"""Wide enough for every exact sum of quantities (38 digits) with room to spare; nothing rounds in it."""

QUANTITY_SCALE = 18
"""Fractional digits of a quantity (the warehouse's DECIMAL(38, 18))."""
QUANTITY_INTEGER_DIGITS = 20
"""Integer digits of a quantity: |quantity| < 1e20."""
_UNIT = 10**QUANTITY_SCALE


def quantity_problem(value: Decimal) -> str | None:
    """Why ``value`` is not exactly a DECIMAL(38, 18), or None when it is one (``fits_quantity``).

    Trailing zeros do not count (``1.50000000000000000000`` fits, ``1e-19`` and ``1e20`` do not). Decided
    from the digits and exponent alone, so ``1E+999999999`` costs nothing and never raises. The API and
    the sink refuse event values with this reason; the engines count no value it refuses.
    """
    if not value.is_finite():
        return "is not a finite number"
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    significant = "".join(map(str, digits)).lstrip("0")
    if not significant:
        return None  # zero, whatever its exponent
    stripped = significant.rstrip("0")
    last = exponent + len(significant) - len(stripped)  # power of ten of the last non-zero digit
    if len(stripped) + last > QUANTITY_INTEGER_DIGITS:
        return "is a number outside -1e20 < v < 1e20 (DECIMAL(38,18))"
    if last < -QUANTITY_SCALE:
        return f"has {-last} digits after the decimal point; at most {QUANTITY_SCALE} (DECIMAL(38,18))"
    return None


def fits_quantity(value: Decimal) -> bool:
    """Whether ``value`` is exactly a DECIMAL(38, 18): finite, |value| < 1e20, ≤ 18 fractional digits."""
    return quantity_problem(value) is None


def _units(value: Decimal) -> int:
    """An exact decimal with at most 18 decimals as an integer count of 1e-18."""
    units = value.scaleb(QUANTITY_SCALE, ARITHMETIC)
    if units != units.to_integral_value():
        raise ValueError(f"{value} has more than {QUANTITY_SCALE} decimals")
    return int(units)


def _from_units(units: int) -> Decimal:
    """``units`` × 1e-18 without the fixed scale's trailing zeros (``2500…0`` → ``2.5``)."""
    if units == 0:
        return Decimal(0)
    exponent = -QUANTITY_SCALE
    while exponent < 0 and units % 10 == 0:
        units //= 10
        exponent += 1
    return Decimal(units).scaleb(exponent, ARITHMETIC)


def _checked(value: Decimal, what: str) -> Decimal:
    if not fits_quantity(value):
        raise QuantityOverflow(
            f"{what} {value} is outside DECIMAL(38, 18) (|quantity| < 1e20)", field="aggregation"
        )
    return value


def rounded_ratio(numerator_units: int, denominator: int) -> Decimal:
    """(``numerator_units`` × 1e-18) / ``denominator`` to 18 fractional digits, half away from zero.

    The rounding rule of every inexact quantity (AVG, WEIGHTED_SUM, SUM_WITH_MULTIPLIER), computed in
    integers so no intermediate digit is lost: 1/3 → 0.333333333333333333, 2/3 → 0.666666666666666667,
    −2/3 → −0.666666666666666667, (1.01 + 1.02)/2 → 1.015. The SQL macros compute the same integers.
    """
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    quotient, remainder = divmod(abs(numerator_units), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return _checked(_from_units(-quotient if numerator_units < 0 else quotient), "quantity")


class AggregationType(StrEnum):
    """How a meter folds the values of a window's events into one quantity (Flexprice names)."""

    COUNT = "COUNT"
    SUM = "SUM"
    AVG = "AVG"
    COUNT_UNIQUE = "COUNT_UNIQUE"
    LATEST = "LATEST"
    SUM_WITH_MULTIPLIER = "SUM_WITH_MULTIPLIER"
    MAX = "MAX"
    MIN = "MIN"  # ours; Flexprice has no MIN
    WEIGHTED_SUM = "WEIGHTED_SUM"


class BucketSize(StrEnum):
    """Flexprice's window sizes (``types.WindowSize``), used as a meter's ``bucket_size``."""

    MINUTE = "MINUTE"
    FIFTEEN_MIN = "15MIN"
    THIRTY_MIN = "30MIN"
    HOUR = "HOUR"
    THREE_HOUR = "3HOUR"
    SIX_HOUR = "6HOUR"
    TWELVE_HOUR = "12HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


class ResetUsage(StrEnum):
    """Whether usage restarts every billing period (API calls) or accumulates forever (storage)."""

    BILLING_PERIOD = "BILLING_PERIOD"
    NEVER = "NEVER"


BUCKETABLE = frozenset({AggregationType.SUM, AggregationType.MAX})
VALUED = frozenset(AggregationType) - {AggregationType.COUNT, AggregationType.COUNT_UNIQUE}
"""The aggregations that read a numeric value (``event_value``); COUNT_UNIQUE reads the string form."""


class Aggregation(BaseModel):
    """``{type, field?, multiplier?, bucket_size?}``; its rules are checked by ``Meter``.

    ``field`` is trimmed (an identifier, like Flexprice's ``Normalize``). A ``multiplier`` on any
    type but SUM_WITH_MULTIPLIER is ignored, as in Flexprice. Unknown keys (Flexprice's CEL
    ``expression`` and ``group_by``) are refused rather than silently ignored.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: AggregationType
    field: str | None = None
    multiplier: Decimal | None = None
    bucket_size: BucketSize | None = None

    @field_validator("field", mode="before")
    @classmethod
    def _trim_field(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("bucket_size", mode="before")
    @classmethod
    def _empty_bucket_is_none(cls, value: object) -> object:
        # Flexprice writes "no bucket" as the empty string.
        return None if value == "" else value

    @field_validator("multiplier", mode="wrap")
    @classmethod
    def _no_float_multiplier(
        cls, value: object, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> object:
        # JSON numbers are parsed losslessly; a Python float has already lost digits.
        if info.mode == "python" and isinstance(value, float):
            raise TypeError(f"multiplier must be a Decimal, int or str, not float ({value!r})")
        return handler(value)


class MeterFilter(BaseModel):
    """``{key, values}``: the event property ``key`` must have one of ``values`` (string form).

    ``key`` is trimmed; ``values`` are kept exactly as given (they are tenant data).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    values: tuple[str, ...]

    @field_validator("key", mode="before")
    @classmethod
    def _trim_key(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class Meter(BaseModel):
    """A Flexprice meter: which events count (name + filters) and how they aggregate.

    Invalid definitions raise ``InvalidMeter`` whose ``field`` is the dotted path of the offending
    field (``event_name``, ``aggregation.field``, ``filters.1.values``…), both for shape errors
    (wrong type, unknown enum) and for the rules of §2:

    - ``event_name`` is trimmed and must not be empty;
    - ``aggregation.field`` is required for every type except COUNT;
    - ``aggregation.multiplier`` is required and > 0 for SUM_WITH_MULTIPLIER;
    - ``aggregation.bucket_size`` is allowed only with SUM and MAX;
    - every filter needs a non-empty ``key`` and at least one value.

    Other keys of Flexprice's meter JSON (``tenant_id``, ``status``, ``created_at``…) are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str | None = None
    name: str | None = None
    event_name: str
    aggregation: Aggregation
    filters: tuple[MeterFilter, ...] = ()
    reset_usage: ResetUsage = ResetUsage.BILLING_PERIOD

    @model_validator(mode="wrap")
    @classmethod
    def _as_invalid_meter(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(part) for part in first["loc"]) or None
            raise InvalidMeter(first["msg"], field=path) from exc

    @field_validator("event_name", mode="before")
    @classmethod
    def _trim_event_name(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("filters", mode="before")
    @classmethod
    def _null_filters_are_empty(cls, value: object) -> object:
        return () if value is None else value

    @model_validator(mode="after")
    def _check_rules(self) -> Meter:
        if not self.event_name:
            raise InvalidMeter("event_name must not be empty", field="event_name")
        agg = self.aggregation
        if agg.type is not AggregationType.COUNT and agg.field is None:
            raise InvalidMeter(f"field is required for {agg.type}", field="aggregation.field")
        if agg.type is AggregationType.SUM_WITH_MULTIPLIER:
            if agg.multiplier is None:
                raise InvalidMeter(
                    "multiplier is required for SUM_WITH_MULTIPLIER", field="aggregation.multiplier"
                )
            if not agg.multiplier.is_finite() or agg.multiplier <= 0:
                raise InvalidMeter("multiplier must be greater than 0", field="aggregation.multiplier")
            if not fits_quantity(agg.multiplier):
                # the warehouse stores it as DECIMAL(38, 18): a longer one would be rounded there
                raise InvalidMeter(
                    "multiplier must be below 1e20 with at most 18 decimal places",
                    field="aggregation.multiplier",
                )
        if agg.bucket_size is not None and agg.type not in BUCKETABLE:
            raise InvalidMeter(
                f"bucket_size can only be used with SUM or MAX, not {agg.type}",
                field="aggregation.bucket_size",
            )
        for index, meter_filter in enumerate(self.filters):
            if not meter_filter.key:
                raise InvalidMeter("filter key must not be empty", field=f"filters.{index}.key")
            if not meter_filter.values:
                raise InvalidMeter("filter needs at least one value", field=f"filters.{index}.values")
        return self


def quantity_ratio(numerator: Decimal, denominator: int) -> Decimal:
    """``numerator / denominator`` by the one rounding rule (``rounded_ratio``).

    ``numerator`` is an exact sum with at most 18 decimals: Σ values (AVG) or Σ value × µs (WEIGHTED_SUM).
    """
    return rounded_ratio(_units(numerator), denominator)


def quantity_product(quantity: Decimal, multiplier: Decimal) -> Decimal:
    """``quantity × multiplier`` (SUM_WITH_MULTIPLIER) by the one rounding rule (``rounded_ratio``)."""
    return rounded_ratio(_units(quantity) * _units(multiplier), _UNIT)


# --- per-event semantics -------------------------------------------------------------------------

# ASCII digits only: Python's \d and Decimal() also accept other scripts' digits and "1_000".
NUMERIC_STRING = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def property_string(value: object) -> str | None:
    """The one canonical string form of a property value, used by filters and COUNT_UNIQUE.

    - ``str`` → itself, unchanged (no trimming, case kept);
    - ``bool`` → ``"true"`` / ``"false"`` (the JSON literal);
    - ``int`` → decimal digits (``200`` → ``"200"``);
    - ``Decimal`` → plain notation, exponent expanded, the literal's digits kept:
      ``Decimal("1.50")`` → ``"1.50"``, ``Decimal("1E+3")`` → ``"1000"``, ``Decimal("2.5E-3")`` →
      ``"0.0025"``; parse event JSON with ``parse_float=Decimal`` so a number's form is its JSON text;
    - ``float`` → its shortest round-trip decimal (Python ``repr``) in plain notation:
      ``1.5`` → ``"1.5"``, ``1.0`` → ``"1.0"``, ``1e16`` → ``"10000000000000000"``; a JSON ``1.50``
      read as a float therefore reads ``"1.5"``, which is why Decimal parsing is preferred;
    - ``None``, NaN / ±Infinity, objects and arrays → ``None`` (no string form: never matches a
      filter, never counted as a unique value).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    return None


def _numeric(value: object) -> Decimal | None:
    """A property value read as a number (any magnitude), or None when it is not numeric."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and NUMERIC_STRING.fullmatch(value):
        return Decimal(value)
    return None


def _field_number(meter: Meter, event: Event) -> Decimal | None:
    field = meter.aggregation.field
    if field is None or meter.aggregation.type not in VALUED:
        return None
    properties = _properties(event)
    return _numeric(properties[field]) if field in properties else None


def _properties(event: Event) -> Mapping[str, object]:
    properties = event.get("properties")
    return properties if isinstance(properties, Mapping) else {}


def event_value(meter: Meter, event: Event) -> Decimal | None:
    """The event's value for ``meter``: ``properties[aggregation.field]`` as a ``Decimal``, or None.

    Numbers (int, Decimal, float via its ``repr``) and numeric strings count. A numeric string
    matches ``[+-]?(digits[.digits] | .digits)([eE][+-]?digits)?`` exactly, ASCII digits, no
    surrounding whitespace (``"12"``, ``"-1.5"``, ``"2e3"``, ``".5"``). Everything else is "no value"
    (None, never zero): a missing property, null, booleans, other strings, NaN / ±Infinity (as numbers
    or strings), objects, arrays, and every event of a meter that reads no value (COUNT, COUNT_UNIQUE).
    A number that does not ``fits_quantity`` is no value either, on every engine, and is reported by
    ``uncountable_value`` so that it is never dropped silently.
    """
    number = _field_number(meter, event)
    return number if number is not None and fits_quantity(number) else None


def uncountable_value(meter: Meter, event: Event) -> str | None:
    """The numeric value of ``event`` that ``meter`` reads but cannot count, in plain text, or None.

    A JSON number or numeric string outside DECIMAL(38, 18) (``fits_quantity``): ``1e400``, ``-1e30``,
    ``0.1234567890123456789``. The text is cut to 40 characters (it names the value in a report).
    """
    number = _field_number(meter, event)
    if number is None or fits_quantity(number):
        return None
    text = str(number)
    return text if len(text) <= 40 else text[:37] + "..."


def event_matches(meter: Meter, event: Event) -> bool:
    """Whether ``event`` belongs to ``meter`` (time window aside).

    The event's ``event_name``, trimmed, must equal the meter's (case-sensitive), and every filter
    must match (AND across filters, OR across one filter's values). A filter matches when the
    property exists and ``property_string`` of its value equals one of the filter's values exactly:
    ``200`` matches ``"200"``, ``true`` matches ``"true"``; a missing or null property never does.
    """
    name = event.get("event_name")
    if not isinstance(name, str) or name.strip() != meter.event_name:
        return False
    properties = _properties(event)
    for meter_filter in meter.filters:
        if meter_filter.key not in properties:
            return False
        if property_string(properties[meter_filter.key]) not in meter_filter.values:
            return False
    return True


# --- identity and time ---------------------------------------------------------------------------


def _aware(value: object, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise TypeError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


def _event_id(event: Event) -> str:
    event_id = event.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise ValueError(f"event_id must be a non-empty string, got {event_id!r}")
    return event_id


def _timestamp(event: Event) -> datetime:
    return _aware(event.get("timestamp"), "event timestamp")


def _ingested_at(event: Event) -> datetime:
    return _aware(event.get("ingested_at"), "event ingested_at")


def _canonical_json(event: Event) -> str:
    def encode(value: object) -> str:
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    return json.dumps(event, sort_keys=True, separators=(",", ":"), default=encode)


def _version_key(event: Event) -> tuple[datetime, datetime, str]:
    return (_ingested_at(event), _timestamp(event), _canonical_json(event))


def deduplicate(events: Iterable[Event]) -> list[Event]:
    """One event per ``event_id``: the version with the latest ``ingested_at`` wins.

    Like a ReplacingMergeTree keyed on the id and versioned by ingestion time, the winner replaces
    the earlier versions entirely — its timestamp, name and properties — so an id re-sent with a
    new timestamp moves. Ties on ``ingested_at`` go to the later ``timestamp``, then to the greater
    canonical JSON text of the whole event (sorted keys, compact separators, datetimes in ISO form,
    Decimals as ``str``), so the result never depends on input order. Winners are returned in the
    order their ids first appear.
    """
    winners: dict[str, Event] = {}
    for event in events:
        event_id = _event_id(event)
        current = winners.get(event_id)
        if current is None or _version_key(event) > _version_key(current):
            winners[event_id] = event
    return list(winners.values())


def _check_window(start: datetime, end: datetime) -> None:
    _aware(start, "start")
    _aware(end, "end")
    if start > end:
        raise InvalidPeriod(f"window start {start.isoformat()} is after end {end.isoformat()}", field="start")


def _window_events(meter: Meter, events: Iterable[Event], start: datetime, end: datetime) -> list[Event]:
    # De-duplicate first: a re-sent id whose latest version left the window or changed its name
    # must no longer count at its old place.
    return [
        event
        for event in deduplicate(events)
        if event_matches(meter, event) and start <= _timestamp(event) < end
    ]


# --- aggregation ---------------------------------------------------------------------------------


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _latest_key(event: Event) -> tuple[datetime, datetime, str]:
    return (_timestamp(event), _ingested_at(event), _event_id(event))


def _fold(meter: Meter, events: Sequence[Event], start: datetime, end: datetime) -> Decimal | None:
    """The §2 aggregation of already selected, de-duplicated events over ``[start, end)``."""
    kind = meter.aggregation.type
    if kind is AggregationType.COUNT:
        return Decimal(len({_event_id(event) for event in events}))
    if kind is AggregationType.COUNT_UNIQUE:
        field = meter.aggregation.field
        assert field is not None  # guaranteed by Meter validation
        forms = {property_string(_properties(event).get(field)) for event in events}
        forms.discard(None)
        return Decimal(len(forms))
    valued = [(event, value) for event in events if (value := event_value(meter, event)) is not None]
    if not valued:
        return None
    values = [value for _, value in valued]
    with localcontext(ARITHMETIC):
        if kind is AggregationType.SUM:
            return _checked(sum(values, Decimal(0)), "SUM")
        if kind is AggregationType.SUM_WITH_MULTIPLIER:
            multiplier = meter.aggregation.multiplier
            assert multiplier is not None  # guaranteed by Meter validation
            return quantity_product(sum(values, Decimal(0)), multiplier)
        if kind is AggregationType.AVG:
            return quantity_ratio(sum(values, Decimal(0)), len(values))
        if kind is AggregationType.MAX:
            return max(values)
        if kind is AggregationType.MIN:
            return min(values)
        if kind is AggregationType.LATEST:
            return max(valued, key=lambda pair: _latest_key(pair[0]))[1]
        if kind is AggregationType.WEIGHTED_SUM:
            # One division at the end keeps the result independent of event order.
            weighted = sum(
                (value * _microseconds(end - _timestamp(event)) for event, value in valued), Decimal(0)
            )
            return quantity_ratio(weighted, _microseconds(end - start))
    raise AssertionError(f"unhandled aggregation type {kind}")  # pragma: no cover


def aggregate(meter: Meter, events: Iterable[Event], start: datetime, end: datetime) -> Decimal | None:
    """The meter's usage over the half-open window ``[start, end)`` (docs/billing-semantics.md §2).

    ``events`` are de-duplicated first (``deduplicate``; pass every version of every id you have),
    then kept when ``event_matches`` and ``start <= timestamp < end``. Then:

    - COUNT: number of distinct event ids; COUNT_UNIQUE: number of distinct non-null
      ``property_string`` forms of ``properties[field]``. Both give 0 for an empty window.
    - Every other type gives None ("no usage") when no kept event has a value (``event_value``):
      SUM = Σ values; SUM_WITH_MULTIPLIER = SUM × multiplier; AVG = Σ values / number of values;
      MIN / MAX of the values; LATEST = the value of the event with the greatest timestamp, ties to
      the later ``ingested_at``, then to the greater ``event_id``; WEIGHTED_SUM =
      Σ value × (end − timestamp) / (end − start), durations exact to the microsecond (Flexprice
      truncates to whole seconds with ``dateDiff('second')``).
    - A bucketed meter (``bucket_size`` set) gives the sum of its bucket results
      (``aggregate_buckets``), Flexprice's "total": for SUM that equals the plain sum; for MAX it is
      Σ per-bucket maxima. Pricing must still price each bucket separately.

    Naive datetimes raise ``TypeError``; ``start > end`` raises ``InvalidPeriod``; an empty window
    (``start == end``) holds no event.
    """
    _check_window(start, end)
    if meter.aggregation.bucket_size is not None:
        buckets = aggregate_buckets(meter, events, start, end)
        if not buckets:
            return None
        with localcontext(ARITHMETIC):
            return _checked(sum((value for _, value in buckets), Decimal(0)), "bucketed total")
    return _fold(meter, _window_events(meter, events, start, end), start, end)


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


_FIXED_BUCKETS = {
    BucketSize.MINUTE: timedelta(minutes=1),
    BucketSize.FIFTEEN_MIN: timedelta(minutes=15),
    BucketSize.THIRTY_MIN: timedelta(minutes=30),
    BucketSize.HOUR: timedelta(hours=1),
    BucketSize.THREE_HOUR: timedelta(hours=3),
    BucketSize.SIX_HOUR: timedelta(hours=6),
    BucketSize.TWELVE_HOUR: timedelta(hours=12),
    BucketSize.DAY: timedelta(days=1),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_start(bucket_size: BucketSize, moment: datetime) -> datetime:
    """Start (UTC) of the ``bucket_size`` bucket holding ``moment``, as ClickHouse aligns it in UTC.

    MINUTE … DAY are multiples of their length since the Unix epoch (``toStartOfMinute``,
    ``toStartOfInterval(ts, INTERVAL 15 MINUTE)``, ``toStartOfHour``, ``toStartOfDay``; every one
    divides a day, so 3HOUR buckets start at 00, 03, 06 … UTC). WEEK starts on **Sunday** 00:00 UTC
    (``toStartOfWeek(ts, 0)``, what Flexprice's billing queries use; DuckDB's ``date_trunc('week')``
    starts on Monday). MONTH starts on the 1st at 00:00 UTC (``toStartOfMonth``).
    """
    utc = _aware(moment, "moment").astimezone(UTC)
    if bucket_size in _FIXED_BUCKETS:
        length = _microseconds(_FIXED_BUCKETS[bucket_size])
        since_epoch = _microseconds(utc - _EPOCH)
        return _EPOCH + timedelta(microseconds=since_epoch - since_epoch % length)
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket_size is BucketSize.WEEK:
        days_since_sunday = (midnight.weekday() + 1) % 7
        return midnight - timedelta(days=days_since_sunday)
    if bucket_size is BucketSize.MONTH:
        return midnight.replace(day=1)
    raise AssertionError(f"unhandled bucket size {bucket_size}")  # pragma: no cover


def bucket_end(bucket_size: BucketSize, start_of_bucket: datetime) -> datetime:
    """End (exclusive, UTC) of the bucket that starts at ``start_of_bucket``."""
    if bucket_size is BucketSize.MONTH:
        return _add_months(start_of_bucket, 1)
    if bucket_size is BucketSize.WEEK:
        return start_of_bucket + timedelta(weeks=1)
    return start_of_bucket + _FIXED_BUCKETS[bucket_size]


def aggregate_buckets(
    meter: Meter, events: Iterable[Event], start: datetime, end: datetime
) -> list[tuple[datetime, Decimal]]:
    """Per-bucket results of a bucketed meter over ``[start, end)``, oldest first.

    Events are selected exactly as in ``aggregate`` and grouped by ``bucket_start`` (UTC alignment,
    see there). Each bucket is folded with the meter's aggregation (SUM or MAX) and reported with
    its start clipped to the window, in UTC: a window starting at 10:30 with HOUR buckets reports
    its first bucket at 10:30, covering [10:30, 11:00). Only buckets with a value are returned;
    a bucket whose events all lack a value is "no usage" and is left out, like an empty one.
    Raises ``InvalidMeter`` (field ``aggregation.bucket_size``) for a meter without buckets.
    """
    size = meter.aggregation.bucket_size
    if size is None:
        raise InvalidMeter("meter has no bucket_size", field="aggregation.bucket_size")
    _check_window(start, end)
    groups: dict[datetime, list[Event]] = {}
    for event in _window_events(meter, events, start, end):
        groups.setdefault(bucket_start(size, _timestamp(event)), []).append(event)
    window_start = start.astimezone(UTC)
    window_end = end.astimezone(UTC)
    result: list[tuple[datetime, Decimal]] = []
    for aligned in sorted(groups):
        lower = max(aligned, window_start)
        upper = min(bucket_end(size, aligned), window_end)
        value = _fold(meter, groups[aligned], lower, upper)
        if value is not None:
            result.append((lower, value))
    return result


def billable_quantity(value: Decimal | None) -> Decimal:
    """The quantity to price: "no usage" (None) is 0 and negative usage is floored at 0."""
    if value is None or value <= 0:
        return Decimal(0)
    return value


__all__ = [
    "ARITHMETIC",
    "BUCKETABLE",
    "QUANTITY_INTEGER_DIGITS",
    "QUANTITY_SCALE",
    "VALUED",
    "Aggregation",
    "AggregationType",
    "BucketSize",
    "Event",
    "Meter",
    "MeterFilter",
    "ResetUsage",
    "aggregate",
    "aggregate_buckets",
    "billable_quantity",
    "bucket_end",
    "bucket_start",
    "deduplicate",
    "event_matches",
    "event_value",
    "fits_quantity",
    "property_string",
    "quantity_product",
    "quantity_ratio",
    "rounded_ratio",
    "uncountable_value",
]
