"""Entitlements, usage summaries and real-time checks for one customer (docs/billing-semantics.md §7).

Aggregation and the allowed / reason decision are ``billing.entitlements``'; this module only finds
the rows (``catalog_view``) and the current usage (``queries.window_usage``). A metered feature's
current window comes from the subscription that defines its reset period: among the enabled rows
with the aggregated ``usage_reset_period``, the earliest-started subscription (ties: smallest id)
gives the anchor and time zone. Usage is the customer's usage of the feature's meter in that window,
counted once however many subscriptions grant the feature (limits are summed, usage is not).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from flexprice_pipelines.billing.entitlements import (
    CustomerEntitlement,
    EntitlementCheck,
    EntitlementSource,
    FeatureType,
    aggregate_customer_entitlements,
    check_entitlement,
)
from flexprice_pipelines.billing.meters import billable_quantity
from flexprice_pipelines.billing.periods import BillingWindow
from flexprice_pipelines.catalog import NotFound, Repository, Scope
from flexprice_pipelines.catalog.models import Customer, Feature
from flexprice_pipelines.usage.catalog_view import (
    CustomerView,
    FeatureInfo,
    SubscriptionInfo,
    TTLCache,
    load_customer_view,
)
from flexprice_pipelines.usage.queries import window_usage
from flexprice_pipelines.usage.windows import FOREVER, WindowCalendar

_PERCENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class FeatureEntitlement:
    """A customer's aggregated entitlement to one feature, with the rows it came from."""

    feature: FeatureInfo
    entitlement: CustomerEntitlement
    sources: tuple[EntitlementSource, ...]


@dataclass(frozen=True, slots=True)
class FeatureUsage:
    """A feature's entitlement, its usage in the current window and the check's answer."""

    feature: FeatureInfo
    entitlement: CustomerEntitlement
    sources: tuple[EntitlementSource, ...]
    check: EntitlementCheck
    window: BillingWindow | None

    @property
    def next_usage_reset_at(self) -> datetime | None:
        """End of the current window; None for cumulative (NEVER) usage or no window."""
        if self.window is None or self.window.end >= FOREVER:
            return None
        return self.window.end

    @property
    def usage_percent(self) -> Decimal:
        """``current_usage / limit × 100`` to 2 places (0 when unlimited or the limit is 0)."""
        limit = self.check.usage_limit
        if limit is None or limit == 0:
            return Decimal("0.00")
        return (self.check.current_usage / limit * 100).quantize(_PERCENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """A resolved customer: its catalog id and the external id its events carry."""

    id: str
    external_id: str


@dataclass(frozen=True, slots=True)
class FeatureRef:
    """A feature named by id or by lookup key (exactly one)."""

    feature_id: str | None = None
    lookup_key: str | None = None


class EntitlementService:
    """Answers entitlement questions; one per process. Catalog configuration (subscriptions,
    entitlements, features, meters) is cached per customer for ``config_ttl`` seconds; usage never is."""

    def __init__(self, *, config_ttl: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.calendar = WindowCalendar()
        self._views: TTLCache[tuple[Scope, str], CustomerView] = TTLCache(config_ttl, clock)
        self._features: TTLCache[tuple[Scope, str, str], FeatureInfo | None] = TTLCache(config_ttl, clock)
        self._customers: TTLCache[tuple[Scope, str, str], CustomerRef | None] = TTLCache(config_ttl, clock)

    # -- lookups ----------------------------------------------------------------------------------

    def customer(
        self,
        session: Session,
        scope: Scope,
        *,
        customer_id: str | None = None,
        external_id: str | None = None,
    ) -> CustomerRef:
        """The customer by id or external id, else ``NotFound`` naming the field."""
        if customer_id is not None:
            column, value, field = "id", customer_id, "customer_id"
        else:
            column, value, field = "external_id", external_id or "", "external_customer_id"

        def load() -> CustomerRef | None:
            row = Repository(session, scope, Customer).find_one(**{column: value}) if value else None
            return CustomerRef(row.id, row.external_id) if row is not None else None

        found = self._customers.get_or_load((scope, column, value), load)
        if found is None:
            raise NotFound("customer", value, field=field)
        return found

    def feature(self, session: Session, scope: Scope, ref: FeatureRef) -> FeatureInfo:
        """The feature by id or lookup key, else ``NotFound`` naming the field."""
        if ref.feature_id is not None:
            column, value, field = "id", ref.feature_id, "feature_id"
        else:
            column, value, field = "lookup_key", ref.lookup_key or "", "feature_lookup_key"

        def load() -> FeatureInfo | None:
            row = Repository(session, scope, Feature).find_one(**{column: value}) if value else None
            return _feature_info(row) if row is not None else None

        found = self._features.get_or_load((scope, column, value), load)
        if found is None:
            raise NotFound("feature", value, field=field)
        return found

    def view(self, session: Session, scope: Scope, customer: CustomerRef) -> CustomerView:
        """The customer's catalog view (cached for the TTL)."""
        return self._views.get_or_load(
            (scope, customer.id), lambda: load_customer_view(session, scope, customer)
        )

    # -- answers ----------------------------------------------------------------------------------

    def entitlements(self, session: Session, scope: Scope, customer: CustomerRef) -> list[FeatureEntitlement]:
        """Every feature the customer's active subscriptions grant, aggregated (sorted by feature id)."""
        view = self.view(session, scope, customer)
        aggregated = aggregate_customer_entitlements(view.sources)
        result = []
        for feature_id, entitlement in aggregated.items():
            feature = view.features.get(feature_id)
            if feature is None:  # a feature deleted after being granted
                continue
            sources = tuple(s for s in view.sources if s.feature_id == feature_id)
            result.append(FeatureEntitlement(feature, entitlement, sources))
        return result

    def usage(
        self, session: Session, scope: Scope, customer: CustomerRef, now: datetime
    ) -> list[FeatureUsage]:
        """Usage and check of every metered feature the customer is entitled to."""
        view = self.view(session, scope, customer)
        return [
            self._answer(session, scope, view, granted.feature, granted.entitlement, granted.sources, now)
            for granted in self.entitlements(session, scope, customer)
            if granted.entitlement.feature_type is FeatureType.METERED
        ]

    def check(
        self, session: Session, scope: Scope, customer: CustomerRef, refs: Sequence[FeatureRef], now: datetime
    ) -> list[FeatureUsage]:
        """May ``customer`` use each feature now? Unknown features raise ``NotFound``; a feature
        the customer holds no entitlement to answers disabled."""
        features = [self.feature(session, scope, ref) for ref in refs]
        view = self.view(session, scope, customer)
        answers = []
        for feature in features:
            info = view.features.get(feature.id) or feature
            sources = tuple(s for s in view.sources if s.feature_id == feature.id)
            if sources:
                entitlement = aggregate_customer_entitlements(sources)[feature.id]
            else:
                entitlement = CustomerEntitlement(
                    feature_id=feature.id,
                    feature_type=FeatureType(feature.type),
                    is_enabled=False,
                    usage_limit=Decimal(0) if feature.type == FeatureType.METERED else None,
                    is_soft_limit=False,
                    usage_reset_period=None,
                    static_values=(),
                    subscription_ids=(),
                )
            answers.append(self._answer(session, scope, view, info, entitlement, sources, now))
        return answers

    def _answer(
        self,
        session: Session,
        scope: Scope,
        view: CustomerView,
        feature: FeatureInfo,
        entitlement: CustomerEntitlement,
        sources: tuple[EntitlementSource, ...],
        now: datetime,
    ) -> FeatureUsage:
        window = None
        current = Decimal(0)
        if entitlement.feature_type is FeatureType.METERED and sources and feature.meter_id:
            window = self._current_window(view, entitlement, sources, now)
            meter = view.meters.get(feature.meter_id)
            if window is not None and meter is not None:
                value = window_usage(session, scope, view.external_id, feature.meter_id, meter, window)
                current = billable_quantity(value)
        return FeatureUsage(feature, entitlement, sources, check_entitlement(entitlement, current), window)

    def _current_window(
        self,
        view: CustomerView,
        entitlement: CustomerEntitlement,
        sources: Sequence[EntitlementSource],
        now: datetime,
    ) -> BillingWindow | None:
        period = entitlement.usage_reset_period
        candidates = [s for s in sources if s.is_enabled and s.usage_reset_period == period] or list(sources)
        subscription: SubscriptionInfo = min(
            (view.subscriptions[s.subscription_id] for s in candidates),
            key=lambda sub: (sub.start_date, sub.id),
        )
        return self.calendar.window_at(subscription.spec(period), now)


def _feature_info(feature: Feature) -> FeatureInfo:
    return FeatureInfo(
        feature.id,
        feature.name,
        feature.lookup_key,
        feature.type,
        feature.meter_id,
        feature.unit_singular,
        feature.unit_plural,
        feature.description,
    )
