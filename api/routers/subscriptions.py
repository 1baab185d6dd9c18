"""``/v1/subscriptions``: create from a plan, read, cancel, pause, resume."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, status

from api.crud import PageDep, filters
from api.deps import CatalogDep, NowDep, WriteCatalogDep
from api.routing import domain_router
from api.schemas.common import Currency, Id, ListResponse, Pagination
from api.schemas.subscriptions import (
    CancelRequest,
    LineItemPublic,
    PauseRequest,
    ResumeRequest,
    SubscriptionCreate,
    SubscriptionPublic,
)
from api.services import subscriptions as service
from flexprice_pipelines.billing.errors import InvalidPeriod
from flexprice_pipelines.catalog import CatalogSession
from flexprice_pipelines.catalog.models import Subscription

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


@router.get("/{id}", response_model=SubscriptionPublic)
def get_subscription(id: IdPath, catalog: CatalogDep) -> SubscriptionPublic:
    """One subscription with its line items."""
    return _public(catalog, [catalog.repo(Subscription).get(id)])[0]


@router.post("/{id}/cancel", response_model=SubscriptionPublic)
def cancel_subscription(
    id: IdPath, body: CancelRequest, catalog: WriteCatalogDep, now: NowDep
) -> SubscriptionPublic:
    """Cancel ``immediate`` | ``end_of_period`` | ``scheduled_date`` (with ``cancel_at``).

    An immediate cancellation credits the unused share of ADVANCE-billed fixed charges to the
    customer's active prepaid wallet in the subscription's currency. Cancelling twice is a 409.
    """
    subscription = service.cancel_subscription(catalog, id, body, now)
    catalog.commit()
    return _public(catalog, [subscription])[0]


@router.post("/{id}/pause", response_model=SubscriptionPublic)
def pause_subscription(
    id: IdPath, body: PauseRequest, catalog: WriteCatalogDep, now: NowDep
) -> SubscriptionPublic:
    """Pause now or from ``pause_start``; a paused subscription is not billed. Pausing twice is a 409."""
    subscription = service.pause_subscription(catalog, id, body, now)
    catalog.commit()
    return _public(catalog, [subscription])[0]


@router.post("/{id}/resume", response_model=SubscriptionPublic)
def resume_subscription(
    id: IdPath, body: ResumeRequest, catalog: WriteCatalogDep, now: NowDep
) -> SubscriptionPublic:
    """Resume a paused subscription: ``current_period_end`` moves by the time spent paused."""
    del body  # only immediate resumes exist; the body is validated for Flexprice compatibility
    subscription = service.resume_subscription(catalog, id, now)
    catalog.commit()
    return _public(catalog, [subscription])[0]
