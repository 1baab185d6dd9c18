"""Field types shared by every domain's schemas.

Input types are bounded the way the catalog columns are (lengths, 32-bit integers, dates a
billing period can be computed from), so bad input is a 400 and never reaches the database.
Money is ``Decimal`` in and a decimal string out.

Where a type checks a string's form, the validator and the OpenAPI schema use the same regular
expression (``DECIMAL_PATTERN``, ``DATE_TIME_PATTERN``, ``CURRENCY_PATTERN``): what the document
calls invalid is refused, and what it calls valid is not refused for its form.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue

INT32_MAX = 2**31 - 1
MAX_AMOUNT = Decimal("1e15")


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid UTF-8 text") from exc
    return value


# ASCII classes spelled out: Python's ``\d`` and ``\s`` are Unicode-wide, ECMA 262's (OpenAPI's) are not
# the same, and ``Decimal("١٢")`` would otherwise read Arabic-Indic digits.
NO_NUL_PATTERN = r"^[^\u0000]*$"
CURRENCY_PATTERN = r"^[ \t]*[A-Za-z]{3}[ \t]*$"
DECIMAL_PATTERN = r"^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$"
_YEAR = r"(19[7-9][0-9]|2[01][0-9][0-9]|2200)"  # period arithmetic stays inside datetime's range
DATE_TIME_PATTERN = (
    rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_CURRENCY = re.compile(CURRENCY_PATTERN)
_DECIMAL = re.compile(DECIMAL_PATTERN)
_DATE_TIME = re.compile(DATE_TIME_PATTERN)


def _currency(value: object) -> object:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise ValueError("must be a three-letter ISO 4217 code such as usd")
    return value.strip().lower()


def _to_decimal(value: object) -> object:
    # JSON bodies arrive with Decimal numbers (api.routing); a float can only come from elsewhere.
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        # Decimal() itself would also take padding, underscores and non-ASCII digits.
        raise ValueError("must be a decimal number such as 12.50 or 1.5e3")
    return value


def _rfc3339(value: object) -> object:
    # Lax pydantic would read a number, or a numeric string, as epoch seconds, and take other ISO 8601
    # spellings; the document promises RFC 3339 date-times, which Flexprice also insists on.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, year 1970-2200, such as 2024-03-20T15:04:05Z"
        )
    return value


def _bounded(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    # copy_abs, not abs(): abs() rounds in the decimal context and overflows on "1e9999999" (a 500).
    if value.copy_abs() >= MAX_AMOUNT:
        raise ValueError(f"must be less than {MAX_AMOUNT:,f} in absolute value")
    if value.as_tuple().exponent < -12:  # type: ignore[operator]
        raise ValueError("has more than 12 decimal places")
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


class _NoNul:
    """Adds to a text type's JSON schema the rule ``_clean_text`` enforces: no NUL character."""

    @staticmethod
    def __get_pydantic_json_schema__(core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core)
        schema["pattern"] = NO_NUL_PATTERN
        return schema


NO_NUL = _NoNul()
Text = Annotated[str, StringConstraints(max_length=255), AfterValidator(_clean_text), NO_NUL]


def _not_blank(value: str) -> str:
    # Trimmed after the length check, so the documented maxLength is the length of what was sent.
    trimmed = value.strip()
    if not trimmed:
        raise ValueError("must not be blank")
    return trimmed


Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_clean_text),
    AfterValidator(_not_blank),
    NO_NUL,
]
LongText = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_clean_text), NO_NUL]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_clean_text), NO_NUL]
Currency = Annotated[
    str,
    BeforeValidator(_currency),
    WithJsonSchema(
        {"type": "string", "pattern": CURRENCY_PATTERN, "examples": ["usd"]},
        mode="validation",
    ),
    Field(description="ISO 4217 code, any case; stored lower-case."),
]
TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_clean_text),
    AfterValidator(_time_zone),
]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
PositiveCount = Annotated[int, Field(ge=1, le=INT32_MAX)]
Priority = Annotated[int, Field(ge=-1000, le=1000)]
When = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}, mode="validation"
    ),
]
"""An instant: an RFC 3339 string with an offset (``Z``/``±hh:mm``), years 1970–2200."""
# Keys without NO_NUL: a key pattern becomes patternProperties, which would leave other keys untyped.
_Key = Annotated[str, StringConstraints(max_length=255), AfterValidator(_clean_text)]
Metadata = Annotated[dict[_Key, Text], Field(max_length=50, description="Free-form string → string map.")]


def _money_schema(**number_bounds: float) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "string", "pattern": DECIMAL_PATTERN},
            {"type": "number", "exclusiveMinimum": -1e15, "exclusiveMaximum": 1e15, **number_bounds},
        ],
        "description": "A decimal string or a JSON number (read exactly); less than 1e15 in absolute "
        "value, at most 12 decimal places.",
        "examples": ["12.50"],
    }


Money = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    AfterValidator(_bounded),
    WithJsonSchema(_money_schema(), mode="validation"),
]
"""A decimal amount: a decimal string or a JSON number (parsed exactly), at most 12 decimal places."""


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


NonNegativeMoney = Annotated[
    Money, AfterValidator(_not_negative), WithJsonSchema(_money_schema(minimum=0), mode="validation")
]
PositiveMoney = Annotated[
    Money, AfterValidator(_positive), WithJsonSchema(_money_schema(exclusiveMinimum=0), mode="validation")
]


def plain(value: Decimal) -> str:
    """A decimal in plain notation with its scale: ``1E-12`` → ``0.000000000001``, ``1.50`` stays."""
    return format(value, "f")


DecimalOut = Annotated[Decimal, PlainSerializer(plain, return_type=str), WithJsonSchema({"type": "string"})]
"""Money or a quantity in a response: always a decimal string, scale preserved (``"1.50"``)."""


def _scalar(annotation: Any) -> type | None:
    """``int`` or ``bool`` when a field holds one (optionally null), else None."""
    if typing.get_origin(annotation) is Annotated:
        return _scalar(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is typing.Union or isinstance(annotation, types.UnionType):
        kinds = {_scalar(arg) for arg in typing.get_args(annotation) if arg is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    return annotation if annotation in (int, bool) else None


_JSON_KINDS: dict[type, tuple[tuple[type, ...], str]] = {
    int: ((int, Decimal, float), "must be an integer (a JSON number, not a string)"),
    bool: ((bool,), "must be true or false"),
}


NEUTRAL_MARK = "x-flexprice-neutral"
"""The OpenAPI extension naming a field Flexprice defines that we accept only at its neutral value."""


def neutral(*accepted: Any, default: Any = None, brought_by: str | None = None, description: str = "") -> Any:
    """A field Flexprice defines and we do not implement yet: accepted at its neutral values (``accepted``,
    always including ``default``; the SDK's defaults) and refused otherwise, naming the field.

    ``brought_by`` names the issue that will implement it. The OpenAPI schema carries the mark
    (``x-flexprice-neutral``), which the compatibility table reads.
    """
    values = [default, *(value for value in accepted if value != default)]
    note = f"Accepted only as {', '.join(_show(v) for v in values)} until implemented"
    note += f" ({brought_by})." if brought_by else "."
    return Field(
        default=default,
        description=f"{description} {note}".strip(),
        json_schema_extra={
            NEUTRAL_MARK: {"accepted": [_jsonable(v) for v in values], "brought_by": brought_by}
        },
    )


def neutral_query(
    *accepted: Any, default: Any = None, brought_by: str | None = None, description: str = ""
) -> Any:
    """``neutral()`` for a query parameter: ``Annotated[bool | None, neutral_query(False)] = None``.

    FastAPI ignores undeclared query parameters, so a Flexprice parameter we do not implement yet is
    declared with this: its neutral values pass, any other is a 400 naming ``query.<name>``. The parameter's
    schema carries ``x-flexprice-neutral`` as a body field's does.
    """
    from fastapi import Query

    values = [default, *(value for value in accepted if value != default)]
    note = f"Accepted only as {', '.join(_show(v) for v in values)} until implemented"
    note += f" ({brought_by})." if brought_by else "."
    parameter = Query(
        description=f"{description} {note}".strip(),
        json_schema_extra={
            NEUTRAL_MARK: {"accepted": [_jsonable(v) for v in values], "brought_by": brought_by}
        },
    )

    def check(value: Any) -> Any:
        if not _is_neutral(value, values):
            raise ValueError(f"not supported yet: only {', '.join(_show(v) for v in values)} is accepted")
        return value

    # FastAPI builds the parameter's validator from the FieldInfo, metadata included.
    parameter.metadata.append(AfterValidator(check))
    return parameter


def _jsonable(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _show(value: Any) -> str:
    return "null" if value is None else repr(_jsonable(value)).replace("'", '"')


def _is_neutral(value: Any, accepted: list[Any]) -> bool:
    for candidate in accepted:
        if value == candidate and type(value) is type(candidate):
            return True
        if isinstance(value, BaseModel | dict | list) and candidate in ({}, []) and not value:
            return True
        numeric = (int, float, Decimal, str)
        if isinstance(value, numeric) and isinstance(candidate, numeric) and not isinstance(value, bool):
            try:
                if Decimal(str(value)) == Decimal(str(candidate)):
                    return True
            except ArithmeticError:
                continue
    return False


class InputModel(BaseModel):
    """Request bodies. Unknown fields are ignored, as Flexprice's JSON binding ignores them (a client
    written for a newer Flexprice keeps working); the Flexprice fields we do not implement yet are
    declared with ``neutral()`` and refused at any other value, so they are never silently dropped.
    Search bodies (``api/search.py``) refuse unknown keys: an ignored filter would widen the result."""

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _json_object(cls, data: Any) -> Any:
        # FastAPI validates bodies with from_attributes, so a JSON number (a Decimal here) would pass as
        # an object with no fields: {} for an update. The schema says object; so does this.
        if isinstance(data, dict | BaseModel):
            return data
        raise ValueError("must be a JSON object")

    @field_validator("*", mode="before")
    @classmethod
    def _json_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        # Lax pydantic reads "5" as 5 and 1 or "yes" as true; the schema says integer / boolean, so only
        # JSON numbers and JSON booleans are taken (a JSON number arrives as int or, with a point, Decimal).
        field = cls.model_fields.get(info.field_name or "")
        extra = field.json_schema_extra if field is not None else None
        if isinstance(extra, dict) and NEUTRAL_MARK in extra:
            mark: Any = extra[NEUTRAL_MARK]
            neutral_values: list[Any] = mark["accepted"]
            if not _is_neutral(value, neutral_values):
                shown = ", ".join(_show(v) for v in neutral_values)
                raise ValueError(f"not supported yet: only {shown} is accepted")
            return value
        kind = _scalar(field.annotation) if field is not None else None
        if kind is None or value is None:
            return value
        accepted, message = _JSON_KINDS[kind]
        if not isinstance(value, accepted) or (kind is int and isinstance(value, bool)):
            raise ValueError(message)
        return value

    @classmethod
    def neutral_names(cls) -> set[str]:
        """The fields declared with ``neutral()``: accepted at their neutral values, stored nowhere."""
        return {
            name
            for name, field in cls.model_fields.items()
            if isinstance(field.json_schema_extra, dict) and NEUTRAL_MARK in field.json_schema_extra
        }

    def set_fields(self) -> dict[str, Any]:
        """The fields to change in a partial update: those sent, except nulls and ``neutral()`` fields
        (at their neutral value, which changes nothing).

        As in Flexprice's update requests, null means "leave unchanged", never "erase".
        """
        skipped = self.neutral_names()
        return {
            name: getattr(self, name)
            for name in self.model_fields_set
            if getattr(self, name) is not None and name not in skipped
        }


class StrictInputModel(InputModel):
    """A body whose Flexprice request defines fields that change what is billed or when (a subscription's
    ``phases``, ``trial_period_days``, ``billing_anchor``; a top-up's ``bonus_credits_to_add``; a grant's
    dates) that are not declared here yet, neither implemented nor ``neutral()``. Until they are, any unknown
    field is refused (400 naming it) rather than risk silently dropping one of them; the OpenAPI schema says
    so (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


class PublicModel(BaseModel):
    """Response bodies, read from catalog rows (``metadata_`` → ``metadata``)."""

    model_config = ConfigDict(from_attributes=True)


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int


T = TypeVar("T")


class ListResponse(BaseModel, Generic[T]):
    """One page of a list, as Flexprice returns it."""

    items: list[T]
    pagination: Pagination


class SuccessResponse(BaseModel):
    """Flexprice's ``dto.SuccessResponse``: what a delete (and ``POST /v1/invoices/{id}/void``) answers."""

    message: str


def metadata_out() -> Any:
    """The ``metadata`` field of a ``…Public`` schema (the row attribute is ``metadata_``)."""
    return Field(default_factory=dict, validation_alias=AliasChoices("metadata_", "metadata"))


MetadataOut = Annotated[dict[str, Any], BeforeValidator(lambda value: value or {})]
"""Stored metadata in a response; a null written by another writer reads as ``{}``."""


class AuditPublic(PublicModel):
    """The columns every catalog row has."""

    id: str
    status: str
    created_at: datetime
    updated_at: datetime
