"""What a customer may use, and whether it may use more (docs/billing-semantics.md §7).

Entitlement rows come from plans, add-ons and per-subscription overrides. For each subscription a
SUBSCRIPTION row replaces the PLAN row of the same feature; ADDON rows always add. A customer's
entitlement for a feature then aggregates the rows of all its active subscriptions:

- only enabled rows count; the feature is enabled when any row is;
- metered: limits are summed, any unlimited row (``usage_limit`` None) makes it unlimited; the limit
  is soft when any enabled row is soft (as Flexprice does: a customer who bought a soft allowance
  anywhere is not hard-blocked); the reset period is the most common one (ties: alphabetical);
- boolean: OR of ``is_enabled``;
- static / config: the distinct values of the enabled rows, sorted.

``check_entitlement`` answers the real-time question; Flexprice leaves enforcement to the caller,
here ``allowed`` is false when the feature is disabled or a hard limit is reached (usage ≥ limit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from flexprice_pipelines.billing.errors import InvalidEntitlement
from flexprice_pipelines.billing.money import ensure_decimal


class EntityType(StrEnum):
    """Where an entitlement row is attached (Flexprice ``entity_type``)."""

    PLAN = "PLAN"
    SUBSCRIPTION = "SUBSCRIPTION"
    ADDON = "ADDON"


class FeatureType(StrEnum):
    """Flexprice ``feature_type``."""

    METERED = "metered"
    BOOLEAN = "boolean"
    STATIC = "static"
    CONFIG = "config"


class CheckReason(StrEnum):
    """Why a check answered as it did."""

    DISABLED = "disabled"
    ENABLED = "enabled"
    UNLIMITED = "unlimited"
    WITHIN_LIMIT = "within_limit"
    LIMIT_REACHED = "limit_reached"
    SOFT_LIMIT_EXCEEDED = "soft_limit_exceeded"


_E = TypeVar("_E", bound=StrEnum)


def _enum_value(kind: type[_E], value: object, what: str) -> _E:
    try:
        return kind(str(value))
    except ValueError as exc:
        allowed = ", ".join(m.value for m in kind)
        raise InvalidEntitlement(f"{what} must be one of {allowed}, not {value!r}", field=what) from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitlementSource:
    """One entitlement row as it applies to one subscription.

    ``usage_limit`` None means unlimited (metered features only); ``static_value`` carries the value
    of a static feature or the JSON text of a config feature.
    """

    subscription_id: str
    plan_id: str | None
    entity_type: EntityType
    feature_id: str
    feature_type: FeatureType
    is_enabled: bool = True
    usage_limit: Decimal | None = None
    usage_reset_period: str | None = None
    is_soft_limit: bool = False
    static_value: str | None = None
    entitlement_id: str | None = None

    def __post_init__(self) -> None:
        if not self.subscription_id:
            raise InvalidEntitlement("subscription_id is required", field="subscription_id")
        if not self.feature_id:
            raise InvalidEntitlement("feature_id is required", field="feature_id")
        object.__setattr__(self, "entity_type", _enum_value(EntityType, self.entity_type, "entity_type"))
        object.__setattr__(self, "feature_type", _enum_value(FeatureType, self.feature_type, "feature_type"))
        if self.usage_limit is not None:
            try:
                limit = ensure_decimal(self.usage_limit, "usage_limit")
            except ValueError as exc:
                raise InvalidEntitlement(str(exc), field="usage_limit") from exc
            if not limit.is_finite() or limit < 0:
                raise InvalidEntitlement("usage_limit must be a non-negative number", field="usage_limit")
            object.__setattr__(self, "usage_limit", limit)
        if self.feature_type is FeatureType.STATIC and self.is_enabled and not self.static_value:
            raise InvalidEntitlement("a static feature needs static_value", field="static_value")


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerEntitlement:
    """A customer's aggregated entitlement to one feature across its subscriptions.

    ``usage_limit`` is None when unlimited and only meaningful for metered features.
    """

    feature_id: str
    feature_type: FeatureType
    is_enabled: bool
    usage_limit: Decimal | None
    is_soft_limit: bool
    usage_reset_period: str | None
    static_values: tuple[str, ...]
    subscription_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitlementCheck:
    """The answer to "may this customer use this feature now?".

    ``remaining`` is None when unlimited or not metered, and never negative.
    """

    feature_id: str
    feature_type: FeatureType
    is_enabled: bool
    allowed: bool
    reason: CheckReason
    usage_limit: Decimal | None
    current_usage: Decimal
    remaining: Decimal | None
    is_soft_limit: bool
    usage_reset_period: str | None
    static_values: tuple[str, ...]


def resolve_subscription_entitlements(
    plan_rows: Iterable[EntitlementSource], subscription_rows: Iterable[EntitlementSource]
) -> list[EntitlementSource]:
    """The effective rows of subscriptions: a SUBSCRIPTION row replaces the PLAN row of its
    (subscription, feature); ADDON rows are kept. Plan rows first, then overrides, in input order.
    """
    plans = list(plan_rows)
    overrides = list(subscription_rows)
    for index, row in enumerate(plans):
        if row.entity_type is EntityType.SUBSCRIPTION:
            raise InvalidEntitlement(
                "plan rows must be PLAN or ADDON entitlements", field=f"plan_rows.{index}.entity_type"
            )
    overridden: set[tuple[str, str]] = set()
    for index, row in enumerate(overrides):
        if row.entity_type is not EntityType.SUBSCRIPTION:
            raise InvalidEntitlement(
                "subscription rows must be SUBSCRIPTION entitlements",
                field=f"subscription_rows.{index}.entity_type",
            )
        key = (row.subscription_id, row.feature_id)
        if key in overridden:
            raise InvalidEntitlement(
                f"two overrides of feature {row.feature_id} on subscription {row.subscription_id}",
                field=f"subscription_rows.{index}.feature_id",
            )
        overridden.add(key)
    kept = [
        row
        for row in plans
        if not (row.entity_type is EntityType.PLAN and (row.subscription_id, row.feature_id) in overridden)
    ]
    return kept + overrides


def aggregate_entitlements(sources: Sequence[EntitlementSource]) -> CustomerEntitlement:
    """Aggregate one feature's rows across a customer's subscriptions (rules in the module doc)."""
    if not sources:
        raise InvalidEntitlement("no entitlement rows to aggregate", field="sources")
    feature_ids = {s.feature_id for s in sources}
    if len(feature_ids) != 1:
        raise InvalidEntitlement(f"rows of several features: {sorted(feature_ids)}", field="feature_id")
    feature_types = {s.feature_type for s in sources}
    if len(feature_types) != 1:
        raise InvalidEntitlement(
            f"feature {sources[0].feature_id} has several types: {sorted(feature_types)}",
            field="feature_type",
        )
    feature_type = feature_types.pop()
    enabled = [s for s in sources if s.is_enabled]

    usage_limit: Decimal | None = None
    is_soft = False
    reset_period: str | None = None
    if feature_type is FeatureType.METERED:
        limits = [s.usage_limit for s in enabled]
        usage_limit = None if None in limits else sum((x for x in limits if x is not None), Decimal(0))
        is_soft = any(s.is_soft_limit for s in enabled)
        periods = Counter(s.usage_reset_period for s in enabled if s.usage_reset_period)
        if periods:
            reset_period = min(periods, key=lambda p: (-periods[p], p))
    static_values: tuple[str, ...] = ()
    if feature_type in (FeatureType.STATIC, FeatureType.CONFIG):
        static_values = tuple(sorted({s.static_value for s in enabled if s.static_value}))

    return CustomerEntitlement(
        feature_id=sources[0].feature_id,
        feature_type=feature_type,
        is_enabled=bool(enabled),
        usage_limit=usage_limit,
        is_soft_limit=is_soft,
        usage_reset_period=reset_period,
        static_values=static_values,
        subscription_ids=tuple(sorted({s.subscription_id for s in sources})),
    )


def aggregate_customer_entitlements(
    sources: Iterable[EntitlementSource],
) -> dict[str, CustomerEntitlement]:
    """``aggregate_entitlements`` for every feature present in ``sources``, keyed by feature id."""
    by_feature: dict[str, list[EntitlementSource]] = {}
    for source in sources:
        by_feature.setdefault(source.feature_id, []).append(source)
    return {fid: aggregate_entitlements(rows) for fid, rows in sorted(by_feature.items())}


def check_entitlement(entitlement: CustomerEntitlement, current_usage: Decimal) -> EntitlementCheck:
    """Whether the customer may use the feature given its usage so far in the current reset period."""
    try:
        usage = ensure_decimal(current_usage, "current_usage")
    except ValueError as exc:
        raise InvalidEntitlement(str(exc), field="current_usage") from exc
    if not usage.is_finite():
        raise InvalidEntitlement("current_usage must be finite", field="current_usage")

    metered = entitlement.feature_type is FeatureType.METERED
    limit = entitlement.usage_limit if metered else None
    remaining = max(Decimal(0), limit - usage) if limit is not None else None
    if not entitlement.is_enabled:
        allowed, reason = False, CheckReason.DISABLED
    elif not metered:
        allowed, reason = True, CheckReason.ENABLED
    elif limit is None:
        allowed, reason = True, CheckReason.UNLIMITED
    elif usage < limit:
        allowed, reason = True, CheckReason.WITHIN_LIMIT
    elif entitlement.is_soft_limit:
        allowed, reason = True, CheckReason.SOFT_LIMIT_EXCEEDED
    else:
        allowed, reason = False, CheckReason.LIMIT_REACHED

    return EntitlementCheck(
        feature_id=entitlement.feature_id,
        feature_type=entitlement.feature_type,
        is_enabled=entitlement.is_enabled,
        allowed=allowed,
        reason=reason,
        usage_limit=limit,
        current_usage=usage,
        remaining=remaining,
        is_soft_limit=entitlement.is_soft_limit,
        usage_reset_period=entitlement.usage_reset_period,
        static_values=entitlement.static_values,
    )
