"""What a tenant's catalog holds, read from the store into the file's own models.

Rows are keyed as the file keys them: features, plans and prices by ``lookup_key``, coupons by the
``lookup_key`` kept in their metadata, tax rates by ``code``, entitlements by (plan, feature) and
meters by (event_name, name). References (a price's meter and plan) are turned from ids back into
keys, so a database row and a file object compare directly.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.as_code.spec import (
    AggregationSpec,
    CatalogSpec,
    CouponSpec,
    EntitlementSpec,
    FeatureSpec,
    FilterSpec,
    MeterSpec,
    PlanSpec,
    PriceSpec,
    SpecModel,
    TaxRateSpec,
    TierSpec,
    TransformQuantitySpec,
)
from flexprice_pipelines.catalog.as_code.validate import COUPON_KEY_METADATA
from flexprice_pipelines.catalog.models import (
    Coupon,
    Entitlement,
    Feature,
    InvoiceLineItem,
    Meter,
    Plan,
    Price,
    ScopedModel,
    SubscriptionLineItem,
    TaxRate,
)
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope

S = TypeVar("S", bound=SpecModel)
M = TypeVar("M", bound=ScopedModel)
MeterIdentity = tuple[str, str]
# Rows in these states take part in apply; archived ones are brought back if the file lists them.
MANAGED_STATUSES = ("published", "archived")


@dataclass(frozen=True)
class Existing(Generic[S]):
    """One stored object: its row id, status and content in file form.

    ``extra`` holds compared values that are not file fields of the object itself: a price's
    ``plan`` (it is nested under the plan in the file) and an entitlement's ``feature_type``.
    """

    row_id: str
    status: str
    spec: S
    extra: Mapping[str, object] = field(default_factory=dict)
    in_use: bool = False


@dataclass
class CatalogState:
    """A tenant's catalog as ``Existing`` objects per kind, plus rows that cannot be managed as code."""

    meters: dict[MeterIdentity, Existing[MeterSpec]] = field(default_factory=dict)
    features: dict[str, Existing[FeatureSpec]] = field(default_factory=dict)
    plans: dict[str, Existing[PlanSpec]] = field(default_factory=dict)
    prices: dict[str, Existing[PriceSpec]] = field(default_factory=dict)
    entitlements: dict[tuple[str, str], Existing[EntitlementSpec]] = field(default_factory=dict)
    coupons: dict[str, Existing[CouponSpec]] = field(default_factory=dict)
    tax_rates: dict[str, Existing[TaxRateSpec]] = field(default_factory=dict)
    unmanaged: list[str] = field(default_factory=list)

    def to_catalog(self) -> CatalogSpec:
        """The published objects as one catalog file (what ``export`` writes)."""
        prices: dict[str, list[PriceSpec]] = {}
        for price in _published(self.prices.values()):
            prices.setdefault(str(price.extra["plan"]), []).append(price.spec)
        entitlements: dict[str, list[EntitlementSpec]] = {}
        for (plan_key, _), ent in self.entitlements.items():
            if ent.status == "published":
                entitlements.setdefault(plan_key, []).append(ent.spec)
        plans = [
            plan.spec.model_copy(
                update={"prices": prices.get(key, []), "entitlements": entitlements.get(key, [])}
            )
            for key, plan in self.plans.items()
            if plan.status == "published"
        ]
        return CatalogSpec(
            meters=[m.spec for m in _published(self.meters.values())],
            features=[f.spec for f in _published(self.features.values())],
            plans=plans,
            coupons=[c.spec for c in _published(self.coupons.values())],
            tax_rates=[t.spec for t in _published(self.tax_rates.values())],
        ).sorted()


def _published(items: Any) -> list[Any]:
    return [item for item in items if item.status == "published"]


def _metadata(value: Mapping[str, Any] | None, drop: str | None = None) -> dict[str, str]:
    return {str(k): str(v) for k, v in sorted((value or {}).items()) if k != drop}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "meter"


def export_meter_keys(rows: list[Meter]) -> dict[str, str]:
    """A readable, deterministic lookup_key per meter row for export: the slug of its name,
    suffixed with its event name (then a counter) when names collide."""
    by_slug = Counter(_slug(row.name) for row in rows)
    keys: dict[str, str] = {}
    used: set[str] = set()
    for row in sorted(rows, key=lambda r: (r.name, r.event_name, r.id)):
        key = _slug(row.name)
        if by_slug[key] > 1:
            key = f"{key}.{_slug(row.event_name)}"
        base, n = key, 2
        while key in used:
            key, n = f"{base}_{n}", n + 1
        used.add(key)
        keys[row.id] = key
    return keys


class _Reader:
    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope

    def rows(self, model: type[M]) -> list[M]:
        statement = (
            Repository(self.session, self.scope, model).select().where(model.status.in_(MANAGED_STATUSES))
        )
        return list(self.session.scalars(statement.order_by(model.id)))

    def used_price_ids(self) -> set[str]:
        used: set[str] = set()
        for model in (SubscriptionLineItem, InvoiceLineItem):
            # Deleted line items count too: their invoices may still be re-run with this price.
            statement = Repository(self.session, self.scope, model).select(include_deleted=True)
            ids = statement.with_only_columns(model.price_id).distinct()
            used.update(pid for pid in self.session.scalars(ids) if pid)
        return used


def read_state(
    session: Session, scope: Scope, *, meter_keys: Mapping[MeterIdentity, str] | None = None
) -> CatalogState:
    """The catalog of ``scope``. ``meter_keys`` names meters as the file does (by identity); meters
    not in it get an export key (``meter_keys=None``) or, when applying, an unmistakable ``#<id>``."""
    reader = _Reader(session, scope)
    state = CatalogState()

    meter_rows = reader.rows(Meter)
    exported = export_meter_keys(meter_rows)
    meter_key: dict[str, str] = {}
    for row in meter_rows:
        identity = (row.event_name.strip(), row.name.strip())
        if meter_keys is None:
            meter_key[row.id] = exported[row.id]
        else:
            meter_key[row.id] = meter_keys.get(identity, f"#{row.id}")
        spec = _convert(state, f"meter {row.id}", _meter_spec, row, meter_key[row.id])
        if spec is not None and identity not in state.meters:
            state.meters[identity] = Existing(row.id, row.status, spec)

    def meter_ref(meter_id: str | None) -> str | None:
        return None if meter_id is None else meter_key.get(meter_id, f"#{meter_id}")

    feature_key: dict[str, tuple[str, str]] = {}
    for f in reader.rows(Feature):
        if not f.lookup_key:
            _unmanaged(state, f, f"feature {f.id} ({f.name}): no lookup_key")
            continue
        feature_key[f.id] = (f.lookup_key, f.type)
        spec = _convert(state, f"feature {f.id}", _feature_spec, f, meter_ref(f.meter_id))
        if spec is not None:
            state.features[f.lookup_key] = Existing(f.id, f.status, spec)

    plan_key: dict[str, str] = {}
    for p in reader.rows(Plan):
        if not p.lookup_key:
            _unmanaged(state, p, f"plan {p.id} ({p.name}): no lookup_key")
            continue
        plan_key[p.id] = p.lookup_key
        spec = _convert(state, f"plan {p.id}", _plan_spec, p)
        if spec is not None:
            state.plans[p.lookup_key] = Existing(p.id, p.status, spec)

    used = reader.used_price_ids()
    for pr in reader.rows(Price):
        if pr.entity_type.upper() != "PLAN":
            continue  # subscription-level overrides are not part of the catalog
        owner = plan_key.get(pr.entity_id or "")
        if not pr.lookup_key or owner is None:
            _unmanaged(state, pr, f"price {pr.id}: no lookup_key, or its plan has none")
            continue
        spec = _convert(state, f"price {pr.id}", _price_spec, pr, meter_ref(pr.meter_id))
        if spec is not None:
            state.prices[pr.lookup_key] = Existing(pr.id, pr.status, spec, {"plan": owner}, pr.id in used)

    for e in reader.rows(Entitlement):
        owner = plan_key.get(e.entity_id) if e.entity_type.upper() == "PLAN" else None
        feature = feature_key.get(e.feature_id)
        if owner is None or feature is None:
            continue
        spec = _convert(state, f"entitlement {e.id}", _entitlement_spec, e, feature[0])
        if spec is not None:
            extra = {"feature_type": e.feature_type}
            state.entitlements[(owner, feature[0])] = Existing(e.id, e.status, spec, extra)

    for c in reader.rows(Coupon):
        key = (c.metadata_ or {}).get(COUPON_KEY_METADATA)
        if not key:
            _unmanaged(state, c, f"coupon {c.id} ({c.name}): no lookup_key")
            continue
        spec = _convert(state, f"coupon {c.id}", _coupon_spec, c, str(key))
        if spec is not None:
            state.coupons[str(key)] = Existing(c.id, c.status, spec)

    for t in reader.rows(TaxRate):
        spec = _convert(state, f"tax rate {t.id}", _tax_rate_spec, t)
        if spec is not None:
            state.tax_rates[t.code] = Existing(t.id, t.status, spec)
    return state


def _unmanaged(state: CatalogState, row: ScopedModel, reason: str) -> None:
    # Archived rows without a key are superseded price versions and the like: history, not catalog.
    if row.status == "published":
        state.unmanaged.append(reason)


def _convert(state: CatalogState, what: str, build: Callable[..., Any], *args: Any) -> Any:
    try:
        return build(*args)
    except (ValidationError, TypeError, ValueError) as exc:
        state.unmanaged.append(
            f"{what}: cannot be expressed in the catalog format ({exc})".replace("\n", " ")
        )
        return None


def _meter_spec(row: Meter, key: str) -> MeterSpec:
    spec = MeterSpec(
        lookup_key="meter",
        name=row.name,
        event_name=row.event_name,
        aggregation=AggregationSpec(**(row.aggregation or {})),
        filters=[FilterSpec(**f) for f in row.filters or []],
        reset_usage=row.reset_usage,
    )
    # Set after validation: "#<id>" is deliberately outside the file's key syntax.
    return spec.model_copy(update={"lookup_key": key})


def _feature_spec(row: Feature, meter: str | None) -> FeatureSpec:
    return FeatureSpec(
        lookup_key=row.lookup_key or "",
        name=row.name,
        type=row.type,
        meter=meter,
        description=row.description,
        unit_singular=row.unit_singular,
        unit_plural=row.unit_plural,
        metadata=_metadata(row.metadata_),
    )


def _plan_spec(row: Plan) -> PlanSpec:
    return PlanSpec(
        lookup_key=row.lookup_key or "",
        name=row.name,
        description=row.description,
        metadata=_metadata(row.metadata_),
    )


def _price_spec(row: Price, meter: str | None) -> PriceSpec:
    return PriceSpec(
        lookup_key=row.lookup_key or "",
        type=row.type,
        billing_model=row.billing_model,
        tier_mode=row.tier_mode,
        tiers=None if row.tiers is None else [TierSpec(**tier) for tier in row.tiers],
        amount=row.amount,
        currency=row.currency,
        transform_quantity=None
        if row.transform_quantity is None
        else TransformQuantitySpec(**row.transform_quantity),
        billing_period=row.billing_period,
        billing_period_count=row.billing_period_count,
        invoice_cadence=row.invoice_cadence,
        meter=meter,
        trial_period_days=row.trial_period_days,
        description=row.description,
        metadata=_metadata(row.metadata_),
    )


def _entitlement_spec(row: Entitlement, feature: str) -> EntitlementSpec:
    return EntitlementSpec(
        feature=feature,
        is_enabled=row.is_enabled,
        usage_limit=row.usage_limit,
        usage_reset_period=row.usage_reset_period,
        is_soft_limit=row.is_soft_limit,
        static_value=row.static_value,
    )


def _coupon_spec(row: Coupon, key: str) -> CouponSpec:
    return CouponSpec(
        lookup_key=key,
        name=row.name,
        coupon_type=row.coupon_type,
        amount_off=row.amount_off,
        percentage_off=row.percentage_off,
        currency=row.currency,
        cadence=row.cadence,
        duration_in_periods=row.duration_in_periods,
        redeem_after=row.redeem_after,
        redeem_before=row.redeem_before,
        max_redemptions=row.max_redemptions,
        rules=row.rules,
        metadata=_metadata(row.metadata_, drop=COUPON_KEY_METADATA),
    )


def _tax_rate_spec(row: TaxRate) -> TaxRateSpec:
    return TaxRateSpec(
        code=row.code,
        name=row.name,
        tax_rate_type=row.tax_rate_type,
        percentage_value=row.percentage_value,
        fixed_value=row.fixed_value,
        currency=row.currency,
        scope=row.scope,
        tax_rate_status=row.tax_rate_status,
        description=row.description,
        metadata=_metadata(row.metadata_),
    )
