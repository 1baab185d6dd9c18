"""Prices and entitlements attached to a plan (or subscription), and plans with both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from api.schemas.entitlements import EntitlementFields, EntitlementPublic
from api.schemas.plans import PlanCreate, PlanPublic
from api.schemas.prices import PriceFields, PricePublic
from api.services.validation import price_columns, validate_price
from flexprice_pipelines.billing.entitlements import FeatureType
from flexprice_pipelines.billing.errors import InvalidEntitlement
from flexprice_pipelines.catalog import CatalogSession, NotFound
from flexprice_pipelines.catalog.models import Entitlement, Feature, Plan, Price

EntityType = Literal["PLAN", "SUBSCRIPTION"]


def _repathed(exc: NotFound, prefix: str) -> NotFound:
    return NotFound(exc.entity, exc.id, field=f"{prefix}.{exc.field}" if exc.field else prefix)


def create_price(
    catalog: CatalogSession, fields: PriceFields, entity_type: EntityType, entity_id: str, prefix: str
) -> Price:
    """Validate a price against §3 and attach it to its plan or subscription."""
    price = validate_price(fields, prefix)
    try:
        return catalog.repo(Price).create(
            **price_columns(fields, price), entity_type=entity_type, entity_id=entity_id
        )
    except NotFound as exc:
        raise _repathed(exc, prefix) from exc


def create_entitlement(
    catalog: CatalogSession, fields: EntitlementFields, entity_type: EntityType, entity_id: str, prefix: str
) -> Entitlement:
    """Attach a feature entitlement; the limit and value must fit the feature's type (§7)."""
    try:
        feature = catalog.repo(Feature).get(fields.feature_id)
    except NotFound as exc:
        raise NotFound("feature", fields.feature_id, field=f"{prefix}.feature_id") from exc
    kind = FeatureType(feature.type)
    if fields.feature_type is not None and fields.feature_type is not kind:
        raise InvalidEntitlement(f"the feature is {kind.value}", field=f"{prefix}.feature_type")
    if fields.usage_limit is not None and kind is not FeatureType.METERED:
        raise InvalidEntitlement("only metered features have a usage limit", field=f"{prefix}.usage_limit")
    if kind in (FeatureType.STATIC, FeatureType.CONFIG) and fields.static_value is None:
        raise InvalidEntitlement(f"is required for {kind.value} features", field=f"{prefix}.static_value")
    try:
        return catalog.repo(Entitlement).create(
            **fields.model_dump(include=set(EntitlementFields.model_fields) - {"feature_type"}),
            feature_type=kind.value,
            entity_type=entity_type,
            entity_id=entity_id,
        )
    except NotFound as exc:
        raise _repathed(exc, prefix) from exc


def create_plan(catalog: CatalogSession, body: PlanCreate) -> Plan:
    """A plan with its prices and entitlements, all or nothing (the caller commits)."""
    plan = catalog.repo(Plan).create(
        **body.model_dump(include={"name", "lookup_key", "description", "metadata"})
    )
    for index, price in enumerate(body.prices):
        create_price(catalog, price, "PLAN", plan.id, f"body.prices.{index}")
    for index, entitlement in enumerate(body.entitlements):
        create_entitlement(catalog, entitlement, "PLAN", plan.id, f"body.entitlements.{index}")
    return plan


def plans_public(catalog: CatalogSession, plans: Sequence[Plan]) -> list[PlanPublic]:
    """Plans with all their live prices and entitlements (two queries for the whole page, never cut)."""
    ids = [plan.id for plan in plans]
    prices: dict[str, list[PricePublic]] = {pid: [] for pid in ids}
    entitlements: dict[str, list[EntitlementPublic]] = {pid: [] for pid in ids}
    if ids:
        for price in catalog.repo(Price).each(entity_type="PLAN", entity_id=ids):
            prices[str(price.entity_id)].append(PricePublic.model_validate(price))
        for ent in catalog.repo(Entitlement).each(entity_type="PLAN", entity_id=ids):
            entitlements[ent.entity_id].append(EntitlementPublic.model_validate(ent))
    return [
        PlanPublic.model_validate(plan).model_copy(
            update={"prices": prices[plan.id], "entitlements": entitlements[plan.id]}
        )
        for plan in plans
    ]
