"""Subscriptions through the API: creation from a plan, cancellation, pause and resume (docs/billing-semantics.md §5).

The rules are pure functions in ``billing.subscriptions``; creating a subscription is
``catalog.services.subscriptions`` (the demo seeds through it too), fed the request body as a
``NewSubscription``. Cancellation, pause and resume apply the rules to the catalog inside the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from api.schemas.entitlement_checks import (
    AggregatedEntitlement,
    AggregatedFeature,
    EntitlementSourcePublic,
    FeatureSummary,
)
from api.schemas.subscriptions import (
    CancelRequest,
    PauseRequest,
    SubscriptionCreate,
    SubscriptionEntitlements,
)
from flexprice_pipelines.billing.entitlements import (
    EntitlementSource,
    EntityType,
    aggregate_customer_entitlements,
    resolve_subscription_entitlements,
)
from flexprice_pipelines.billing.enums import BillingPeriod
from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.subscriptions import (
    AdvanceCharge,
    LineItemOverride,
    NewSubscription,
    cancellation_time,
    pause_window,
    resumed_period_end,
    unused_advance_credit,
)
from flexprice_pipelines.catalog import CatalogSession, Conflict
from flexprice_pipelines.catalog.mappers import entitlement_source
from flexprice_pipelines.catalog.models import (
    Entitlement,
    Feature,
    Plan,
    Price,
    Subscription,
    SubscriptionLineItem,
    SubscriptionPause,
    Wallet,
)
from flexprice_pipelines.catalog.services import subscriptions as catalog_service
from flexprice_pipelines.ledger.events import (
    SUBSCRIPTION_CANCELLED,
    emit_system_event,
    load_subscription_payload,
)
from flexprice_pipelines.ledger.operations import credit_wallet


def new_subscription(body: SubscriptionCreate) -> NewSubscription:
    """The request body as the domain value the catalog service takes."""
    return NewSubscription(
        customer_id=body.customer_id,
        external_customer_id=body.external_customer_id,
        plan_id=body.plan_id,
        currency=body.currency,
        billing_period=body.billing_period,
        billing_period_count=body.billing_period_count,
        billing_cadence=body.billing_cadence,
        billing_cycle=body.billing_cycle,
        start_date=body.start_date,
        end_date=body.end_date,
        trial_end=body.trial_end,
        customer_timezone=body.customer_timezone,
        lookup_key=body.lookup_key,
        metadata=body.metadata,
        override_line_items=tuple(
            LineItemOverride(item.price_id, item.quantity, item.amount) for item in body.override_line_items
        ),
        coupons=tuple(body.coupons),
    )


def create_subscription(catalog: CatalogSession, body: SubscriptionCreate, now: datetime) -> Subscription:
    """Subscribe a customer to a plan: copy the matching prices into line items, apply overrides."""
    return catalog_service.create_subscription(catalog, new_subscription(body), now)


def line_items(
    catalog: CatalogSession, subscription_ids: Sequence[str]
) -> dict[str, list[SubscriptionLineItem]]:
    """All live line items of the given subscriptions, per subscription (one query)."""
    grouped: dict[str, list[SubscriptionLineItem]] = {sid: [] for sid in subscription_ids}
    if subscription_ids:
        for item in catalog.repo(SubscriptionLineItem).each(subscription_id=list(subscription_ids)):
            grouped[item.subscription_id].append(item)
    return grouped


def _require_live(subscription: Subscription) -> None:
    if subscription.subscription_status == "cancelled":
        raise Conflict("subscription_status", "subscription is already cancelled")


def cancel_subscription(
    catalog: CatalogSession, subscription_id: str, body: CancelRequest, now: datetime
) -> Subscription:
    """Cancel now, at the period end or on a future date; an immediate cancel credits unused ADVANCE time."""
    subscriptions = catalog.repo(Subscription)
    subscription = subscriptions.get(subscription_id)
    _require_live(subscription)
    effective = cancellation_time(
        body.cancellation_type, now, subscription.current_period_end, body.cancel_at
    )
    changes: dict[str, Any] = {"cancel_at": effective, "cancelled_at": now}
    metadata = dict(subscription.metadata_ or {})
    if body.reason:
        metadata["cancel_reason"] = body.reason
    if body.cancellation_type == "immediate":
        changes.update(subscription_status="cancelled", end_date=now, cancel_at_period_end=False)
        _credit_unused_advance(catalog, subscription, now)
    else:
        changes["cancel_at_period_end"] = body.cancellation_type == "end_of_period"
        if subscription.end_date is None or subscription.end_date > effective:
            changes["end_date"] = effective
    cancelled = subscriptions.update(subscription, **changes, metadata=metadata)
    # Scheduled cancellations are announced now too, as Flexprice does; cancel_at says when.
    emit_system_event(
        catalog.session,
        catalog.scope,
        SUBSCRIPTION_CANCELLED,
        load_subscription_payload(catalog.session, cancelled),
        now,
    )
    return cancelled


def _credit_unused_advance(catalog: CatalogSession, subscription: Subscription, now: datetime) -> None:
    in_trial = subscription.trial_end is not None and now < subscription.trial_end
    if in_trial or subscription.subscription_status == "paused":
        return
    items = line_items(catalog, [subscription.id])[subscription.id]
    # A subquery, not an id list: a subscription's lines can outnumber the bind parameters a query takes.
    line_prices = (
        catalog.repo(SubscriptionLineItem)
        .select()
        .where(SubscriptionLineItem.subscription_id == subscription.id)
        .with_only_columns(SubscriptionLineItem.price_id)
    )
    prices = {p.id: p for p in catalog.repo(Price).each(Price.id.in_(line_prices))}
    charges = [
        AdvanceCharge(prices[item.price_id].amount, item.quantity)
        for item in items
        if item.price_id in prices
        and prices[item.price_id].type == "FIXED"
        and prices[item.price_id].invoice_cadence == "ADVANCE"
        and prices[item.price_id].billing_period != BillingPeriod.ONETIME.value
    ]
    credit = unused_advance_credit(
        charges,
        subscription.current_period_start,
        subscription.current_period_end,
        now,
        subscription.currency,
    )
    wallet = catalog.repo(Wallet).find_one(
        customer_id=subscription.customer_id,
        currency=subscription.currency,
        wallet_type="PRE_PAID",
        wallet_status="active",
    )
    if credit <= 0 or wallet is None:
        return
    credits = credit / wallet.conversion_rate
    credit_wallet(
        catalog.session,
        catalog.scope,
        wallet.id,
        credits,
        transaction_reason="CREDIT_NOTE",
        idempotency_key=f"cancel-credit:{subscription.id}",
        reference_type="SUBSCRIPTION",
        reference_id=subscription.id,
        description="Credit for unused time - immediate cancellation",
        now=now,
    )


def pause_subscription(
    catalog: CatalogSession, subscription_id: str, body: PauseRequest, now: datetime
) -> Subscription:
    """Pause now or from a future date, for ``pause_days`` or until ``pause_end`` (or until resumed)."""
    subscriptions = catalog.repo(Subscription)
    subscription = subscriptions.get(subscription_id)
    _require_live(subscription)
    if subscription.pause_status != "none":
        raise Conflict("pause_status", "subscription is already paused or has a scheduled pause")
    start, end = pause_window(body.pause_mode, now, body.pause_start, body.pause_end, body.pause_days)
    active = body.pause_mode == "immediate"
    pause = catalog.repo(SubscriptionPause).create(
        subscription_id=subscription.id,
        pause_status="active" if active else "scheduled",
        pause_mode=body.pause_mode,
        pause_start=start,
        pause_end=end,
        original_period_start=subscription.current_period_start,
        original_period_end=subscription.current_period_end,
        reason=body.reason,
    )
    changes: dict[str, Any] = {"pause_status": pause.pause_status, "active_pause_id": pause.id}
    if active:
        changes["subscription_status"] = "paused"
    return subscriptions.update(subscription, **changes)


def resume_subscription(catalog: CatalogSession, subscription_id: str, now: datetime) -> Subscription:
    """End the pause: the current period end moves by the time spent paused."""
    subscriptions = catalog.repo(Subscription)
    subscription = subscriptions.get(subscription_id)
    if subscription.pause_status == "none" or subscription.active_pause_id is None:
        raise Conflict("pause_status", "subscription is not paused")
    pauses = catalog.repo(SubscriptionPause)
    pause = pauses.get(subscription.active_pause_id)
    pauses.update(
        pause,
        pause_status="completed" if pause.pause_start <= now else "cancelled",
        resumed_at=now,
        resume_mode="immediate",
    )
    period_end = resumed_period_end(subscription.current_period_end, pause.pause_start, now)
    in_trial = subscription.trial_end is not None and now < subscription.trial_end
    return subscriptions.update(
        subscription,
        pause_status="none",
        active_pause_id=None,
        subscription_status="trialing" if in_trial else "active",
        current_period_end=period_end,
    )


def as_billing_error(exc: BillingError) -> BillingError:
    """Period errors from the billing core about the body (time zone, dates) re-pathed under ``body``."""
    field = {"tz": "customer_timezone", "start": "start_date", "trial_end": "trial_end"}.get(
        exc.field or "", exc.field
    )
    if field and field.startswith("body"):
        return exc
    return type(exc)(exc.message, field=f"body.{field}" if field else "body")


def subscription_entitlements(
    catalog: CatalogSession, subscription: Subscription, feature_ids: Sequence[str] | None
) -> SubscriptionEntitlements:
    """The plan's PLAN / ADDON entitlements with the subscription's SUBSCRIPTION overrides applied
    (``resolve_subscription_entitlements``), aggregated per feature (``aggregate_entitlements``),
    sorted by feature id; ``feature_ids`` keeps only those features. Deleted features are left out."""
    rows = list(
        catalog.repo(Entitlement).each(
            Entitlement.entity_id.in_([subscription.plan_id, subscription.id]),
            *([Entitlement.feature_id.in_(list(feature_ids))] if feature_ids else []),
        )
    )

    def source(row: Entitlement) -> EntitlementSource:
        return entitlement_source(row, subscription_id=subscription.id, plan_id=subscription.plan_id)

    plan_rows = [
        source(r) for r in rows if r.entity_type in ("PLAN", "ADDON") and r.entity_id == subscription.plan_id
    ]
    overrides = [
        source(r) for r in rows if r.entity_type == "SUBSCRIPTION" and r.entity_id == subscription.id
    ]
    sources = resolve_subscription_entitlements(plan_rows, overrides)
    aggregated = aggregate_customer_entitlements(sources)
    features = {f.id: f for f in catalog.repo(Feature).each(id=sorted(aggregated))} if aggregated else {}
    plan = catalog.repo(Plan).find_one(id=subscription.plan_id)
    result = []
    for feature_id, entitlement in aggregated.items():
        feature = features.get(feature_id)
        if feature is None:
            continue
        result.append(
            AggregatedFeature(
                feature=FeatureSummary.model_validate(feature, from_attributes=True),
                entitlement=AggregatedEntitlement(
                    is_enabled=entitlement.is_enabled,
                    usage_limit=int(entitlement.usage_limit) if entitlement.usage_limit is not None else None,
                    is_soft_limit=entitlement.is_soft_limit,
                    usage_reset_period=entitlement.usage_reset_period,
                    static_values=list(entitlement.static_values),
                ),
                sources=[
                    EntitlementSourcePublic(
                        subscription_id=subscription.id,
                        entity_id=subscription.id
                        if s.entity_type is EntityType.SUBSCRIPTION
                        else subscription.plan_id,
                        entity_type=s.entity_type.value.lower(),
                        entity_name=plan.name if plan is not None else None,
                        entitlement_id=s.entitlement_id,
                        is_enabled=s.is_enabled,
                        usage_limit=int(s.usage_limit) if s.usage_limit is not None else None,
                        static_value=s.static_value,
                        usage_reset_period=s.usage_reset_period,
                    )
                    for s in sources
                    if s.feature_id == feature_id
                ],
            )
        )
    return SubscriptionEntitlements(
        subscription_id=subscription.id, plan_id=subscription.plan_id, features=result
    )
