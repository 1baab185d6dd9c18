"""Load one environment's billing terms from the catalog into the rating engine's plain values.

Every query goes through a scoped ``Repository``; nothing here filters by tenant by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.invoicing import TaxRate as BillingTaxRate
from flexprice_pipelines.billing.meters import Meter as BillingMeter
from flexprice_pipelines.billing.rating.terms import CouponTerms, LineItemTerms, SubscriptionTerms
from flexprice_pipelines.billing.rating.windows import DEFAULT_MAX_PAST, PartitionPlan
from flexprice_pipelines.catalog.mappers import billing_coupon, billing_meter, billing_price, billing_tax_rate
from flexprice_pipelines.catalog.models import (
    Coupon,
    CouponAssociation,
    Customer,
    Entitlement,
    Feature,
    Meter,
    Price,
    ScopedModel,
    Subscription,
    SubscriptionLineItem,
    SubscriptionPause,
    TaxAssociation,
    TaxRate,
    TenantSettings,
)
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope

M = TypeVar("M", bound=ScopedModel)

# An open-ended pause keeps its window open until the subscription is resumed.
_OPEN_PAUSE_END = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentTerms:
    """What one environment of a tenant bills with."""

    scope: Scope
    invoice_prefix: str
    grace: timedelta
    timezone: str
    subscriptions: tuple[SubscriptionTerms, ...]
    meters: dict[str, BillingMeter]
    # The event timestamp policy's max_past: how far back late events may still arrive (§1).
    max_past: timedelta = DEFAULT_MAX_PAST


def load_environment_terms(session: Session, scope: Scope) -> EnvironmentTerms:
    """Subscriptions (with line items, entitlements, coupons, taxes), meters and settings of one scope."""
    settings = Repository(session, scope, TenantSettings).find_one()
    subs = _rows(session, scope, Subscription)
    subs = [s for s in subs if s.subscription_status != "incomplete"]
    ids = [s.id for s in subs]
    customers = {c.id: c for c in _rows(session, scope, Customer)}
    items = _group(_rows(session, scope, SubscriptionLineItem, subscription_id=ids), "subscription_id")
    prices = {p.id: p for p in _rows(session, scope, Price)}
    pauses = _group(_rows(session, scope, SubscriptionPause, subscription_id=ids), "subscription_id")
    allowances = _allowances(session, scope)
    coupons = _coupons(session, scope, ids)
    taxes = _taxes(session, scope)
    terms = tuple(
        SubscriptionTerms(
            tenant_id=scope.tenant_id,
            environment_id=scope.environment_id,
            subscription_id=s.id,
            customer_id=s.customer_id,
            external_customer_id=customers[s.customer_id].external_id,
            plan_id=s.plan_id,
            currency=s.currency.lower(),
            start=s.start_date,
            billing_period=BillingPeriod(s.billing_period),
            billing_period_count=s.billing_period_count,
            billing_cycle=BillingCycle(s.billing_cycle),
            timezone=s.customer_timezone or "UTC",
            trial_end=s.trial_end,
            pauses=tuple(
                (p.pause_start, p.resumed_at or p.pause_end or _OPEN_PAUSE_END)
                for p in sorted(pauses.get(s.id, []), key=lambda p: p.pause_start)
                if p.pause_status != "cancelled"
            ),
            cancel_at=_cancel_at(s),
            line_items=tuple(
                _line_item(item, prices[item.price_id], allowances, s)
                for item in sorted(items.get(s.id, []), key=lambda i: i.id)
            ),
            coupons=coupons.get(s.id, ()),
            tax_rates=_tax_rates_for(taxes, scope, s),
        )
        for s in sorted(subs, key=lambda s: s.id)
    )
    meters = {m.id: billing_meter(m) for m in _rows(session, scope, Meter)}
    return EnvironmentTerms(
        scope=scope,
        invoice_prefix=settings.invoice_prefix if settings else "INV",
        grace=timedelta(minutes=settings.grace_period_minutes if settings else 120),
        timezone=settings.timezone if settings else "UTC",
        subscriptions=terms,
        meters=meters,
        max_past=timedelta(days=settings.event_max_past_days) if settings else DEFAULT_MAX_PAST,
    )


def _rows(session: Session, scope: Scope, model: type[M], **filters: Any) -> list[M]:
    repo = Repository(session, scope, model)
    statement = repo.select()
    for column, value in filters.items():
        attr = getattr(model, column)
        statement = statement.where(attr.in_(value) if isinstance(value, list) else attr == value)
    return list(session.scalars(statement))


def _group(rows: Iterable[M], key: str) -> dict[str, list[M]]:
    grouped: dict[str, list[M]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _cancel_at(sub: Subscription) -> datetime | None:
    candidates = [d for d in (sub.cancel_at, sub.end_date) if d is not None]
    return min(candidates) if candidates else None


Allowances = dict[tuple[str, str, str], Entitlement]
"""(entity_type, entity_id, meter_id) → enabled entitlement of the metered feature."""


def _allowances(session: Session, scope: Scope, **filters: Any) -> Allowances:
    entitlements = _rows(session, scope, Entitlement, **filters)
    # The whole environment reads every feature once; a filtered read only the features it names.
    named = {"id": sorted({ent.feature_id for ent in entitlements})} if filters else {}
    features = {
        f.id: f for f in _rows(session, scope, Feature, **named) if f.type == "metered" and f.meter_id
    }
    found: Allowances = {}
    for ent in entitlements:
        feature = features.get(ent.feature_id)
        if feature is not None and feature.meter_id is not None and ent.is_enabled:
            found[(ent.entity_type.upper(), ent.entity_id, feature.meter_id)] = ent
    return found


def subscription_allowances(session: Session, scope: Scope, sub: Subscription) -> Allowances:
    """The enabled metered entitlements that can bill ``sub``: its own and its plan's (two entity ids read)."""
    return _allowances(session, scope, entity_id=[sub.id, sub.plan_id])


def included_units(
    allowances: Allowances, sub: Subscription, meter_id: str | None
) -> tuple[Decimal | None, bool]:
    """(included units, unlimited) of the metered feature billed on ``meter_id`` for ``sub`` (§6).

    A subscription-level entitlement overrides the plan's (§7); none bills all usage ``(None, False)``.
    """
    ent = None
    if meter_id is not None:
        ent = allowances.get(("SUBSCRIPTION", sub.id, meter_id)) or allowances.get(
            ("PLAN", sub.plan_id, meter_id)
        )
    if ent is None:
        return None, False
    return (Decimal(ent.usage_limit) if ent.usage_limit is not None else None), ent.usage_limit is None


def _line_item(
    item: SubscriptionLineItem, price: Price, allowances: Allowances, sub: Subscription
) -> LineItemTerms:
    included, unlimited = included_units(allowances, sub, item.meter_id or price.meter_id)
    return LineItemTerms(
        line_item_id=item.id,
        price=billing_price(price),
        display_name=item.display_name or price.description or price.lookup_key or price.id,
        quantity=item.quantity,
        start=item.start_date,
        end=item.end_date,
        included_units=included,
        unlimited=unlimited,
    )


def _coupons(
    session: Session, scope: Scope, subscription_ids: list[str]
) -> dict[str, tuple[CouponTerms, ...]]:
    defs = {c.id: c for c in _rows(session, scope, Coupon)}
    found: dict[str, list[CouponTerms]] = defaultdict(list)
    assocs = _rows(session, scope, CouponAssociation, subscription_id=subscription_ids)
    for assoc in sorted(assocs, key=lambda a: (a.start_date or datetime.min.replace(tzinfo=UTC), a.id)):
        coupon = defs[assoc.coupon_id]
        found[assoc.subscription_id].append(
            CouponTerms(
                coupon=billing_coupon(coupon),
                line_item_id=assoc.subscription_line_item_id,
                start=assoc.start_date,
                end=assoc.end_date,
            )
        )
    return {k: tuple(v) for k, v in found.items()}


def _taxes(session: Session, scope: Scope) -> list[tuple[TaxAssociation, TaxRate]]:
    rates = {r.id: r for r in _rows(session, scope, TaxRate) if r.tax_rate_status == "ACTIVE"}
    assocs = [a for a in _rows(session, scope, TaxAssociation) if a.auto_apply and a.tax_rate_id in rates]
    return [(a, rates[a.tax_rate_id]) for a in sorted(assocs, key=lambda a: (a.priority, a.id))]


def _tax_rates_for(
    taxes: list[tuple[TaxAssociation, TaxRate]], scope: Scope, sub: Subscription
) -> tuple[BillingTaxRate, ...]:
    targets = {("SUBSCRIPTION", sub.id), ("CUSTOMER", sub.customer_id), ("TENANT", scope.tenant_id)}
    chosen: dict[str, BillingTaxRate] = {}
    for assoc, rate in taxes:
        if (assoc.entity_type.upper(), assoc.entity_id) not in targets or rate.id in chosen:
            continue
        if assoc.currency is not None and assoc.currency.lower() != sub.currency.lower():
            continue
        chosen[rate.id] = billing_tax_rate(rate)
    return tuple(chosen.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentPlan:
    """One environment's terms and what its partition bills (the ``billing_windows`` asset value)."""

    terms: EnvironmentTerms
    plan: PartitionPlan

    @property
    def subscriptions(self) -> dict[str, SubscriptionTerms]:
        """Subscriptions by id."""
        return {s.subscription_id: s for s in self.terms.subscriptions}
