"""Customer entitlements and usage, and real-time entitlement checks, answered from the usage read model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlalchemy.orm import Session

from api.deps import NowDep, ScopeDep, SessionDep, SessionRunner
from api.routing import LeanRoute, domain_router
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
checks = APIRouter(prefix="/v1", tags=["entitlement checks"], route_class=LeanRoute)
CustomerIdPath = Annotated[Id, Path(description="Customer id (cust_…).")]
ExternalIdPath = Annotated[Text, Path(description="The customer's external_id.")]


async def get_service(request: Request) -> EntitlementService:
    """The app's service (built by the lifespan, ``api/clients.py``; tests may install their own)."""
    service: EntitlementService = request.app.state.entitlement_service
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


# The hot path: ``LeanRoute``s (no dependency solving; the body validated straight from its bytes) whose
# catalog reads run in one call holding a connection only while they read (``SessionRunner``), answered
# without FastAPI's response re-validation. The app mounts them before every other route (``api/app.py``).
@checks.post("/entitlements/check", response_model=EntitlementCheckResult)
async def check_entitlement(
    scope: ScopeDep, body: EntitlementCheckRequest, now: NowDep, request: Request
) -> Response:
    """May the customer use the feature now? Unknown customer or feature → 404 naming which."""
    service = request.app.state.entitlement_service
    return _json(await SessionRunner(request).run(_check_one, service, scope, body, now))


@checks.post("/entitlements/check/batch", response_model=BatchEntitlementCheckResponse)
async def check_entitlements(
    scope: ScopeDep, body: BatchEntitlementCheckRequest, now: NowDep, request: Request
) -> Response:
    """The check for up to 100 features at once, in request order."""
    service = request.app.state.entitlement_service
    return _json(await SessionRunner(request).run(_check_many, service, scope, body, now))
