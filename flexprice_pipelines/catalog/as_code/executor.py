"""Carry out a ``ChangePlan`` through the scoped repositories, inside the caller's transaction.

References are resolved from file keys to row ids as objects are created, which the plan's
dependency order makes possible. Any store error becomes a ``CatalogFileError`` naming the
object's path in the file; the caller rolls back, so a failed apply writes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.as_code.errors import CatalogFileError
from flexprice_pipelines.catalog.as_code.planner import Action, Change, ChangePlan
from flexprice_pipelines.catalog.as_code.spec import (
    CouponSpec,
    EntitlementSpec,
    FeatureSpec,
    MeterSpec,
    PlanSpec,
    PriceSpec,
    TaxRateSpec,
)
from flexprice_pipelines.catalog.as_code.validate import COUPON_KEY_METADATA
from flexprice_pipelines.catalog.errors import CatalogError
from flexprice_pipelines.catalog.ids import new_id
from flexprice_pipelines.catalog.models import (
    Coupon,
    Entitlement,
    Feature,
    Meter,
    Plan,
    Price,
    ScopedModel,
    TaxRate,
)
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope

MODELS: dict[str, type[ScopedModel]] = {
    "meter": Meter,
    "feature": Feature,
    "plan": Plan,
    "price": Price,
    "entitlement": Entitlement,
    "coupon": Coupon,
    "tax_rate": TaxRate,
}
# File field → the columns that hold it, where they differ.
_COLUMNS = {
    "meter": ["meter_id"],
    "plan": ["entity_id"],
    "billing_period": ["billing_period", "billing_cadence"],
}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class _Executor:
    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope
        # (kind, file key) → row id of meters, features and plans, for references.
        self.ids: dict[tuple[str, str], str] = {}

    def repo(self, kind: str) -> Repository[Any]:
        return Repository(self.session, self.scope, MODELS[kind])

    def ref(self, kind: str, key: str | None) -> str | None:
        return None if key is None else self.ids[(kind, key)]

    def values(self, change: Change) -> dict[str, Any]:
        spec = change.desired
        match change.kind:
            case "meter":
                return self.meter(spec)
            case "feature":
                return self.feature(spec)
            case "plan":
                return self.plan(spec)
            case "price":
                return self.price(spec, change.parent)
            case "entitlement":
                return self.entitlement(spec, change.parent, str(change.extra["feature_type"]))
            case "coupon":
                return self.coupon(spec)
            case "tax_rate":
                return self.tax_rate(spec)
        raise ValueError(f"unknown kind {change.kind}")

    def meter(self, spec: MeterSpec) -> dict[str, Any]:
        aggregation = spec.aggregation.model_dump(exclude_none=True)
        if spec.aggregation.multiplier is not None:
            aggregation["multiplier"] = str(spec.aggregation.multiplier)
        return {
            "name": spec.name,
            "event_name": spec.event_name,
            "aggregation": aggregation,
            "filters": [f.model_dump() for f in spec.filters],
            "reset_usage": spec.reset_usage,
        }

    def feature(self, spec: FeatureSpec) -> dict[str, Any]:
        return {
            "lookup_key": spec.lookup_key,
            "name": spec.name,
            "type": spec.type,
            "meter_id": self.ref("meter", spec.meter),
            "description": spec.description,
            "unit_singular": spec.unit_singular,
            "unit_plural": spec.unit_plural,
            "metadata": dict(spec.metadata),
        }

    def plan(self, spec: PlanSpec) -> dict[str, Any]:
        return {
            "lookup_key": spec.lookup_key,
            "name": spec.name,
            "description": spec.description,
            "metadata": dict(spec.metadata),
        }

    def price(self, spec: PriceSpec, plan: str | None) -> dict[str, Any]:
        tiers = None
        if spec.tiers is not None:
            # Amounts travel as decimal strings inside JSON, never as floats.
            tiers = [
                {
                    "up_to": _text(t.up_to),
                    "unit_amount": str(t.unit_amount),
                    "flat_amount": str(t.flat_amount),
                }
                for t in spec.tiers
            ]
        return {
            "lookup_key": spec.lookup_key,
            "entity_type": "PLAN",
            "entity_id": self.ref("plan", plan),
            "type": spec.type,
            "billing_model": spec.billing_model,
            "tier_mode": spec.tier_mode,
            "tiers": tiers,
            "amount": spec.amount,
            "currency": spec.currency,
            "transform_quantity": None
            if spec.transform_quantity is None
            else spec.transform_quantity.model_dump(),
            "billing_period": spec.billing_period,
            "billing_period_count": spec.billing_period_count,
            "billing_cadence": spec.billing_cadence,
            "invoice_cadence": spec.invoice_cadence,
            "meter_id": self.ref("meter", spec.meter),
            "trial_period_days": spec.trial_period_days,
            "description": spec.description,
            "metadata": dict(spec.metadata),
        }

    def entitlement(self, spec: EntitlementSpec, plan: str | None, feature_type: str) -> dict[str, Any]:
        return {
            "entity_type": "PLAN",
            "entity_id": self.ref("plan", plan),
            "feature_id": self.ref("feature", spec.feature),
            "feature_type": feature_type,
            "is_enabled": spec.is_enabled,
            "usage_limit": spec.usage_limit,
            "usage_reset_period": spec.usage_reset_period,
            "is_soft_limit": spec.is_soft_limit,
            "static_value": spec.static_value,
        }

    def coupon(self, spec: CouponSpec) -> dict[str, Any]:
        return {
            "name": spec.name,
            "coupon_type": spec.coupon_type,
            "amount_off": spec.amount_off,
            "percentage_off": spec.percentage_off,
            "currency": spec.currency,
            "cadence": spec.cadence,
            "duration_in_periods": spec.duration_in_periods,
            "redeem_after": spec.redeem_after,
            "redeem_before": spec.redeem_before,
            "max_redemptions": spec.max_redemptions,
            "rules": spec.rules,
            "metadata": {**spec.metadata, COUPON_KEY_METADATA: spec.lookup_key},
        }

    def tax_rate(self, spec: TaxRateSpec) -> dict[str, Any]:
        return spec.model_dump(mode="python")

    def run(self, change: Change) -> None:
        repo = self.repo(change.kind)
        if change.action is Action.ARCHIVE:
            assert change.row_id is not None
            repo.update(change.row_id, status="archived")
            return
        if change.action is Action.UNCHANGED:
            return
        values = self.values(change)
        if change.action is Action.CREATE:
            row = repo.create(**values)
        elif change.action is Action.REPLACE:
            row = self.new_price_version(change, values)
        else:
            columns = {col for name in change.changed for col in _COLUMNS.get(name, [name])}
            update = {col: values[col] for col in columns if col in values}
            if "status" in change.changed:
                update["status"] = "published"
            row = repo.update(change.row_id, **update)
        if change.kind in ("meter", "feature", "plan"):
            self.ids[(change.kind, change.key)] = row.id

    def new_price_version(self, change: Change, values: dict[str, Any]) -> ScopedModel:
        """Archive the used price (its key moves to metadata) and create the new version with the key."""
        repo = Repository(self.session, self.scope, Price)
        assert change.row_id is not None
        old = repo.get(change.row_id)
        version_id = new_id(Price.__id_prefix__)
        history = {**(old.metadata_ or {}), "superseded_lookup_key": change.key, "superseded_by": version_id}
        repo.update(old, status="archived", lookup_key=None, metadata=history)
        return repo.create(id=version_id, **values)


def execute_plan(session: Session, scope: Scope, plan: ChangePlan) -> None:
    """Write ``plan`` in ``session`` (the caller commits, or rolls back on ``CatalogFileError``)."""
    executor = _Executor(session, scope)
    for change in plan.changes:
        if change.row_id is not None and change.kind in ("meter", "feature", "plan"):
            executor.ids[(change.kind, change.key)] = change.row_id
    for change in plan.changes:
        try:
            executor.run(change)
        except CatalogError as exc:
            where = change.path or f"{change.kind} {change.key}"
            raise CatalogFileError(
                [(where, f"cannot {change.action.value} {change.kind} {change.key!r}: {exc}")]
            ) from exc
