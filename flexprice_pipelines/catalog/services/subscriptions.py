"""Subscribing a customer to a plan: copy the matching prices into line items, apply overrides and coupons."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from flexprice_pipelines.billing.enums import BillingPeriod
from flexprice_pipelines.billing.errors import BillingError, InvalidPeriod, InvalidPrice
from flexprice_pipelines.billing.periods import trial_end as add_trial_days
from flexprice_pipelines.billing.pricing import repath
from flexprice_pipelines.billing.subscriptions import (
    NewSubscription,
    first_period,
    matching_prices,
    override_map,
    trial_days,
)
from flexprice_pipelines.catalog.errors import NotFound
from flexprice_pipelines.catalog.mappers import billing_price
from flexprice_pipelines.catalog.models import (
    Coupon,
    CouponAssociation,
    Customer,
    Plan,
    Price,
    Subscription,
    SubscriptionLineItem,
)
from flexprice_pipelines.catalog.repository import CatalogSession


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
        billing_price(base, amount=amount)
    except InvalidPrice as exc:
        raise repath(exc, at) from None
    return catalog.repo(Price).create(
        **columns,
        amount=amount,
        entity_type="SUBSCRIPTION",
        entity_id=subscription_id,
        metadata={"parent_price_id": base.id},
    )


def create_subscription(catalog: CatalogSession, body: NewSubscription, now: datetime) -> Subscription:
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
    overrides = override_map(body.override_line_items, {price.id for price in prices})

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
        metadata=dict(body.metadata),
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
            display_name=price.display_name or price.description or plan.name,
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
