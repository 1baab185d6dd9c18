"""What the read model needs to know about a customer from the catalog, loaded in a few scoped queries.

``CustomerView`` holds the customer's subscriptions, the effective entitlement rows of its active
subscriptions (``billing.entitlements.resolve_subscription_entitlements``), their features and
meters, and the meters its subscriptions bill. ``ViewCache`` keeps views (and each tenant's meters)
for a short TTL: configuration changes show up within the TTL, usage is never cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from flexprice_pipelines.billing.entitlements import (
    EntitlementSource,
    resolve_subscription_entitlements,
)
from flexprice_pipelines.billing.meters import Meter as MeterDefinition
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.mappers import billing_meter, entitlement_source
from flexprice_pipelines.catalog.models import (
    Entitlement,
    Feature,
    Meter,
    Plan,
    Subscription,
    SubscriptionLineItem,
)
from flexprice_pipelines.usage.windows import BILLING_PERIOD, WindowSpec

# Subscriptions whose entitlements a customer holds right now (Flexprice: active and trialing).
ENTITLED_STATUSES = frozenset({"active", "trialing"})


@dataclass(frozen=True, slots=True)
class FeatureInfo:
    id: str
    name: str
    lookup_key: str | None
    type: str
    meter_id: str | None
    unit_singular: str | None
    unit_plural: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    id: str
    plan_id: str
    plan_name: str | None
    subscription_status: str
    start_date: datetime
    end_date: datetime | None
    billing_anchor: datetime
    billing_period: str
    billing_period_count: int
    billing_cycle: str
    customer_timezone: str
    trial_end: datetime | None
    current_period_start: datetime
    current_period_end: datetime

    @property
    def entitled(self) -> bool:
        return self.subscription_status in ENTITLED_STATUSES

    def spec(self, reset_period: str | None) -> WindowSpec:
        """The window spec of this subscription for an entitlement's ``usage_reset_period``."""
        return WindowSpec(
            subscription_id=self.id,
            reset_period=reset_period or BILLING_PERIOD,
            start=self.start_date,
            anchor=self.billing_anchor,
            time_zone=self.customer_timezone,
            billing_period=self.billing_period,
            billing_period_count=self.billing_period_count,
            billing_cycle=self.billing_cycle,
            trial_end=self.trial_end,
            end=self.end_date,
        )


@dataclass(frozen=True, slots=True)
class CustomerView:
    customer_id: str
    external_id: str
    subscriptions: dict[str, SubscriptionInfo]
    sources: tuple[EntitlementSource, ...]
    features: dict[str, FeatureInfo]
    meters: dict[str, MeterDefinition]
    billed_meters: dict[str, frozenset[str]] = field(default_factory=dict)

    def specs_by_meter(self) -> dict[str, frozenset[WindowSpec]]:
        """Every window spec the updater maintains, per meter: billing windows of every subscription
        for the meters it bills, and the reset windows of every metered entitlement row."""
        specs: dict[str, set[WindowSpec]] = {}
        for subscription_id, meter_ids in self.billed_meters.items():
            info = self.subscriptions[subscription_id]
            for meter_id in meter_ids:
                specs.setdefault(meter_id, set()).add(info.spec(None))
        for source in self.sources:
            feature = self.features.get(source.feature_id)
            if feature is None or feature.meter_id is None:
                continue
            info = self.subscriptions[source.subscription_id]
            specs.setdefault(feature.meter_id, set()).add(info.spec(source.usage_reset_period))
        return {meter_id: frozenset(found) for meter_id, found in specs.items()}


def load_meters(session: Session, scope: Scope) -> dict[str, MeterDefinition]:
    """The scope's live meters by id."""
    rows = session.scalars(Repository(session, scope, Meter).select()).all()
    return {row.id: billing_meter(row) for row in rows}


def _subscription_info(row: Subscription, plan_names: dict[str, str]) -> SubscriptionInfo:
    return SubscriptionInfo(
        id=row.id,
        plan_id=row.plan_id,
        plan_name=plan_names.get(row.plan_id),
        subscription_status=row.subscription_status,
        start_date=row.start_date,
        end_date=row.end_date,
        billing_anchor=row.billing_anchor,
        billing_period=row.billing_period,
        billing_period_count=row.billing_period_count,
        billing_cycle=row.billing_cycle,
        customer_timezone=row.customer_timezone or "UTC",
        trial_end=row.trial_end if row.trial_end and row.trial_end > row.start_date else None,
        current_period_start=row.current_period_start,
        current_period_end=row.current_period_end,
    )


def _source(row: Entitlement, subscription: SubscriptionInfo) -> EntitlementSource:
    return entitlement_source(row, subscription_id=subscription.id, plan_id=subscription.plan_id)


class _CustomerIds(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def external_id(self) -> str: ...


def load_customer_view(session: Session, scope: Scope, customer: _CustomerIds) -> CustomerView:
    """The view of ``customer`` (already resolved in ``scope``)."""
    subs = Repository(session, scope, Subscription)
    rows = session.scalars(subs.select().where(Subscription.customer_id == customer.id)).all()
    plan_ids = sorted({row.plan_id for row in rows})
    plans = Repository(session, scope, Plan)
    plan_names = (
        {p.id: p.name for p in session.scalars(plans.select().where(Plan.id.in_(plan_ids)))}
        if plan_ids
        else {}
    )
    subscriptions = {row.id: _subscription_info(row, plan_names) for row in rows}
    entitled = [info for info in subscriptions.values() if info.entitled]

    sources: list[EntitlementSource] = []
    if entitled:
        entitlements = Repository(session, scope, Entitlement)
        owners = [info.plan_id for info in entitled] + [info.id for info in entitled]
        ent_rows = session.scalars(
            entitlements.select().where(Entitlement.entity_id.in_(sorted(set(owners))))
        ).all()
        plan_rows: list[EntitlementSource] = []
        override_rows: list[EntitlementSource] = []
        for info in sorted(entitled, key=lambda s: (s.start_date, s.id)):
            for row in ent_rows:
                if row.entity_type in ("PLAN", "ADDON") and row.entity_id == info.plan_id:
                    plan_rows.append(_source(row, info))
                elif row.entity_type == "SUBSCRIPTION" and row.entity_id == info.id:
                    override_rows.append(_source(row, info))
        sources = resolve_subscription_entitlements(plan_rows, override_rows)

    billed: dict[str, frozenset[str]] = {}
    if subscriptions:
        items = Repository(session, scope, SubscriptionLineItem)
        found: dict[str, set[str]] = {}
        item_query = items.select().where(
            SubscriptionLineItem.subscription_id.in_(sorted(subscriptions)),
            SubscriptionLineItem.meter_id.is_not(None),
        )
        for item in session.scalars(item_query):
            if item.meter_id:
                found.setdefault(item.subscription_id, set()).add(item.meter_id)
        billed = {sid: frozenset(ids) for sid, ids in found.items()}

    feature_ids = sorted({s.feature_id for s in sources})
    features: dict[str, FeatureInfo] = {}
    if feature_ids:
        feature_query = Repository(session, scope, Feature).select().where(Feature.id.in_(feature_ids))
        for f in session.scalars(feature_query):
            features[f.id] = FeatureInfo(
                f.id, f.name, f.lookup_key, f.type, f.meter_id, f.unit_singular, f.unit_plural, f.description
            )
    meter_ids = sorted(
        {f.meter_id for f in features.values() if f.meter_id} | {m for ids in billed.values() for m in ids}
    )
    meters: dict[str, MeterDefinition] = {}
    if meter_ids:
        meter_query = Repository(session, scope, Meter).select().where(Meter.id.in_(meter_ids))
        meters = {row.id: billing_meter(row) for row in session.scalars(meter_query)}
    return CustomerView(
        customer_id=customer.id,
        external_id=customer.external_id,
        subscriptions=subscriptions,
        sources=tuple(sources),
        features=features,
        meters=meters,
        billed_meters=billed,
    )


K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """A small in-process cache whose entries live ``ttl`` seconds (0 disables it)."""

    def __init__(
        self, ttl: float, clock: Callable[[], float] = time.monotonic, max_entries: int = 100_000
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached value of ``key``, loading it when missing or expired."""
        if self.ttl <= 0:
            return load()
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (now + self.ttl, value)
        return value

    def invalidate(self, key: K | None = None) -> None:
        """Forget ``key`` (or everything)."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)
