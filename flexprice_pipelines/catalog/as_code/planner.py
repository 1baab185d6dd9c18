"""Compare a catalog file with the stored catalog: what to create, update, replace or archive.

Pure: takes the file (``CatalogSpec``) and the stored state (``CatalogState``) and returns a
``ChangePlan`` in dependency order (meters, features, plans, prices, entitlements, coupons, tax
rates; archives last, dependents first). Nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from flexprice_pipelines.catalog.as_code.spec import CatalogSpec, SpecModel
from flexprice_pipelines.catalog.as_code.state import CatalogState, Existing

# Price fields that change what a customer pays. Once a subscription or invoice uses a price, a
# change to any of them creates a new price version instead (Flexprice: prices are immutable once used).
PRICE_TERMS = frozenset(
    {
        "type",
        "billing_model",
        "tier_mode",
        "tiers",
        "amount",
        "currency",
        "transform_quantity",
        "billing_period",
        "billing_period_count",
        "invoice_cadence",
        "meter",
        "trial_period_days",
        "plan",
    }
)
# Keys or children: compared elsewhere, never as fields of the object itself.
_NOT_COMPARED = {
    "meter": {"lookup_key"},  # a meter's key is file-only; it is matched by (event_name, name)
    "plan": {"prices", "entitlements"},
}


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"  # a used price whose terms changed: archive it, create a new version
    UNCHANGED = "unchanged"
    ARCHIVE = "archive"  # --prune: in the database, not in the file


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object

    def render(self) -> str:
        return f"{self.field}: {_show(self.old)} → {_show(self.new)}"


@dataclass(frozen=True)
class Change:
    """One object's fate. ``path`` is where it is in the file (None for archives)."""

    kind: str
    key: str
    action: Action
    fields: tuple[FieldChange, ...] = ()
    path: str | None = None
    row_id: str | None = None
    desired: Any = None
    extra: Mapping[str, object] = field(default_factory=dict)
    parent: str | None = None  # the plan of a price or entitlement

    @property
    def changed(self) -> frozenset[str]:
        return frozenset(change.field for change in self.fields)

    def render(self) -> str:
        line = f"{self.action.value:<9} {self.kind:<12} {self.key}"
        if self.action is Action.REPLACE:
            line += f"  (in use: {self.row_id} is archived and a new version created)"
        if self.fields:
            line += "\n" + "\n".join(f"            {change.render()}" for change in self.fields)
        return line


@dataclass(frozen=True)
class ChangePlan:
    changes: tuple[Change, ...]
    # In the database but not in the file, left alone because --prune was not given.
    left_alone: tuple[str, ...] = ()
    unmanaged: tuple[str, ...] = ()

    @property
    def writes(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.UNCHANGED)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    def render(self) -> str:
        """Human-readable plan: one block per written object, then what was left alone."""
        lines = [change.render() for change in self.writes]
        if not lines:
            lines.append("no changes")
        if self.left_alone:
            lines.append("in the database but not in the file (left alone; --prune archives them):")
            lines.extend(f"  {item}" for item in self.left_alone)
        if self.unmanaged:
            lines.append("not managed as code:")
            lines.extend(f"  {item}" for item in self.unmanaged)
        summary = ", ".join(
            f"{self.count(a)} {a.value}" for a in Action if self.count(a) or a is Action.UNCHANGED
        )
        lines.append(f"summary: {summary}")
        return "\n".join(lines)


def _show(value: object) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_defaults=True)
    elif isinstance(value, list):
        value = [
            v.model_dump(mode="json", exclude_defaults=True) if isinstance(v, BaseModel) else v for v in value
        ]
    if isinstance(value, Decimal | str):
        return str(value)
    return json.dumps(value, default=str, ensure_ascii=False)


def _compare(
    kind: str,
    key: str,
    path: str,
    desired: SpecModel,
    existing: Existing[Any] | None,
    extra: Mapping[str, object] | None = None,
) -> Change:
    extra = dict(extra or {})
    if existing is None:
        return Change(kind, key, Action.CREATE, path=path, desired=desired, extra=extra)
    skip = _NOT_COMPARED.get(kind, set())
    fields = [
        FieldChange(name, getattr(existing.spec, name), getattr(desired, name))
        for name in type(desired).model_fields
        if name not in skip and getattr(existing.spec, name) != getattr(desired, name)
    ]
    fields += [
        FieldChange(name, existing.extra.get(name), value)
        for name, value in extra.items()
        if existing.extra.get(name) != value
    ]
    if existing.status != "published":
        fields.append(FieldChange("status", existing.status, "published"))
    action = Action.UPDATE if fields else Action.UNCHANGED
    if kind == "price" and existing.in_use and PRICE_TERMS & {f.field for f in fields}:
        action = Action.REPLACE
    return Change(kind, key, action, tuple(fields), path, existing.row_id, desired, extra)


def _leftovers(
    kind: str, stored: Mapping[Any, Existing[Any]], wanted: Iterable[Any], label: Any, prune: bool
) -> tuple[list[Change], list[str]]:
    wanted = set(wanted)
    archives: list[Change] = []
    left: list[str] = []
    for key, existing in stored.items():
        if key in wanted or existing.status != "published":
            continue
        name = label(key, existing)
        if prune:
            archives.append(Change(kind, name, Action.ARCHIVE, row_id=existing.row_id))
        else:
            left.append(f"{kind} {name}")
    return archives, left


def plan_changes(desired: CatalogSpec, state: CatalogState, *, prune: bool = False) -> ChangePlan:
    """What applying ``desired`` to ``state`` does, object by object, in dependency order."""
    changes: list[Change] = []
    for i, meter in enumerate(desired.meters):
        existing = state.meters.get(meter.identity)
        changes.append(_compare("meter", meter.lookup_key, f"meters[{i}]", meter, existing))
    for i, feature in enumerate(desired.features):
        existing_f = state.features.get(feature.lookup_key)
        changes.append(_compare("feature", feature.lookup_key, f"features[{i}]", feature, existing_f))
    for i, plan in enumerate(desired.plans):
        changes.append(
            _compare("plan", plan.lookup_key, f"plans[{i}]", plan, state.plans.get(plan.lookup_key))
        )
    for i, plan in enumerate(desired.plans):
        for j, price in enumerate(plan.prices):
            existing_p = state.prices.get(price.lookup_key)
            path = f"plans[{i}].prices[{j}]"
            change = _compare("price", price.lookup_key, path, price, existing_p, {"plan": plan.lookup_key})
            changes.append(replace(change, parent=plan.lookup_key))
    feature_types = {f.lookup_key: f.type for f in desired.features}
    for i, plan in enumerate(desired.plans):
        for k, ent in enumerate(plan.entitlements):
            existing_e = state.entitlements.get((plan.lookup_key, ent.feature))
            key, path = f"{plan.lookup_key}/{ent.feature}", f"plans[{i}].entitlements[{k}]"
            change = _compare(
                "entitlement", key, path, ent, existing_e, {"feature_type": feature_types[ent.feature]}
            )
            changes.append(replace(change, parent=plan.lookup_key))
    for i, coupon in enumerate(desired.coupons):
        existing_c = state.coupons.get(coupon.lookup_key)
        changes.append(_compare("coupon", coupon.lookup_key, f"coupons[{i}]", coupon, existing_c))
    for i, tax in enumerate(desired.tax_rates):
        changes.append(_compare("tax_rate", tax.code, f"tax_rates[{i}]", tax, state.tax_rates.get(tax.code)))

    left_alone: list[str] = []
    archives: list[Change] = []
    wanted_entitlements = {(p.lookup_key, e.feature) for p in desired.plans for e in p.entitlements}
    groups: list[tuple[str, Mapping[Any, Existing[Any]], Iterable[Any], Any]] = [
        ("entitlement", state.entitlements, wanted_entitlements, lambda k, _: f"{k[0]}/{k[1]}"),
        ("price", state.prices, {p.lookup_key for plan in desired.plans for p in plan.prices}, _key),
        ("plan", state.plans, {p.lookup_key for p in desired.plans}, _key),
        ("feature", state.features, {f.lookup_key for f in desired.features}, _key),
        ("meter", state.meters, {m.identity for m in desired.meters}, _meter_label),
        ("coupon", state.coupons, {c.lookup_key for c in desired.coupons}, _key),
        ("tax_rate", state.tax_rates, {t.code for t in desired.tax_rates}, _key),
    ]
    for kind, stored, wanted, label in groups:
        archived, left = _leftovers(kind, stored, wanted, label, prune)
        archives += archived
        left_alone += left
    return ChangePlan(tuple(changes + archives), tuple(left_alone), tuple(state.unmanaged))


def _key(key: str, _existing: Existing[Any]) -> str:
    return key


def _meter_label(key: tuple[str, str], _existing: Existing[Any]) -> str:
    return f"{key[1]} (event_name {key[0]})"
