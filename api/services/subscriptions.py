"""Subscriptions: creation from a plan, cancellation, pause and resume (BILLING_SEMANTICS §5).

The rules are pure functions of plain values (``first_period``, ``matching_prices``,
``cancellation_time``, ``unused_advance_credit``, ``resumed_period_end``); the functions at the
bottom apply them to the catalog inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from api.schemas.subscriptions import CancelRequest, PauseRequest, SubscriptionCreate
from api.services.validation import repath
from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.errors import BillingError, InvalidPeriod, InvalidPrice
from flexprice_pipelines.billing.money import round_amount
from flexprice_pipelines.billing.periods import (
    BillingWindow,
    calendar_anchor,
    proration_coefficient,
    subscription_windows,
)
from flexprice_pipelines.billing.periods import (
    trial_end as add_trial_days,
)
from flexprice_pipelines.billing.pricing import Price as BillingPrice
from flexprice_pipelines.catalog import CatalogSession, Conflict, NotFound
from flexprice_pipelines.catalog.ledger import credit_wallet
from flexprice_pipelines.catalog.models import (
    Coupon,
    CouponAssociation,
    Customer,
    Plan,
    Price,
    Subscription,
    SubscriptionLineItem,
    SubscriptionPause,
    Wallet,
)
from flexprice_pipelines.integrations.webhooks import (
    SUBSCRIPTION_CANCELLED,
    emit_system_event,
    subscription_payload,
)

CancellationType = Literal["immediate", "end_of_period", "scheduled_date"]
_TINY = timedelta(microseconds=1)


# -- pure rules -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FirstPeriod:
    """Where a new subscription's schedule starts."""

    billing_anchor: datetime
    window: BillingWindow
    trial_end: datetime | None


def first_period(
    start: datetime,
    period: BillingPeriod,
    count: int,
    tz: str,
    cycle: BillingCycle,
    trial_end: datetime | None = None,
) -> FirstPeriod:
    """The first window ``[start, end)`` and the anchor later periods follow.

    With a trial the first window is the trial and the anchor resets to its end (§5); calendar
    billing anchors at the next calendar boundary (a short first period).
    """
    if trial_end is not None and trial_end <= start:
        trial_end = None
    window = subscription_windows(start, start + _TINY, period, count, tz, cycle, trial_end=trial_end)[0]
    reset = trial_end or start
    anchor = reset if cycle is BillingCycle.ANNIVERSARY else calendar_anchor(reset, period, tz)
    return FirstPeriod(billing_anchor=anchor, window=window, trial_end=trial_end)


def matching_prices(prices: Iterable[Price], currency: str, period: BillingPeriod, count: int) -> list[Price]:
    """The plan prices a subscription copies: its currency, and its billing period or ONETIME."""
    return [
        price
        for price in prices
        if price.currency.lower() == currency.lower()
        and (
            (price.billing_period == period.value and price.billing_period_count == count)
            or price.billing_period == BillingPeriod.ONETIME.value
        )
    ]


def trial_days(prices: Iterable[Price]) -> int:
    """The longest trial among the copied prices (0 = no trial)."""
    return max((price.trial_period_days for price in prices), default=0)


def cancellation_time(
    kind: CancellationType, now: datetime, current_period_end: datetime, cancel_at: datetime | None
) -> datetime:
    """When a cancellation takes effect; a scheduled date must be given and lie in the future."""
    if kind == "immediate":
        return now
    if kind == "end_of_period":
        return current_period_end
    if cancel_at is None:
        raise InvalidPeriod("is required when cancellation_type is scheduled_date", field="body.cancel_at")
    if cancel_at <= now:
        raise InvalidPeriod("must be in the future", field="body.cancel_at")
    return cancel_at


@dataclass(frozen=True, slots=True)
class AdvanceCharge:
    """One ADVANCE-billed fixed line: its unit amount and quantity for the current period."""

    amount: Decimal
    quantity: Decimal


def unused_advance_credit(
    charges: Sequence[AdvanceCharge],
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    currency: str,
) -> Decimal:
    """What an immediate cancellation at ``at`` gives back for ADVANCE fixed charges (§5).

    Each line's credit is ``amount × quantity × (period_end − at) / (period_end − period_start)``,
    rounded to the currency on its own, as proration lines are.
    """
    coefficient = proration_coefficient(period_start, period_end, at)
    return sum(
        (round_amount(charge.amount * charge.quantity * coefficient, currency) for charge in charges),
        Decimal(0),
    )


def resumed_period_end(current_period_end: datetime, pause_start: datetime, resumed_at: datetime) -> datetime:
    """A pause shifts the current period's end by its duration (§5); a pause not yet begun shifts nothing."""
    return current_period_end + max(resumed_at - pause_start, timedelta(0))


# -- catalog operations ---------------------------------------------------------------------------


def find_customer(catalog: CatalogSession, customer_id: str | None, external_id: str | None) -> Customer:
    """The customer by id (preferred) or by external id; ``NotFound`` names the body field."""
    customers = catalog.repo(Customer)
    if customer_id is not None:
        try:
            return customers.get(customer_id)
        except NotFound as exc:
            raise NotFound("customer", customer_id, field="body.customer_id") from exc
    if external_id is not None:
        found = customers.find_one(external_id=external_id)
        if found is None:
            raise NotFound("customer", external_id, field="body.external_customer_id")
        return found
    raise InvalidPeriod("customer_id or external_customer_id is required", field="body.customer_id")


def _override_price(
    catalog: CatalogSession, base: Price, amount: Decimal, subscription_id: str, at: str
) -> Price:
    """A subscription-scoped copy of ``base`` with another amount (as Flexprice overrides do)."""
    columns = {
        column: getattr(base, column)
        for column in (
            "display_amount", "currency", "type", "billing_model", "tier_mode", "tiers", "transform_quantity",
            "billing_period", "billing_period_count", "invoice_cadence", "billing_cadence", "meter_id",
            "description", "trial_period_days",
        )
    }  # fmt: skip
    try:
        BillingPrice.model_validate({**columns, "amount": amount})
    except InvalidPrice as exc:
        raise repath(exc, at) from None
    return catalog.repo(Price).create(
        **columns,
        amount=amount,
        entity_type="SUBSCRIPTION",
        entity_id=subscription_id,
        metadata={"parent_price_id": base.id},
    )


def create_subscription(catalog: CatalogSession, body: SubscriptionCreate, now: datetime) -> Subscription:
    """Subscribe a customer to a plan: copy the matching prices into line items, apply overrides."""
    customer = find_customer(catalog, body.customer_id, body.external_customer_id)
    try:
        plan = catalog.repo(Plan).get(body.plan_id)
    except NotFound as exc:
        raise NotFound("plan", body.plan_id, field="body.plan_id") from exc
    if body.billing_period is BillingPeriod.ONETIME:
        raise InvalidPeriod("a subscription needs a recurring billing period", field="body.billing_period")
    plan_prices = list(catalog.repo(Price).each(entity_type="PLAN", entity_id=plan.id))
    prices = matching_prices(plan_prices, body.currency, body.billing_period, body.billing_period_count)
    if not prices:
        raise InvalidPrice(
            f"plan has no {body.currency} prices billed {body.billing_period.value} × {body.billing_period_count}",
            field="body.currency",
        )
    start = body.start_date or now
    if body.end_date is not None and body.end_date <= start:
        raise InvalidPeriod("must be after start_date", field="body.end_date")
    trial = body.trial_end
    if trial is None and (days := trial_days(prices)):
        trial = add_trial_days(start, days, body.customer_timezone)
    first = first_period(
        start,
        body.billing_period,
        body.billing_period_count,
        body.customer_timezone,
        body.billing_cycle,
        trial,
    )
    overrides = _overrides(body, {price.id for price in prices})

    subscription = catalog.repo(Subscription).create(
        customer_id=customer.id,
        plan_id=plan.id,
        lookup_key=body.lookup_key,
        currency=body.currency,
        billing_anchor=first.billing_anchor,
        start_date=start,
        end_date=body.end_date,
        current_period_start=first.window.start,
        current_period_end=first.window.end,
        billing_cycle=body.billing_cycle.value,
        billing_cadence=body.billing_cadence,
        billing_period=body.billing_period.value,
        billing_period_count=body.billing_period_count,
        subscription_status="trialing" if first.trial_end else "active",
        trial_start=start if first.trial_end else None,
        trial_end=first.trial_end,
        customer_timezone=body.customer_timezone,
        metadata=body.metadata,
    )
    for price in prices:
        index, quantity, amount = overrides.get(price.id, (None, None, None))
        if quantity is not None and price.type == "USAGE":
            raise InvalidPrice(
                "usage prices are billed on metered quantity",
                field=f"body.override_line_items.{index}.quantity",
            )
        line_price = price
        if amount is not None:
            line_price = _override_price(
                catalog, price, amount, subscription.id, f"body.override_line_items.{index}"
            )
        catalog.repo(SubscriptionLineItem).create(
            subscription_id=subscription.id,
            customer_id=customer.id,
            plan_id=plan.id,
            price_id=line_price.id,
            price_type=price.type,
            meter_id=price.meter_id,
            display_name=price.description or plan.name,
            quantity=Decimal(0)
            if price.type == "USAGE"
            else (quantity if quantity is not None else Decimal(1)),
            currency=subscription.currency,
            billing_period=price.billing_period,
            invoice_cadence=price.invoice_cadence,
            trial_period=price.trial_period_days,
            start_date=start,
            end_date=body.end_date,
        )
    attach_coupons(catalog, subscription, body.coupons, start)
    return subscription


def attach_coupons(
    catalog: CatalogSession, subscription: Subscription, coupon_ids: Sequence[str], at: datetime
) -> None:
    """Redeem each coupon for the subscription (§7: redeem window, max redemptions, currency).

    The coupon row is locked while its redemption count goes up, so concurrent subscriptions can
    never redeem a coupon past ``max_redemptions``.
    """
    coupons = catalog.repo(Coupon)
    for index, coupon_id in enumerate(coupon_ids):
        field = f"body.coupons.{index}"
        if coupon_id in coupon_ids[:index]:
            raise BillingError("is listed twice", field=field)
        try:
            coupon = coupons.get(coupon_id, for_update=True)
        except NotFound as exc:
            raise NotFound("coupon", coupon_id, field=field) from exc
        if coupon.redeem_after is not None and at < coupon.redeem_after:
            raise BillingError(
                f"coupon cannot be redeemed before {coupon.redeem_after.isoformat()}", field=field
            )
        if coupon.redeem_before is not None and at >= coupon.redeem_before:
            raise BillingError(
                f"coupon could only be redeemed before {coupon.redeem_before.isoformat()}", field=field
            )
        if coupon.max_redemptions is not None and coupon.total_redemptions >= coupon.max_redemptions:
            raise BillingError(f"coupon reached its max_redemptions ({coupon.max_redemptions})", field=field)
        if (
            coupon.coupon_type == "fixed"
            and coupon.currency
            and coupon.currency.lower() != subscription.currency.lower()
        ):
            raise BillingError(
                f"a {coupon.currency} coupon cannot discount a {subscription.currency} subscription",
                field=field,
            )
        coupons.update(coupon, total_redemptions=coupon.total_redemptions + 1)
        catalog.repo(CouponAssociation).create(
            coupon_id=coupon.id, subscription_id=subscription.id, start_date=at
        )


def _overrides(
    body: SubscriptionCreate, price_ids: set[str]
) -> dict[str, tuple[int, Decimal | None, Decimal | None]]:
    found: dict[str, tuple[int, Decimal | None, Decimal | None]] = {}
    for index, item in enumerate(body.override_line_items):
        field = f"body.override_line_items.{index}"
        if item.price_id not in price_ids:
            raise InvalidPrice(
                "is not one of the plan prices this subscription copies", field=f"{field}.price_id"
            )
        if item.price_id in found:
            raise InvalidPrice("is overridden twice", field=f"{field}.price_id")
        if item.quantity is None and item.amount is None:
            raise InvalidPrice("give quantity, amount or both", field=field)
        found[item.price_id] = (index, item.quantity, item.amount)
    return found


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
        catalog.session, catalog.scope, SUBSCRIPTION_CANCELLED, subscription_payload(cancelled), now
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
    if body.pause_mode == "scheduled":
        if body.pause_start is None:
            raise InvalidPeriod("is required for a scheduled pause", field="body.pause_start")
        if body.pause_start <= now:
            raise InvalidPeriod("must be in the future", field="body.pause_start")
    start = body.pause_start if body.pause_mode == "scheduled" and body.pause_start else now
    end = body.pause_end
    if end is None and body.pause_days is not None:
        end = start + timedelta(days=body.pause_days)
    if end is not None and end <= start:
        raise InvalidPeriod("must be after the pause start", field="body.pause_end")
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
