"""``POST /v1/<resource>/search``: Flexprice's filter DSL, validated and pushed down to SQL.

Flexprice's SDK 2.x lists every resource through these routes, so they take Flexprice's request body
(``types.<Resource>Filter``) and answer its list shape (``items`` + ``pagination``)::

    {"filters": [{"field": "name", "operator": "contains", "data_type": "string",
                  "value": {"string": "acme"}}],
     "sort": [{"field": "created_at", "direction": "desc"}],
     "limit": 50, "offset": 0, "start_time": "2025-01-01T00:00:00Z", "external_customer_id": "acme-1"}

A resource declares a ``SearchSpec``: which fields can be filtered and sorted and their types, and the
top-level shortcuts of Flexprice's filter (``customer_ids``, ``lookup_key``, …). Everything becomes
one ``WHERE`` / ``ORDER BY`` on the resource's scoped ``SELECT`` (``Repository.select``: tenant and
environment first, as every route), counted and paged in SQL; nothing is filtered in Python.

A request the DSL cannot answer is a 400 naming the field (``body.filters.2.operator``, ``body.limit``),
raised as ``BadRequest`` so ``errors.py`` renders it; malformed shapes (a string for ``limit``) are the
API's usual validation 400. Money columns are not filterable or sortable yet: SQLite stores them as
decimal text, where SQL would compare them as strings; Flexprice's money shortcuts (``amount_due_gt``, …) are
``NotYet`` fields, accepted only when null. Every field of Flexprice's filter is either served or a
``NotYet`` field, so none is silently ignored; and unlike other request bodies (``InputModel``), a
search body refuses an unknown key (400, ``_REFUSE_UNKNOWN``): a misspelt filter would widen the result.

``start_time`` / ``end_time`` mean what they mean in Flexprice for each resource: an invoice's or a
subscription's period within the range (``SearchSpec.time_range``), else ``created_at`` in
``[start_time, end_time)`` (Flexprice includes ``end_time`` there; our windows are half-open).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as default_field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, create_model
from sqlalchemy import ColumnElement, Integer, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from api.deps import CatalogDep, NowDep
from api.errors import BadRequest
from api.schemas.common import INT32_MAX, InputModel, ListResponse, Pagination, Text, When, neutral
from flexprice_pipelines.catalog import CatalogSession
from flexprice_pipelines.catalog.models import Customer, ScopedModel

MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
MAX_FILTERS = 50
MAX_SORTS = 10
MAX_VALUES = 1000

OPERATORS = ("eq", "contains", "not_contains", "gt", "lt", "gte", "in", "not_in", "before", "after")
DATA_TYPES = ("string", "number", "date", "array")
DIRECTIONS = ("asc", "desc")
Kind = Literal["string", "number", "date"]

# What each data type can be asked, and the slot of ``value`` it reads.
_OPERATORS_OF: dict[str, frozenset[str]] = {
    "string": frozenset({"eq", "contains", "not_contains"}),
    "number": frozenset({"eq", "gt", "gte", "lt"}),
    "date": frozenset({"eq", "before", "after", "gt", "gte", "lt"}),
    "array": frozenset({"in", "not_in"}),
}
_SLOT = {"string": "string", "number": "number", "date": "date", "array": "array"}


def _json_number(value: object) -> object:
    # JSON numbers arrive as int or Decimal (api.routing); "5" or true is not a number.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or abs(number) >= Decimal("1e15"):
        raise ValueError("must be a finite number less than 1e15 in absolute value")
    return number


Number = Annotated[
    Decimal,
    BeforeValidator(_json_number),
    WithJsonSchema({"type": "number", "exclusiveMinimum": -1e15, "exclusiveMaximum": 1e15}),
]


def _enum(values: Sequence[str]) -> Any:
    """A string documented as one of ``values`` but checked by the builder, so a wrong one is a 400."""
    return WithJsonSchema({"type": "string", "enum": list(values)})


_REFUSE_UNKNOWN = ConfigDict(extra="forbid")
"""Unlike other bodies (``InputModel``), a search body refuses an unknown key (400): ignoring a filter
Flexprice has and we do not (``subscription_type``, ``period_start_gte``, …) would widen the result."""


class FilterValue(InputModel):
    """``types.Value``: the slot matching ``data_type`` is read (``array`` for ``in`` / ``not_in``)."""

    model_config = _REFUSE_UNKNOWN

    string: Text | None = None
    number: Number | None = None
    date: When | None = None
    array: Annotated[list[Text], Field(max_length=MAX_VALUES)] | None = None
    boolean: bool | None = None


class FilterCondition(InputModel):
    """``types.FilterCondition``."""

    model_config = _REFUSE_UNKNOWN

    field: Text | None = None
    operator: Annotated[Text, _enum(OPERATORS)] | None = None
    data_type: Annotated[Text, _enum(DATA_TYPES)] | None = None
    value: FilterValue | None = None


class SortCondition(InputModel):
    """``types.SortCondition``; ``direction`` defaults to the request's ``order`` (else ``asc``)."""

    model_config = _REFUSE_UNKNOWN

    field: Text | None = None
    direction: Annotated[Text, _enum(DIRECTIONS)] | None = None


Limit = Annotated[int, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT})]
Offset = Annotated[int, WithJsonSchema({"type": "integer", "minimum": 0, "maximum": INT32_MAX})]


class SearchRequest(InputModel):
    """What every ``types.<Resource>Filter`` has; a resource's model adds its shortcuts."""

    model_config = _REFUSE_UNKNOWN

    filters: list[FilterCondition] | None = None
    sort: list[SortCondition] | None = None
    order: Annotated[Text, _enum(DIRECTIONS)] | None = None
    limit: Limit | None = None
    offset: Offset | None = None
    expand: Text | None = None
    status: Literal["published", "archived", "deleted"] | None = None
    start_time: When | None = Field(default=None, description="Rows created at or after this instant.")
    end_time: When | None = Field(default=None, description="Rows created before this instant.")


@dataclass(frozen=True)
class SearchField:
    """One filterable field: its DSL type, the model attribute (default: its name), sortable or not."""

    kind: Kind
    column: str | None = None
    sortable: bool = True


@dataclass(frozen=True)
class Shortcut:
    """A top-level field of Flexprice's filter: ``field`` compared by ``operator`` (``eq`` for a
    string, ``in`` for a list), plus fixed equalities (``plan_ids`` of a price: ``entity_type = PLAN``)."""

    field: str
    operator: Literal["eq", "in", "contains", "gt", "gte", "lt", "lte", "active_at"] = "eq"
    fixed: Mapping[str, str] = default_field(default_factory=dict)
    kind: Literal["string", "date", "integer"] = "string"
    # ``active_at``: ``field`` (a start) at or before the instant and ``until`` (an end) null or after it.
    until: str | None = None

    def annotation(self) -> Any:
        """The request field's type."""
        if self.operator == "in":
            return Annotated[list[Text], Field(max_length=MAX_VALUES)]
        return {"string": Text, "date": When, "integer": Annotated[int, Field(ge=0, le=INT32_MAX)]}[self.kind]


@dataclass(frozen=True)
class NotYet:
    """A field of Flexprice's filter we do not implement yet: accepted at its neutral values only
    (``neutral()`` in ``api/schemas/common.py``: anything else is a 400 naming it, never ignored)."""

    annotation: Any
    accepted: tuple[Any, ...] = ()
    brought_by: str | None = None
    why: str = ""


@dataclass(frozen=True)
class SearchSpec:
    """What a resource's search accepts.

    ``customer_column`` enables ``external_customer_id``; ``expandable`` names the nested objects the
    items always carry (anything else in ``expand`` is a 400); ``flags`` are Flexprice booleans the
    route interprets itself; ``sort_as_string``: Flexprice types ``sort`` as one field name here;
    ``status_column``/``status_values``: the column Flexprice's top-level ``status`` means, when it is
    not the row status (a wallet's ``status`` is its ``wallet_status``).
    """

    name: str
    model: type[ScopedModel]
    fields: Mapping[str, SearchField]
    shortcuts: Mapping[str, Shortcut] = default_field(default_factory=dict)
    customer_column: str | None = None
    expandable: frozenset[str] = frozenset()
    newest_first: bool = False
    sort_as_string: bool = False
    flags: Mapping[str, bool | None] = default_field(default_factory=dict)
    status_column: str = "status"
    status_values: tuple[str, ...] = ("published", "archived", "deleted")
    not_yet: Mapping[str, NotYet] = default_field(default_factory=dict)
    # Flexprice's ``start_time`` / ``end_time`` of this resource: ``(start column, end column)`` selects rows
    # whose [start, end) lies within the range (an invoice's period); None: ``created_at`` in [start, end).
    time_range: tuple[str, str] | None = None

    def request_model(self) -> type[SearchRequest]:
        """The body model: ``SearchRequest`` plus this resource's shortcuts and flags."""
        extra: dict[str, Any] = {}
        for key, shortcut in self.shortcuts.items():
            extra[key] = (shortcut.annotation() | None, None)
        for key, later in self.not_yet.items():
            extra[key] = (
                later.annotation | None,
                neutral(*later.accepted, default=None, brought_by=later.brought_by, description=later.why),
            )
        if self.customer_column is not None:
            extra["external_customer_id"] = (Text | None, None)
        for key, default in self.flags.items():
            extra[key] = (bool | None, default)
        if self.status_column != "status":
            extra["status"] = (Literal[self.status_values] | None, None)
        if self.sort_as_string:
            extra["sort"] = (Text | None, None)
        title = self.name.title().replace("_", "")
        model: type[SearchRequest] = create_model(
            f"{title}Search",
            __base__=SearchRequest,
            __doc__=f"Flexprice's `{title}Filter`: the filter DSL plus its top-level shortcuts.",
            **extra,
        )
        return model


@dataclass(frozen=True)
class Query:
    """A validated search: the scoped, filtered statement's pieces, ready to count and page."""

    where: list[ColumnElement[bool]]
    order_by: list[Any]
    limit: int
    offset: int
    include_deleted: bool
    expand: frozenset[str]


def _fail(field: str, message: str) -> BadRequest:
    return BadRequest(field, message)


def _column(spec: SearchSpec, name: str) -> InstrumentedAttribute[Any]:
    declared = spec.fields.get(name)
    attr = (declared.column if declared else None) or name
    return getattr(spec.model, "metadata_" if attr == "metadata" else attr)  # type: ignore[no-any-return]


def _integral(column: Any, operator: str, number: Decimal) -> ColumnElement[bool]:
    # Integer columns compared exactly with a decimal: x > 2.5 is x > 2, x >= 2.5 is x >= 3.
    if operator == "eq":
        return column == int(number) if number == number.to_integral_value() else false()
    if operator == "gt":
        return column > math.floor(number)  # type: ignore[no-any-return]
    if operator == "gte":
        return column >= math.ceil(number)  # type: ignore[no-any-return]
    return column < math.ceil(number)  # type: ignore[no-any-return]


def _condition(spec: SearchSpec, index: int, condition: FilterCondition) -> ColumnElement[bool]:
    at = f"body.filters.{index}"
    name = condition.field
    if not name:
        raise _fail(f"{at}.field", "is required")
    if name not in spec.fields:
        raise _fail(f"{at}.field", f"unknown field {name!r}; {spec.name} filters on {', '.join(spec.fields)}")
    declared = spec.fields[name]
    operator = condition.operator
    if not operator:
        raise _fail(f"{at}.operator", "is required")
    if operator not in OPERATORS:
        raise _fail(f"{at}.operator", f"unknown operator {operator!r}; one of {', '.join(OPERATORS)}")
    data_type = condition.data_type or ("array" if operator in ("in", "not_in") else declared.kind)
    if data_type not in DATA_TYPES:
        raise _fail(f"{at}.data_type", f"unknown data_type {data_type!r}; one of {', '.join(DATA_TYPES)}")
    compatible = data_type == declared.kind or (data_type == "array" and declared.kind == "string")
    if not compatible:
        raise _fail(f"{at}.data_type", f"field {name!r} is a {declared.kind}, not {data_type}")
    if operator not in _OPERATORS_OF[data_type]:
        allowed = ", ".join(sorted(_OPERATORS_OF[data_type]))
        raise _fail(
            f"{at}.operator", f"{operator!r} does not apply to {data_type} field {name!r}; use {allowed}"
        )
    slot = _SLOT[data_type]
    value = getattr(condition.value, slot, None) if condition.value is not None else None
    if value is None:
        raise _fail(f"{at}.value.{slot}", f"is required for a {data_type} filter on {name!r}")
    column = _column(spec, name)
    if operator == "in":
        return column.in_(value)
    if operator == "not_in":
        return or_(column.is_(None), column.not_in(value))
    if operator == "contains":
        return column.icontains(value, autoescape=True)
    if operator == "not_contains":
        return or_(column.is_(None), ~column.icontains(value, autoescape=True))
    if data_type == "number" and isinstance(column.type, Integer):
        return _integral(column, operator, value)
    if operator == "eq":
        return column == value  # type: ignore[no-any-return]
    if operator in ("gt", "after"):
        return column > value  # type: ignore[no-any-return]
    if operator == "gte":
        return column >= value  # type: ignore[no-any-return]
    return column < value  # type: ignore[no-any-return]


def _direction(value: str | None, at: str, default: str) -> str:
    if value is None:
        return default
    if value not in DIRECTIONS:
        raise _fail(at, f"unknown direction {value!r}; asc or desc")
    return value


def _ordered(column: Any, direction: str) -> Any:
    # The same order on both backends: PostgreSQL's defaults (nulls last ascending, first descending).
    return column.asc().nulls_last() if direction == "asc" else column.desc().nulls_first()


def _sort(spec: SearchSpec, request: SearchRequest) -> list[Any]:
    default = "desc" if spec.newest_first else "asc"
    order = _direction(request.order, "body.order", default)
    raw: Any = request.sort
    conditions: list[tuple[str | None, str | None, str]] = []
    if isinstance(raw, str):
        conditions = [(raw, None, "body.sort")]
    elif raw:
        if len(raw) > MAX_SORTS:
            raise _fail("body.sort", f"at most {MAX_SORTS} sort conditions")
        conditions = [(s.field, s.direction, f"body.sort.{i}") for i, s in enumerate(raw)]
    order_by: list[Any] = []
    for name, direction, at in conditions:
        field_at = at if isinstance(raw, str) else f"{at}.field"
        if not name:
            raise _fail(field_at, "is required")
        sortable = [key for key, value in spec.fields.items() if value.sortable]
        if name not in sortable:
            raise _fail(field_at, f"cannot sort {spec.name} by {name!r}; sortable: {', '.join(sortable)}")
        order_by.append(_ordered(_column(spec, name), _direction(direction, f"{at}.direction", order)))
    order_by.append(_ordered(spec.model.id, order))  # ids are unique: pages never overlap
    return order_by


def _shortcut(spec: SearchSpec, key: str, shortcut: Shortcut, value: Any) -> list[ColumnElement[bool]]:
    column = _column(spec, shortcut.field)
    fixed = [getattr(spec.model, name) == fixed for name, fixed in shortcut.fixed.items()]
    if shortcut.operator == "in":
        return [*fixed, column.in_(value)]
    if shortcut.operator == "contains":
        return [*fixed, column.icontains(value, autoescape=True)]
    if shortcut.operator == "active_at":
        assert shortcut.until is not None
        until = _column(spec, shortcut.until)
        return [*fixed, column <= value, or_(until.is_(None), until > value)]
    compare = {
        "eq": column.__eq__,
        "gt": column.__gt__,
        "gte": column.__ge__,
        "lt": column.__lt__,
        "lte": column.__le__,
    }[shortcut.operator]
    return [*fixed, compare(value)]


def compile_search(catalog: CatalogSession, spec: SearchSpec, request: SearchRequest) -> Query:
    """Validate ``request`` against ``spec`` (``BadRequest`` naming the field) and build its SQL."""
    limit = DEFAULT_LIMIT if request.limit is None else request.limit
    if not 1 <= limit <= MAX_LIMIT:
        raise _fail("body.limit", f"must be between 1 and {MAX_LIMIT}")
    offset = 0 if request.offset is None else request.offset
    if not 0 <= offset <= INT32_MAX:
        raise _fail("body.offset", f"must be between 0 and {INT32_MAX}")
    filters = request.filters or []
    if len(filters) > MAX_FILTERS:
        raise _fail("body.filters", f"at most {MAX_FILTERS} filters")
    where = [_condition(spec, index, condition) for index, condition in enumerate(filters)]
    for key, shortcut in spec.shortcuts.items():
        value = getattr(request, key, None)
        if value is not None:
            where.extend(_shortcut(spec, key, shortcut, value))
    external = getattr(request, "external_customer_id", None)
    if spec.customer_column is not None and external is not None:
        customers = catalog.repo(Customer).select().where(Customer.external_id == external)
        where.append(getattr(spec.model, spec.customer_column).in_(customers.with_only_columns(Customer.id)))
    if request.status is not None:
        where.append(getattr(spec.model, spec.status_column) == request.status)
    starts, ends = (
        (_column(spec, spec.time_range[0]), _column(spec, spec.time_range[1]))
        if spec.time_range is not None
        else (spec.model.created_at, spec.model.created_at)
    )
    if request.start_time is not None:
        where.append(starts >= request.start_time)
    if request.end_time is not None:
        # A period [start, end) lies within the range when its end is at or before the range's end;
        # a creation instant must be before it (half-open either way).
        where.append(ends <= request.end_time if spec.time_range is not None else ends < request.end_time)
    expand = frozenset(part.strip() for part in (request.expand or "").split(",") if part.strip())
    unknown = sorted(expand - spec.expandable)
    if unknown:
        known = ", ".join(sorted(spec.expandable)) or "nothing"
        raise _fail("body.expand", f"cannot expand {', '.join(unknown)}; {spec.name} expands {known}")
    return Query(
        where=where,
        order_by=_sort(spec, request),
        limit=limit,
        offset=offset,
        include_deleted=spec.status_column == "status" and request.status == "deleted",
        expand=expand,
    )


@dataclass(frozen=True)
class Found:
    """One page of search results: the rows, the number matching, and the request's flags."""

    rows: list[Any]
    total: int
    limit: int
    offset: int
    request: SearchRequest


def run_search(
    catalog: CatalogSession,
    spec: SearchSpec,
    request: SearchRequest,
    extra: Sequence[ColumnElement[bool]] = (),
) -> Found:
    """The page of rows ``request`` selects (``extra``: conditions the route adds from its flags)."""
    query = compile_search(catalog, spec, request)
    statement = catalog.repo(spec.model).select(include_deleted=query.include_deleted)
    statement = statement.where(*query.where, *extra)
    total = catalog.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = catalog.session.scalars(
        statement.order_by(*query.order_by).limit(query.limit).offset(query.offset)
    ).all()
    return Found(rows=list(rows), total=total, limit=query.limit, offset=query.offset, request=request)


P = TypeVar("P", bound=BaseModel)
Items = Callable[[CatalogSession, list[Any], SearchRequest, datetime], Sequence[BaseModel]]
Extra = Callable[[SearchRequest, datetime], Sequence[ColumnElement[bool]]]


def add_search_route(
    router: APIRouter,
    spec: SearchSpec,
    public: type[BaseModel],
    items: Items | None = None,
    *,
    path: str = "/search",
    extra: Extra | None = None,
) -> None:
    """``POST <router prefix><path>``: Flexprice's search of ``spec``, answering ``ListResponse[public]``.

    ``items`` turns a page of rows into public objects (default ``public.model_validate`` per row);
    ``extra`` adds conditions from the route's own flags (a line item's ``active_filter``).
    """
    body_model = spec.request_model()
    response_model = ListResponse[public]  # type: ignore[valid-type]

    def search(body: Any, catalog: Any, now: Any) -> Any:
        found = run_search(catalog, spec, body, extra(body, now) if extra is not None else ())
        listed = (
            items(catalog, found.rows, body, now) if items else [public.model_validate(r) for r in found.rows]
        )
        return response_model(
            items=list(listed),
            pagination=Pagination(total=found.total, limit=found.limit, offset=found.offset),
        )

    fields = ", ".join(f"`{name}` ({value.kind})" for name, value in spec.fields.items())
    sortable = ", ".join(f"`{name}`" for name, value in spec.fields.items() if value.sortable)
    search.__name__ = f"search_{spec.name}"
    search.__doc__ = (
        f"Search {spec.name.replace('_', ' ')} with Flexprice's filter DSL (`filters`, `sort`, `limit` ≤ "
        f"{MAX_LIMIT}, `offset`, `start_time`/`end_time` on `created_at`).\n\n"
        f"Filterable: {fields}. Sortable: {sortable}. An unknown field or operator, a `data_type` that "
        "does not match the field, or a `limit` above the maximum is a 400 naming the field."
    )
    search.__annotations__ = {
        "body": body_model,
        "catalog": CatalogDep,
        "now": NowDep,
        "return": response_model,
    }
    router.add_api_route(
        path,
        search,
        methods=["POST"],
        response_model=response_model,
        name=f"search_{spec.name}",
        summary=f"Search {spec.name.replace('_', ' ')}",
    )


__all__ = [
    "MAX_LIMIT",
    "OPERATORS",
    "FilterCondition",
    "NotYet",
    "SearchField",
    "SearchRequest",
    "SearchSpec",
    "Shortcut",
    "SortCondition",
    "add_search_route",
    "compile_search",
    "run_search",
]
