"""Customer entitlements and usage, and real-time entitlement checks, answered from the usage read model."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as ASGIScope

from api.deps import NowDep, ScopeDep, SessionDep, SessionRunner, SessionRunnerDep, now, resolve_scope
from api.routing import domain_router
from api.schemas.common import Id, Text
from api.schemas.entitlement_checks import (
    AggregatedEntitlement,
    AggregatedFeature,
    BatchEntitlementCheckRequest,
    BatchEntitlementCheckResponse,
    CustomerEntitlementsResponse,
    CustomerUsageSummaryResponse,
    EntitlementCheckRequest,
    EntitlementCheckResult,
    EntitlementSourcePublic,
    FeatureSummary,
    FeatureUsageSummary,
    SubscriptionRef,
)
from flexprice_pipelines.billing.entitlements import EntitlementSource
from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.usage.catalog_view import CustomerView, FeatureInfo
from flexprice_pipelines.usage.service import CustomerRef, EntitlementService, FeatureRef, FeatureUsage

router = domain_router("/v1", "entitlement checks")
CustomerIdPath = Annotated[Id, Path(description="Customer id (cust_…).")]
ExternalIdPath = Annotated[Text, Path(description="The customer's external_id.")]

# Subscriptions, plans and entitlements are re-read at most this often per customer; usage is always live.
CONFIG_TTL_SECONDS = 1.0


async def get_service(request: Request) -> EntitlementService:
    """The app's service (created on first use; tests may install their own on ``app.state``)."""
    service = getattr(request.app.state, "entitlement_service", None)
    if service is None:
        service = request.app.state.entitlement_service = EntitlementService(config_ttl=CONFIG_TTL_SECONDS)
    return service


ServiceDep = Annotated[EntitlementService, Depends(get_service)]


def _feature(info: FeatureInfo) -> FeatureSummary:
    return FeatureSummary(
        id=info.id,
        name=info.name,
        lookup_key=info.lookup_key,
        type=info.type,
        meter_id=info.meter_id,
        unit_singular=info.unit_singular,
        unit_plural=info.unit_plural,
        description=info.description,
    )


def _source(view: CustomerView, source: EntitlementSource) -> EntitlementSourcePublic:
    subscription = view.subscriptions[source.subscription_id]
    overrides = source.entity_type.value == "SUBSCRIPTION"
    return EntitlementSourcePublic(
        subscription_id=source.subscription_id,
        entity_id=source.subscription_id if overrides else subscription.plan_id,
        entity_type=source.entity_type.value.lower(),
        entity_name=subscription.plan_name,
        entitlement_id=source.entitlement_id,
        is_enabled=source.is_enabled,
        usage_limit=int(source.usage_limit) if source.usage_limit is not None else None,
        static_value=source.static_value,
        usage_reset_period=source.usage_reset_period,
    )


def _entitlements(
    service: EntitlementService, session: SessionDep, scope: Scope, customer: CustomerRef
) -> CustomerEntitlementsResponse:
    view = service.view(session, scope, customer)
    features = [
        AggregatedFeature(
            feature=_feature(granted.feature),
            entitlement=AggregatedEntitlement(
                is_enabled=granted.entitlement.is_enabled,
                usage_limit=_int(granted.entitlement.usage_limit),
                is_soft_limit=granted.entitlement.is_soft_limit,
                usage_reset_period=granted.entitlement.usage_reset_period,
                static_values=list(granted.entitlement.static_values),
            ),
            sources=[_source(view, s) for s in granted.sources],
        )
        for granted in service.entitlements(session, scope, customer)
    ]
    subscriptions = [
        SubscriptionRef(
            id=s.id,
            plan_id=s.plan_id,
            subscription_status=s.subscription_status,
            start_date=s.start_date,
            current_period_start=s.current_period_start,
            current_period_end=s.current_period_end,
        )
        for s in sorted(view.subscriptions.values(), key=lambda s: (s.start_date, s.id))
        if s.entitled
    ]
    return CustomerEntitlementsResponse(
        customer_id=customer.id, subscriptions=subscriptions, features=features
    )


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


@router.get("/customers/{id}/entitlements", response_model=CustomerEntitlementsResponse)
def customer_entitlements(
    id: CustomerIdPath, session: SessionDep, scope: ScopeDep, service: ServiceDep
) -> CustomerEntitlementsResponse:
    """Every feature the customer's active subscriptions grant, aggregated, with its sources."""
    customer = service.customer(session, scope, customer_id=id)
    return _entitlements(service, session, scope, customer)


@router.get("/customers/external/{external_id}/entitlements", response_model=CustomerEntitlementsResponse)
def customer_entitlements_by_external_id(
    external_id: ExternalIdPath, session: SessionDep, scope: ScopeDep, service: ServiceDep
) -> CustomerEntitlementsResponse:
    """As ``/customers/{id}/entitlements``, for the customer with this ``external_id``."""
    customer = service.customer(session, scope, external_id=external_id)
    return _entitlements(service, session, scope, customer)


@router.get("/customers/{id}/usage", response_model=CustomerUsageSummaryResponse)
def customer_usage(
    id: CustomerIdPath, session: SessionDep, scope: ScopeDep, service: ServiceDep, now: NowDep
) -> CustomerUsageSummaryResponse:
    """Usage of every metered feature in its current window, against the summed limit."""
    customer = service.customer(session, scope, customer_id=id)
    view = service.view(session, scope, customer)
    features = [
        FeatureUsageSummary(
            feature=_feature(answer.feature),
            total_limit=_int(answer.check.usage_limit),
            is_unlimited=answer.check.usage_limit is None,
            current_usage=answer.check.current_usage,
            usage_percent=answer.usage_percent,
            is_enabled=answer.check.is_enabled,
            is_soft_limit=answer.check.is_soft_limit,
            next_usage_reset_at=answer.next_usage_reset_at,
            sources=[_source(view, s) for s in answer.sources],
        )
        for answer in service.usage(session, scope, customer, now)
    ]
    return CustomerUsageSummaryResponse(customer_id=customer.id, features=features)


def _result(customer: CustomerRef, answer: FeatureUsage) -> EntitlementCheckResult:
    check = answer.check
    return EntitlementCheckResult(
        customer_id=customer.id,
        feature_id=answer.feature.id,
        feature_lookup_key=answer.feature.lookup_key,
        allowed=check.allowed,
        reason=check.reason.value,
        is_enabled=check.is_enabled,
        usage_limit=_int(check.usage_limit),
        current_usage=check.current_usage,
        remaining=check.remaining,
        is_soft_limit=check.is_soft_limit,
        next_usage_reset_at=answer.next_usage_reset_at,
        usage_reset_period=check.usage_reset_period,
        static_values=list(check.static_values),
    )


def _json(model: EntitlementCheckResult | BatchEntitlementCheckResponse) -> Response:
    # Serialized by pydantic-core straight to bytes: no second validation, no jsonable_encoder.
    return Response(model.model_dump_json().encode(), media_type="application/json")


def _check_one(
    session: Session, service: EntitlementService, scope: Scope, body: EntitlementCheckRequest, now: datetime
) -> EntitlementCheckResult:
    customer = service.customer(
        session, scope, customer_id=body.customer_id, external_id=body.external_customer_id
    )
    ref = FeatureRef(body.feature_id, body.feature_lookup_key)
    (answer,) = service.check(session, scope, customer, [ref], now)
    return _result(customer, answer)


def _check_many(
    session: Session,
    service: EntitlementService,
    scope: Scope,
    body: BatchEntitlementCheckRequest,
    now: datetime,
) -> BatchEntitlementCheckResponse:
    customer = service.customer(
        session, scope, customer_id=body.customer_id, external_id=body.external_customer_id
    )
    refs = [FeatureRef(f.feature_id, f.feature_lookup_key) for f in body.features]
    answers = service.check(session, scope, customer, refs, now)
    return BatchEntitlementCheckResponse(
        customer_id=customer.id, results=[_result(customer, a) for a in answers]
    )


# The hot path: async routes whose catalog reads run in one worker-thread call holding a connection only
# while they read (``SessionRunner``), answered without FastAPI's response re-validation.
@router.post("/entitlements/check", response_model=EntitlementCheckResult)
async def check_entitlement(
    body: EntitlementCheckRequest, runner: SessionRunnerDep, scope: ScopeDep, service: ServiceDep, now: NowDep
) -> Response:
    """May the customer use the feature now? Unknown customer or feature → 404 naming which."""
    return _json(await runner.run(_check_one, service, scope, body, now))


@router.post("/entitlements/check/batch", response_model=BatchEntitlementCheckResponse)
async def check_entitlements(
    body: BatchEntitlementCheckRequest,
    runner: SessionRunnerDep,
    scope: ScopeDep,
    service: ServiceDep,
    now: NowDep,
) -> Response:
    """The check for up to 100 features at once, in request order."""
    return _json(await runner.run(_check_many, service, scope, body, now))


# -- the hot path without routing and dependency solving ---------------------------------------------------

_Work = Callable[[Session, EntitlementService, Scope, Any, datetime], BaseModel]
_FAST: dict[str, tuple[type[BaseModel], _Work]] = {
    "/v1/entitlements/check": (EntitlementCheckRequest, _check_one),
    "/v1/entitlements/check/batch": (BatchEntitlementCheckRequest, _check_many),
}


async def _fast_answer(request: Request, schema: type[BaseModel], work: _Work) -> Response:
    scope = await resolve_scope(request, request.headers.get("x-api-key"))
    try:
        body = schema.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None
    clock = request.app.dependency_overrides.get(now, now)  # tests freeze the clock this way
    at = clock()
    if inspect.isawaitable(at):
        at = await at
    service = await get_service(request)
    return _json(await SessionRunner(request).run(work, service, scope, body, at))  # type: ignore[arg-type]


async def _handled(request: Request, exc: Exception) -> Response:
    # The app's own handlers (api/errors.py), looked up by the exception's class as Starlette does.
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return await handlers[cls](request, exc)
    raise exc


class CheckFastPath:
    """ASGI middleware answering ``POST /v1/entitlements/check[/batch]`` without Starlette's route scan
    and FastAPI's dependency solving — most of a check's CPU time — with the same API-key check, clock,
    service, body schema and error handlers as the routes above (which stay the documented fallback).
    Everything else passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        target = _FAST.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if target is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await _fast_answer(request, *target)
        except Exception as exc:  # every error, mapped by the app handlers as for any route
            response = await _handled(request, exc)
        await response(scope, receive, send)
