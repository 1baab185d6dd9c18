"""``/v1/subscriptions``: create from a plan, read, cancel, pause, resume."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Path, Query, status
from sqlalchemy import ColumnElement, or_

from api.crud import PageDep, filters
from api.deps import CatalogDep, NowDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Currency, Id, ListResponse, Pagination, Text, When
from api.schemas.subscriptions import (
    CancelRequest,
    CancelResponse,
    LineItemPublic,
    PausePublic,
    PauseRequest,
    PauseResponse,
    ResumeRequest,
    SubscriptionCreate,
    SubscriptionEntitlements,
    SubscriptionPublic,
)
from api.search import NotYet, SearchField, SearchRequest, SearchSpec, Shortcut, add_search_route
from api.services import subscriptions as service
from flexprice_pipelines.billing.errors import InvalidPeriod
from flexprice_pipelines.catalog import CatalogSession
from flexprice_pipelines.catalog.models import (
    Subscription,
    SubscriptionLineItem,
    SubscriptionPause,
    WalletTransaction,
)

router = domain_router("/v1/subscriptions", "subscriptions")
IdPath = Annotated[Id, Path(description="Subscription id (subs_…).")]
Status = Literal["active", "trialing", "paused", "cancelled", "incomplete"]


def _public(catalog: CatalogSession, rows: list[Subscription]) -> list[SubscriptionPublic]:
    items = service.line_items(catalog, [row.id for row in rows])
    return [
        SubscriptionPublic.model_validate(row).model_copy(
            update={"line_items": [LineItemPublic.model_validate(item) for item in items[row.id]]}
        )
        for row in rows
    ]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionPublic)
def create_subscription(
    body: SubscriptionCreate, catalog: WriteCatalogDep, now: NowDep
) -> SubscriptionPublic:
    """Subscribe a customer to a plan.

    The plan's prices in the subscription's currency and billing period (plus ONETIME ones) become
    line items; ``override_line_items`` change a price's amount (a subscription-scoped copy of the
    price) or a fixed line's quantity. ``current_period_start/end`` follow §5: anniversary or
    calendar anchor, trial first, in ``customer_timezone``.
    """
    try:
        subscription = service.create_subscription(catalog, body, now)
    except InvalidPeriod as exc:
        raise service.as_billing_error(exc) from None
    catalog.commit()
    return _public(catalog, [subscription])[0]


@router.get("", response_model=ListResponse[SubscriptionPublic])
def list_subscriptions(
    catalog: CatalogDep,
    page: PageDep,
    customer_id: Annotated[Id | None, Query()] = None,
    plan_id: Annotated[Id | None, Query()] = None,
    subscription_status: Annotated[Status | None, Query()] = None,
    currency: Annotated[Currency | None, Query()] = None,
) -> ListResponse[SubscriptionPublic]:
    """Subscriptions with their line items, oldest first."""
    chosen = filters(
        customer_id=customer_id, plan_id=plan_id, subscription_status=subscription_status, currency=currency
    )
    rows = catalog.repo(Subscription).list(limit=page.limit, offset=page.offset, **chosen)
    return ListResponse[SubscriptionPublic](
        items=_public(catalog, rows.items),
        pagination=Pagination(total=rows.total, limit=rows.limit, offset=rows.offset),
    )


SEARCH = SearchSpec(
    "subscriptions",
    Subscription,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "customer_id": SearchField("string"),
        "plan_id": SearchField("string"),
        "currency": SearchField("string"),
        "subscription_status": SearchField("string"),
        "billing_cadence": SearchField("string"),
        "billing_period": SearchField("string"),
        "billing_period_count": SearchField("number"),
        "start_date": SearchField("date"),
        "end_date": SearchField("date"),
        "current_period_start": SearchField("date"),
        "current_period_end": SearchField("date"),
        "trial_end": SearchField("date"),
        "cancelled_at": SearchField("date"),
    },
    shortcuts={
        "subscription_ids": Shortcut("id", "in"),
        "customer_id": Shortcut("customer_id"),
        "customer_ids": Shortcut("customer_id", "in"),
        "plan_id": Shortcut("plan_id"),
        "subscription_status": Shortcut("subscription_status", "in"),
        "billing_cadence": Shortcut("billing_cadence", "in"),
        "billing_period": Shortcut("billing_period", "in"),
        "active_at": Shortcut("start_date", "active_at", kind="date", until="end_date"),
        "trial_end_due_lte": Shortcut("trial_end", "lte", kind="date"),
    },
    customer_column="customer_id",
    expandable=frozenset({"line_items"}),
    # Line items are always included; the flags are taken for Flexprice compatibility (they only eager-load).
    flags={"with_line_items": None, "with_coupon_associations": None},
    time_range=("current_period_start", "current_period_end"),
    not_yet={
        "effective_date_for_update": NotYet(When),
        "invoicing_customer_ids": NotYet(list[Text], ([],), why="The subscription's customer is invoiced."),
        "parent_subscription_ids": NotYet(list[Text], ([],), why="Subscriptions have no parent here."),
        "subscription_type": NotYet(list[Text], ([],), why="Every subscription is a standalone one."),
    },
)


def _search_items(
    catalog: CatalogSession, rows: list[Any], body: Any, now: datetime
) -> list[SubscriptionPublic]:
    return _public(catalog, rows)


add_search_route(router, SEARCH, SubscriptionPublic, _search_items)

LINE_ITEM_SEARCH = SearchSpec(
    "subscription_line_items",
    SubscriptionLineItem,
    {
        "id": SearchField("string"),
        "status": SearchField("string"),
        "created_at": SearchField("date"),
        "updated_at": SearchField("date"),
        "subscription_id": SearchField("string"),
        "customer_id": SearchField("string"),
        "plan_id": SearchField("string"),
        "price_id": SearchField("string"),
        "price_type": SearchField("string"),
        "meter_id": SearchField("string"),
        "display_name": SearchField("string"),
        "currency": SearchField("string"),
        "billing_period": SearchField("string"),
        "invoice_cadence": SearchField("string"),
        "start_date": SearchField("date"),
        "end_date": SearchField("date"),
    },
    shortcuts={
        "subscription_line_item_ids": Shortcut("id", "in"),
        "subscription_ids": Shortcut("subscription_id", "in"),
        "customer_ids": Shortcut("customer_id", "in"),
        "entity_ids": Shortcut("plan_id", "in"),
        "price_ids": Shortcut("price_id", "in"),
        "meter_ids": Shortcut("meter_id", "in"),
        "currencies": Shortcut("currency", "in"),
        "billing_periods": Shortcut("billing_period", "in"),
    },
    customer_column="customer_id",
    flags={"active_filter": True},
    not_yet={
        "entity_type": NotYet(Text, ("plan",), why="Every line item comes from the plan (no add-ons yet)."),
        "addon_association_ids": NotYet(list[Text], ([],), "issue 16", "No add-ons yet."),
        "current_period_start": NotYet(When),
    },
)


def _active(body: SearchRequest, now: datetime) -> list[ColumnElement[bool]]:
    """``active_filter`` (Flexprice's default: true): line items not ended by now."""
    if getattr(body, "active_filter", True) is False:
        return []
    return [or_(SubscriptionLineItem.end_date.is_(None), SubscriptionLineItem.end_date > now)]


add_search_route(router, LINE_ITEM_SEARCH, LineItemPublic, path="/lineitems/search", extra=_active)


@router.get("/{id}", response_model=SubscriptionPublic)
def get_subscription(id: IdPath, catalog: CatalogDep) -> SubscriptionPublic:
    """One subscription with its line items."""
    return _public(catalog, [catalog.repo(Subscription).get(id)])[0]


@router.get("/{id}/entitlements", response_model=SubscriptionEntitlements)
def get_subscription_entitlements(
    id: IdPath,
    catalog: CatalogDep,
    feature_ids: Annotated[list[Id] | None, Query(description="Only these features.")] = None,
) -> SubscriptionEntitlements:
    """The features this subscription grants: its plan's entitlements with the subscription's own
    overrides applied, aggregated per feature with their sources (Flexprice's
    ``SubscriptionEntitlementsResponse``); 404 for a subscription outside the caller's scope."""
    subscription = catalog.repo(Subscription).get(id)
    return service.subscription_entitlements(catalog, subscription, feature_ids)


@router.post("/{id}/cancel", response_model=CancelResponse)
def cancel_subscription(
    id: IdPath, body: CancelRequest, catalog: WriteCatalogDep, now: NowDep
) -> CancelResponse:
    """Cancel ``immediate`` | ``end_of_period`` | ``scheduled_date`` (with ``cancel_at``).

    An immediate cancellation credits the unused share of ADVANCE-billed fixed charges to the
    customer's active prepaid wallet in the subscription's currency (``total_credit_amount``, in the
    subscription's currency). Cancelling twice is a 409. Answers Flexprice's cancel response, with the
    subscription itself under ``subscription``.
    """
    subscription = service.cancel_subscription(catalog, id, body, now)
    catalog.commit()
    credit = catalog.repo(WalletTransaction).find_one(
        idempotency_key=f"cancel-credit:{subscription.id}", type="credit"
    )
    effective = subscription.end_date if body.cancellation_type == "immediate" else subscription.cancel_at
    return CancelResponse(
        subscription_id=subscription.id,
        cancellation_type=body.cancellation_type,
        effective_date=effective or now,
        status=subscription.subscription_status,
        reason=body.reason,
        processed_at=now,
        total_credit_amount=credit.amount if credit is not None else Decimal(0),
        message="subscription cancelled successfully",
        subscription=_public(catalog, [subscription])[0],
    )


def _paused(catalog: CatalogSession, subscription: Subscription, pause_id: str | None) -> PauseResponse:
    pause = catalog.repo(SubscriptionPause).get(pause_id or "")
    return PauseResponse(
        subscription=_public(catalog, [subscription])[0], pause=PausePublic.model_validate(pause)
    )


@router.post("/{id}/pause", response_model=PauseResponse)
def pause_subscription(
    id: IdPath, body: PauseRequest, catalog: WriteCatalogDep, now: NowDep
) -> PauseResponse:
    """Pause now or from ``pause_start``; a paused subscription is not billed. Pausing twice is a 409.
    Answers ``{subscription, pause}`` (Flexprice's pause response)."""
    subscription = service.pause_subscription(catalog, id, body, now)
    catalog.commit()
    return _paused(catalog, subscription, subscription.active_pause_id)


@router.post("/{id}/resume", response_model=PauseResponse)
def resume_subscription(
    id: IdPath, body: ResumeRequest, catalog: WriteCatalogDep, now: NowDep
) -> PauseResponse:
    """Resume a paused subscription: ``current_period_end`` moves by the time spent paused.
    Answers ``{subscription, pause}`` with the pause it ended."""
    del body  # only immediate resumes exist; the body is validated for Flexprice compatibility
    pause_id = catalog.repo(Subscription).get(id).active_pause_id
    subscription = service.resume_subscription(catalog, id, now)
    catalog.commit()
    return _paused(catalog, subscription, pause_id)
