"""Usage reads, Flexprice's shapes: history from the warehouse, real time from the usage read model.

History (``flexprice_pipelines.warehouse.usage``, aggregation in the engine's SQL, one page of raw events at
most in Python): ``POST /v1/events/usage``, ``POST /v1/events/usage/meter``, ``POST /v1/events/query``,
``GET /v1/events``, ``GET /v1/events/lookup``, ``POST /v1/events/analytics``. Time ranges are half-open
``[start_time, end_time)``, defaulting to the 7 days before now; every read is scoped to the API key's
tenant and environment. On the embedded DuckDB file a read takes its turn like every other process (it
waits for a sink batch or a billing step, ``api/clients.py``) and answers 503 with ``Retry-After`` if the
file stays held past ``WAREHOUSE_READ_WAIT_SECONDS``.

Real time (the read model the entitlement checks use): ``GET /v1/customers/usage``, mounted before
``/v1/customers/{id}`` (``routers/__init__.py``); ``POST /v1/subscriptions/usage`` and
``GET /v1/wallets/{id}/balance/real-time`` (the current period's usage line items priced exactly); and
``GET /v1/customers/{id}/wallets`` (the catalog).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import HTTPException, Path, Query, Request
from sqlalchemy import select

from api.clients import WarehouseReads
from api.deps import CatalogDep, NowDep, ScopeDep, SessionDep
from api.errors import BadRequest
from api.routers.entitlement_checks import ServiceDep, _feature, _int, _source
from api.routing import domain_router
from api.schemas.common import Id, Text, When
from api.schemas.entitlement_checks import CustomerUsageSummaryResponse, FeatureUsageSummary
from api.schemas.prices import PricePublic
from api.schemas.usage import (
    MAX_GROUPS,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    MAX_WINDOWS,
    EventOut,
    GetEventByIDResponse,
    GetEventsRequest,
    GetEventsResponse,
    GetUsageAnalyticsRequest,
    GetUsageAnalyticsResponse,
    GetUsageByMeterRequest,
    GetUsageBySubscriptionRequest,
    GetUsageBySubscriptionResponse,
    GetUsageRequest,
    GetUsageResponse,
    RealTimeWalletBalance,
    SubscriptionUsageCharge,
    UsageAnalyticItem,
    UsageAnalyticPoint,
    UsageResult,
)
from api.schemas.wallets import WalletPublic
from flexprice_pipelines.billing.invoicing import billable_usage
from flexprice_pipelines.billing.meters import billable_quantity
from flexprice_pipelines.billing.periods import BillingWindow
from flexprice_pipelines.billing.pricing import calculate_cost
from flexprice_pipelines.catalog import Repository
from flexprice_pipelines.catalog.errors import NotFound
from flexprice_pipelines.catalog.mappers import billing_price
from flexprice_pipelines.catalog.models import (
    Customer,
    Feature,
    Meter,
    Price,
    Subscription,
    SubscriptionLineItem,
    Wallet,
)
from flexprice_pipelines.ledger.terms import included_units, subscription_allowances
from flexprice_pipelines.usage.queries import window_usage
from flexprice_pipelines.usage.service import CustomerRef
from flexprice_pipelines.warehouse.turns import WarehouseBusy
from flexprice_pipelines.warehouse.usage import (
    AGGREGATIONS,
    WINDOW_SIZES,
    EventsQuery,
    StoredEvent,
    UsageQuery,
    UsageReader,
)
from flexprice_pipelines.warehouse.usage import UsageResult as Usage

if TYPE_CHECKING:
    from flexprice_pipelines.warehouse.base import Warehouse

router = domain_router("/v1", "usage")
DEFAULT_RANGE = timedelta(days=7)
MAX_CUSTOMER_WALLETS = 1000


def _warehouse(request: Request) -> Warehouse:
    handle: WarehouseReads = request.app.state.warehouse
    try:
        return handle.get()
    except WarehouseBusy as exc:
        raise _busy(exc) from exc


def _busy(exc: WarehouseBusy) -> HTTPException:
    return HTTPException(503, f"the warehouse is busy, retry: {exc}", headers={"Retry-After": "5"})


def _range(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    end = end or now
    start = start or end - DEFAULT_RANGE
    if start >= end:
        raise BadRequest("start_time", "must be before end_time (the range is [start_time, end_time))")
    return start, end


def _window(size: str | None, start: datetime, end: datetime) -> str | None:
    if size is None:
        return None
    if size not in WINDOW_SIZES:
        raise BadRequest("window_size", f"must be one of {', '.join(WINDOW_SIZES)}")
    if (end - start) / WINDOW_SIZES[size] > MAX_WINDOWS:
        raise BadRequest(
            "window_size", f"the range holds more than {MAX_WINDOWS} windows of {size}: use a larger window"
        )
    return size


def _group_by(
    values: list[str] | None, field: str, allowed: tuple[str, ...] = ("source",)
) -> tuple[str, ...]:
    groups = tuple(dict.fromkeys(values or ()))
    if len(groups) > MAX_GROUPS:
        raise BadRequest(field, f"at most {MAX_GROUPS} dimensions")
    for group in groups:
        if group not in allowed and not (group.startswith("properties.") and len(group) > len("properties.")):
            raise BadRequest(field, f'{group!r}: use {", ".join(map(repr, allowed))} or "properties.<key>"')
    return groups


def _filters(values: Mapping[str, list[str]] | None, field: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    result = []
    for key, accepted in (values or {}).items():
        if not key.strip():
            raise BadRequest(field, "a property name must not be blank")
        if not accepted:
            raise BadRequest(f"{field}.{key}", "needs at least one value")
        result.append((key.strip(), tuple(accepted)))
    return tuple(result)


def _external_id(catalog: CatalogDep, customer_id: str | None, external_id: str | None) -> str | None:
    """The external id events carry: given, or the catalog customer's (of this tenant; else 404)."""
    if customer_id is None:
        return external_id
    row = catalog.repo(Customer).find_one(id=customer_id)
    if row is None:
        raise NotFound("customer", customer_id, field="customer_id")
    if external_id is not None and external_id != row.external_id:
        raise BadRequest("external_customer_id", "does not match the customer of customer_id")
    return str(row.external_id)


def _read(warehouse: Warehouse, work: Any, *args: Any) -> Any:
    try:
        return work(UsageReader(warehouse), *args)
    except WarehouseBusy as exc:
        raise _busy(exc) from exc


def _rfc3339(value: datetime | None) -> str:
    assert value is not None
    return value.isoformat().replace("+00:00", "Z")


def _response(event_name: str, aggregation: str, usage: Usage) -> GetUsageResponse:
    return GetUsageResponse(
        event_name=event_name,
        type=aggregation,
        value=usage.value,
        event_count=usage.event_count,
        results=[
            UsageResult(
                window_size=_rfc3339(row.window_start) if row.window_start else None,
                value=row.value,
                event_count=row.event_count,
                group=row.group or None,
            )
            for row in usage.rows
        ],
    )


@router.post("/events/usage", response_model=GetUsageResponse, response_model_exclude_none=True)
def get_usage(
    body: GetUsageRequest, request: Request, scope: ScopeDep, catalog: CatalogDep, now: NowDep
) -> GetUsageResponse:
    """One event name aggregated over ``[start_time, end_time)``: the total, and per window / group."""
    aggregation = body.aggregation_type
    if aggregation not in AGGREGATIONS:
        raise BadRequest("aggregation_type", f"must be one of {', '.join(AGGREGATIONS)}")
    if aggregation != "COUNT" and not body.property_name:
        raise BadRequest("property_name", f"required for {aggregation}")
    multiplier = None
    if aggregation == "SUM_WITH_MULTIPLIER":
        multiplier = _decimal(body.multiplier, "multiplier")
    start, end = _range(body.start_time, body.end_time, now)
    customer = _external_id(catalog, body.customer_id, body.external_customer_id)
    catalog.session.rollback()  # nothing else of the catalog: release it before the warehouse read
    query = UsageQuery(
        tenant_id=scope.tenant_id,
        environment_id=scope.environment_id,
        event_name=body.event_name,
        aggregation=aggregation,
        start=start,
        end=end,
        property_name=body.property_name,
        multiplier=multiplier,
        external_customer_id=customer,
        filters=_filters(body.filters, "filters"),
        window_size=_window(body.window_size, start, end),
        group_by=_group_by(body.group_by, "group_by"),
    )
    usage = _read(_warehouse(request), UsageReader.usage, query)
    return _response(body.event_name, aggregation, usage)


def _decimal(value: str | None, field: str) -> Decimal:
    try:
        number = Decimal(value or "")
    except InvalidOperation:
        raise BadRequest(field, "must be a decimal string") from None
    if not number.is_finite() or number <= 0:
        raise BadRequest(field, "must be greater than 0")
    return number


def _meter_query(
    meter: Meter, scope: ScopeDep, start: datetime, end: datetime, customer: str | None, **more: Any
) -> UsageQuery:
    aggregation = dict(meter.aggregation or {})
    kind = str(aggregation.get("type", "COUNT"))
    if kind not in AGGREGATIONS:
        raise BadRequest("meter_id", f"the meter's aggregation {kind} is not served by this endpoint yet")
    own = tuple((str(f["key"]), tuple(str(v) for v in f["values"])) for f in meter.filters or ())
    extra = more.pop("filters", ())
    multiplier = aggregation.get("multiplier")
    return UsageQuery(
        tenant_id=scope.tenant_id,
        environment_id=scope.environment_id,
        event_name=meter.event_name,
        aggregation=kind,
        start=start,
        end=end,
        property_name=aggregation.get("field") or None,
        multiplier=Decimal(str(multiplier)) if multiplier is not None else None,
        external_customer_id=customer,
        filters=own + tuple(extra),
        **more,
    )


@router.post("/events/usage/meter", response_model=GetUsageResponse, response_model_exclude_none=True)
def get_usage_by_meter(
    body: GetUsageByMeterRequest, request: Request, scope: ScopeDep, catalog: CatalogDep, now: NowDep
) -> GetUsageResponse:
    """A meter's usage (its event name, filters and aggregation) over ``[start_time, end_time)``."""
    meter = catalog.repo(Meter).find_one(id=body.meter_id)
    if meter is None:
        raise NotFound("meter", body.meter_id, field="meter_id")
    start, end = _range(body.start_time, body.end_time, now)
    customer = _external_id(catalog, body.customer_id, body.external_customer_id)
    query = _meter_query(
        meter,
        scope,
        start,
        end,
        customer,
        filters=_filters(body.filters, "filters"),
        window_size=_window(body.window_size, start, end),
    )
    catalog.session.rollback()
    usage = _read(_warehouse(request), UsageReader.usage, query)
    return _response(query.event_name, query.aggregation, usage)


def _event_out(event: StoredEvent) -> EventOut:
    return EventOut(
        id=event.event_id,
        event_name=event.event_name,
        external_customer_id=event.external_customer_id,
        customer_id=event.customer_id,
        timestamp=_rfc3339(event.timestamp),
        source=event.source,
        properties=orjson.loads(event.properties),
        environment_id=event.environment_id,
    )


def _events(request: Request, scope: ScopeDep, now: datetime, body: GetEventsRequest) -> GetEventsResponse:
    start, end = _range(body.start_time, body.end_time, now)
    limit = MAX_PAGE_SIZE if body.page_size is None else body.page_size
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise BadRequest("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
    offset = body.offset or 0
    if not 0 <= offset <= MAX_OFFSET:
        raise BadRequest("offset", f"must be between 0 and {MAX_OFFSET}")
    sort = body.sort or "timestamp"
    if sort not in ("timestamp", "event_name"):
        raise BadRequest("sort", "must be timestamp or event_name")
    order = body.order or "desc"
    if order not in ("asc", "desc"):
        raise BadRequest("order", "must be asc or desc")
    query = EventsQuery(
        tenant_id=scope.tenant_id,
        environment_id=scope.environment_id,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
        event_name=body.event_name,
        external_customer_id=body.external_customer_id,
        event_id=body.event_id,
        source=body.source,
        property_filters=_filters(body.property_filters, "property_filters"),
        sort=sort,
        descending=order == "desc",
    )
    events, total = _read(_warehouse(request), UsageReader.events, query)
    return GetEventsResponse(
        events=[_event_out(e) for e in events],
        has_more=offset + len(events) < total,
        total_count=total,
        offset=offset,
    )


@router.post("/events/query", response_model=GetEventsResponse)
def query_events(body: GetEventsRequest, request: Request, scope: ScopeDep, now: NowDep) -> GetEventsResponse:
    """A page of raw events (latest version of each id), newest first by default; ``total_count`` of all."""
    return _events(request, scope, now, body)


def _property_filters(text: str | None) -> dict[str, list[str]] | None:
    # Flexprice's query form: key1:value1,value2;key2:value3
    if not text:
        return None
    result: dict[str, list[str]] = {}
    for group in text.split(";"):
        key, sep, values = group.partition(":")
        if not sep or not key.strip():
            raise BadRequest("property_filters", "use key1:value1,value2;key2:value3")
        result[key.strip()] = values.split(",")
    return result


@router.get("/events", response_model=GetEventsResponse)
def list_events(
    request: Request,
    scope: ScopeDep,
    now: NowDep,
    external_customer_id: Annotated[Text | None, Query()] = None,
    event_name: Annotated[Text | None, Query()] = None,
    event_id: Annotated[Text | None, Query()] = None,
    source: Annotated[Text | None, Query()] = None,
    start_time: Annotated[When | None, Query()] = None,
    end_time: Annotated[When | None, Query()] = None,
    property_filters: Annotated[Text | None, Query(description="key1:v1,v2;key2:v3")] = None,
    page_size: Annotated[int | None, Query()] = None,
    offset: Annotated[int | None, Query()] = None,
    sort: Annotated[str | None, Query()] = None,
    order: Annotated[str | None, Query()] = None,
) -> GetEventsResponse:
    """Flexprice's list of raw events (query parameters of ``POST /v1/events/query``)."""
    body = GetEventsRequest.model_construct(
        external_customer_id=external_customer_id,
        event_name=event_name,
        event_id=event_id,
        source=source,
        start_time=start_time,
        end_time=end_time,
        property_filters=_property_filters(property_filters),
        page_size=page_size,
        offset=offset,
        sort=sort,
        order=order,
    )
    return _events(request, scope, now, body)


_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Unknown id (also another tenant's)."}}


@router.get("/events/lookup", response_model=GetEventByIDResponse, responses=_NOT_FOUND)
def lookup_event(
    request: Request,
    scope: ScopeDep,
    id: Annotated[Text, Query(description="The event id.")],
    external_customer_id: Annotated[
        Text | None, Query(description="If given, the event must carry this customer (the SDK sends it).")
    ] = None,
) -> GetEventByIDResponse:
    """The latest version of one event of this tenant by its id, whatever its timestamp; 404 if none."""
    found = _read(_warehouse(request), UsageReader.event, scope.tenant_id, scope.environment_id, id)
    if found is None or external_customer_id not in (None, found.external_customer_id):
        raise NotFound("event", id, field="id")
    return GetEventByIDResponse(event=_event_out(found))


@router.post("/events/analytics", response_model=GetUsageAnalyticsResponse, response_model_exclude_none=True)
def usage_analytics(
    body: GetUsageAnalyticsRequest, request: Request, scope: ScopeDep, catalog: CatalogDep, now: NowDep
) -> GetUsageAnalyticsResponse:
    """Usage of one customer per metered feature (and source / property group, per window); no costs."""
    start, end = _range(body.start_time, body.end_time, now)
    window = _window(body.window_size, start, end)
    groups = tuple(
        g for g in _group_by(body.group_by, "group_by", ("source", "feature_id")) if g != "feature_id"
    )
    filters = _filters(body.property_filters, "property_filters")
    rows = [f for f in _metered_features(catalog) if not body.feature_ids or f.id in body.feature_ids]
    if body.feature_ids:
        missing = sorted(set(body.feature_ids) - {f.id for f in rows})
        if missing:
            raise NotFound("feature", missing[0], field="feature_ids")
    meters = {m.id: m for m in _meters(catalog, {f.meter_id for f in rows})}
    queries = [
        (
            feature,
            _meter_query(
                meters[feature.meter_id],
                scope,
                start,
                end,
                body.external_customer_id,
                filters=filters,
                window_size=window,
                group_by=groups,
                sources=tuple(body.sources or ()),
            ),
        )
        for feature in rows
        if feature.meter_id in meters
    ]
    catalog.session.rollback()
    warehouse = _warehouse(request)
    items: list[UsageAnalyticItem] = []
    for feature, query in queries:
        usage = _read(warehouse, UsageReader.usage, query)
        totals: dict[tuple[Any, ...], tuple[Decimal, int]] = {}
        if query.window_size is not None and query.group_by:
            # A group's total is not always the sum of its windows (COUNT_UNIQUE, LATEST, AVG): read it.
            grouped = _read(warehouse, UsageReader.usage, replace(query, window_size=None))
            totals = {_key(row.group): (row.value, row.event_count) for row in grouped.rows}
        items.extend(_analytic_items(feature, query, usage, totals))
    return GetUsageAnalyticsResponse(items=items)


def _metered_features(catalog: CatalogDep) -> list[Feature]:
    statement = select(Feature).where(
        Feature.tenant_id == catalog.scope.tenant_id,
        Feature.environment_id == catalog.scope.environment_id,
        Feature.type == "metered",
        Feature.meter_id.is_not(None),
        Feature.status == "published",
    )
    return list(catalog.session.scalars(statement.order_by(Feature.created_at, Feature.id)))


def _meters(catalog: CatalogDep, ids: set[str | None]) -> list[Meter]:
    statement = select(Meter).where(
        Meter.tenant_id == catalog.scope.tenant_id,
        Meter.environment_id == catalog.scope.environment_id,
        Meter.id.in_([i for i in ids if i]),
    )
    return list(catalog.session.scalars(statement))


def _key(group: dict[str, str | None]) -> tuple[Any, ...]:
    return tuple(sorted(group.items(), key=lambda kv: kv[0]))


def _analytic_items(
    feature: Feature, query: UsageQuery, usage: Usage, totals: dict[tuple[Any, ...], tuple[Decimal, int]]
) -> list[UsageAnalyticItem]:
    def item(group: dict[str, str | None], total: Decimal, count: int) -> UsageAnalyticItem:
        return UsageAnalyticItem(
            feature_id=feature.id,
            name=feature.name,
            event_name=query.event_name,
            meter_id=str(feature.meter_id),
            aggregation_type=query.aggregation,
            source=group.get("source"),
            properties={k.removeprefix("properties."): v for k, v in group.items() if k != "source"},
            total_usage=total,
            event_count=count,
            unit=feature.unit_singular,
            unit_plural=feature.unit_plural,
            window_size=query.window_size,
        )

    if not query.group_by and query.window_size is None:
        return [item({}, usage.value, usage.event_count)]
    if query.window_size is None:
        return [item(row.group, row.value, row.event_count) for row in usage.rows]
    # Windows (and groups): one item per group, its points per window.
    by_group: dict[tuple[Any, ...], list[Any]] = {}
    for row in usage.rows:
        by_group.setdefault(_key(row.group), []).append(row)
    items = []
    for key, rows in by_group.items():
        group = dict(key)
        if query.group_by:
            total, count = totals.get(key, (Decimal(0), 0))
        else:
            total, count = usage.value, usage.event_count
        entry = item(group, total, count)
        entry.points = [
            UsageAnalyticPoint(
                timestamp=_rfc3339(row.window_start),
                usage=row.value,
                event_count=row.event_count,
            )
            for row in rows
        ]
        items.append(entry)
    if not items and not query.group_by:
        items.append(item({}, usage.value, usage.event_count))
    return items


@router.get("/customers/usage", response_model=CustomerUsageSummaryResponse, responses=_NOT_FOUND)
def customer_usage_summary(
    session: SessionDep,
    scope: ScopeDep,
    service: ServiceDep,
    now: NowDep,
    customer_id: Annotated[Id | None, Query()] = None,
    customer_lookup_key: Annotated[Text | None, Query(description="The customer's external_id.")] = None,
    feature_ids: Annotated[str | None, Query(description="Comma-separated feature ids.")] = None,
    feature_lookup_keys: Annotated[str | None, Query(description="Comma-separated lookup keys.")] = None,
    subscription_ids: Annotated[str | None, Query(description="Comma-separated subscription ids.")] = None,
) -> CustomerUsageSummaryResponse:
    """Real-time usage of the customer's metered features in their current windows (the read model)."""
    if customer_id is None and customer_lookup_key is None:
        raise BadRequest("customer_id", "give customer_id or customer_lookup_key")
    customer = service.customer(session, scope, customer_id=customer_id, external_id=customer_lookup_key)
    view = service.view(session, scope, customer)
    ids, keys, subs = (_csv(feature_ids), _csv(feature_lookup_keys), _csv(subscription_ids))
    features = []
    for answer in service.usage(session, scope, customer, now):
        if (ids or keys) and answer.feature.id not in ids and answer.feature.lookup_key not in keys:
            continue
        sources = [s for s in answer.sources if not subs or s.subscription_id in subs]
        if subs and not sources:
            continue
        features.append(
            FeatureUsageSummary(
                feature=_feature(answer.feature),
                total_limit=_int(answer.check.usage_limit),
                is_unlimited=answer.check.usage_limit is None,
                current_usage=answer.check.current_usage,
                usage_percent=answer.usage_percent,
                is_enabled=answer.check.is_enabled,
                is_soft_limit=answer.check.is_soft_limit,
                next_usage_reset_at=answer.next_usage_reset_at,
                sources=[_source(view, s) for s in sources],
            )
        )
    return CustomerUsageSummaryResponse(customer_id=customer.id, features=features)


@router.get("/customers/{id}/wallets", response_model=list[WalletPublic])
def customer_wallets(
    id: Annotated[Id, Path(description="Customer id (cust_…).")], catalog: CatalogDep
) -> list[Wallet]:
    """Every wallet of the customer, oldest first (Flexprice answers a bare array); 404 for an unknown customer."""
    catalog.repo(Customer).get(id)
    page = catalog.repo(Wallet).list(limit=MAX_CUSTOMER_WALLETS, customer_id=id)
    return list(page.items)


def _subscription_charges(
    session: SessionDep, scope: ScopeDep, service: ServiceDep, subscription: Subscription, now: datetime
) -> tuple[BillingWindow | None, list[SubscriptionUsageCharge]]:
    """The usage line items of ``subscription`` priced at their quantity so far in its current period."""
    customer = session.get(Customer, subscription.customer_id)
    assert customer is not None
    view = service.view(session, scope, CustomerRef(customer.id, customer.external_id))
    info = view.subscriptions.get(subscription.id)
    window = service.calendar.window_at(info.spec(None), now) if info is not None else None
    if window is None:
        return None, []
    items = session.scalars(
        select(SubscriptionLineItem)
        .where(
            SubscriptionLineItem.tenant_id == scope.tenant_id,
            SubscriptionLineItem.environment_id == scope.environment_id,
            SubscriptionLineItem.subscription_id == subscription.id,
            SubscriptionLineItem.meter_id.is_not(None),
            SubscriptionLineItem.status == "published",
        )
        .order_by(SubscriptionLineItem.id)
    ).all()
    prices = {
        p.id: p for p in session.scalars(select(Price).where(Price.id.in_([i.price_id for i in items])))
    }
    allowances = subscription_allowances(session, scope, subscription)
    charges = []
    for item in items:
        meter = view.meters.get(str(item.meter_id))
        price_row = prices.get(item.price_id)
        if meter is None or price_row is None or price_row.tenant_id != scope.tenant_id:
            continue
        if (item.end_date is not None and _aware(item.end_date) <= window.start) or (
            item.start_date is not None and _aware(item.start_date) >= window.end
        ):
            continue
        value = window_usage(session, scope, customer.external_id, str(item.meter_id), meter, window)
        quantity = billable_quantity(value)
        if meter.aggregation.bucket_size is None:
            # The plan's included units, as billing applies them (bucketed meters bill every bucket).
            quantity = billable_usage(quantity, *included_units(allowances, subscription, item.meter_id))
        charges.append(
            SubscriptionUsageCharge(
                subscription_line_item_id=item.id,
                price_id=item.price_id,
                price=PricePublic.model_validate(price_row),
                meter_id=str(item.meter_id),
                meter_display_name=item.display_name,
                quantity=quantity,
                amount=calculate_cost(billing_price(price_row), quantity),
                currency=item.currency,
            )
        )
    return window, charges


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@router.post("/subscriptions/usage", response_model=GetUsageBySubscriptionResponse)
def subscription_usage(
    body: GetUsageBySubscriptionRequest,
    session: SessionDep,
    scope: ScopeDep,
    service: ServiceDep,
    now: NowDep,
) -> GetUsageBySubscriptionResponse:
    """Real-time usage charges of the subscription's current billing period (the read model, priced exactly)."""
    subscription = Repository(session, scope, Subscription).find_one(id=body.subscription_id)
    if subscription is None:
        raise NotFound("subscription", body.subscription_id, field="subscription_id")
    window, charges = _subscription_charges(session, scope, service, subscription, now)
    return GetUsageBySubscriptionResponse(
        amount=sum((c.amount for c in charges), Decimal(0)),
        currency=subscription.currency,
        start_time=_rfc3339(window.start) if window else None,
        end_time=_rfc3339(window.end) if window else None,
        charges=charges,
    )


@router.get("/wallets/{id}/balance/real-time", response_model=RealTimeWalletBalance)
def wallet_real_time_balance(
    id: Annotated[Id, Path(description="Wallet id (wallet_…).")],
    session: SessionDep,
    scope: ScopeDep,
    service: ServiceDep,
    now: NowDep,
    expand: Annotated[str | None, Query(description="Accepted and ignored (no breakdown yet).")] = None,
) -> RealTimeWalletBalance:
    """The wallet's balance less the unbilled usage of its customer's current periods in its currency."""
    wallet = Repository(session, scope, Wallet).get(id)
    subscriptions = session.scalars(
        select(Subscription).where(
            Subscription.tenant_id == scope.tenant_id,
            Subscription.environment_id == scope.environment_id,
            Subscription.customer_id == wallet.customer_id,
            Subscription.currency == wallet.currency,
            Subscription.subscription_status.in_(("active", "trialing")),
        )
    ).all()
    unbilled = Decimal(0)
    for subscription in subscriptions:
        _, charges = _subscription_charges(session, scope, service, subscription, now)
        unbilled += sum((c.amount for c in charges), Decimal(0))
    real_time = wallet.balance - unbilled
    rate = wallet.conversion_rate
    return RealTimeWalletBalance(
        id=wallet.id,
        customer_id=wallet.customer_id,
        currency=wallet.currency,
        balance=wallet.balance,
        credit_balance=wallet.credit_balance,
        conversion_rate=rate,
        current_period_usage=unbilled,
        real_time_balance=real_time,
        real_time_credit_balance=real_time / rate if rate else wallet.credit_balance,
        wallet_status=str(wallet.wallet_status),
        balance_updated_at=_rfc3339(_aware(wallet.updated_at)),
    )


def _csv(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}
