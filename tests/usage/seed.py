"""Catalog rows for usage tests, written through the scoped repository (no stubs of our own code)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import (
    Customer,
    Entitlement,
    Feature,
    Meter,
    Plan,
    Price,
    Subscription,
    SubscriptionLineItem,
)
from flexprice_pipelines.events.schema import Event

_ids = itertools.count()


def uid(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}-{datetime.now(UTC).timestamp()}"


METER_SPECS: dict[str, dict[str, Any]] = {
    "count": {"event_name": "call", "aggregation": {"type": "COUNT"}},
    "sum": {"event_name": "call", "aggregation": {"type": "SUM", "field": "n"}},
    "sum_x": {
        "event_name": "call",
        "aggregation": {"type": "SUM_WITH_MULTIPLIER", "field": "n", "multiplier": "2.5"},
    },
    "avg": {"event_name": "call", "aggregation": {"type": "AVG", "field": "n"}},
    "min": {"event_name": "call", "aggregation": {"type": "MIN", "field": "n"}},
    "max": {"event_name": "call", "aggregation": {"type": "MAX", "field": "n"}},
    "latest": {"event_name": "call", "aggregation": {"type": "LATEST", "field": "n"}},
    "unique": {"event_name": "call", "aggregation": {"type": "COUNT_UNIQUE", "field": "user"}},
    "weighted": {"event_name": "call", "aggregation": {"type": "WEIGHTED_SUM", "field": "n"}},
    "bucket_max": {"event_name": "call", "aggregation": {"type": "MAX", "field": "n", "bucket_size": "HOUR"}},
    "bucket_sum": {"event_name": "call", "aggregation": {"type": "SUM", "field": "n", "bucket_size": "DAY"}},
    "filtered": {
        "event_name": "call",
        "aggregation": {"type": "COUNT"},
        "filters": [{"key": "region", "values": ["eu", "us"]}],
    },
}


@dataclass
class Catalog:
    scope: Scope
    meters: dict[str, Meter] = field(default_factory=dict)
    features: dict[str, Feature] = field(default_factory=dict)


def create_meters(session: Session, scope: Scope, specs: dict[str, dict[str, Any]] = METER_SPECS) -> Catalog:
    catalog = Catalog(scope)
    meters = Repository(session, scope, Meter)
    features = Repository(session, scope, Feature)
    for name, spec in specs.items():
        meter = meters.create(
            name=name, filters=spec.get("filters", []), **{k: v for k, v in spec.items() if k != "filters"}
        )
        catalog.meters[name] = meter
        catalog.features[name] = features.create(
            name=name, lookup_key=uid(name), type="metered", meter_id=meter.id
        )
    session.commit()
    return catalog


def create_feature(session: Session, scope: Scope, kind: str, meter_id: str | None = None) -> Feature:
    feature = Repository(session, scope, Feature).create(
        name=kind, lookup_key=uid(kind), type=kind, meter_id=meter_id
    )
    session.commit()
    return feature


def create_customer(session: Session, scope: Scope, external_id: str | None = None) -> Customer:
    customer = Repository(session, scope, Customer).create(external_id=external_id or uid("ext"), name="Acme")
    session.commit()
    return customer


def create_plan(
    session: Session, scope: Scope, entitlements: list[dict[str, Any]], meter_ids: tuple[str, ...] = ()
) -> Plan:
    plan = Repository(session, scope, Plan).create(name="Pro", lookup_key=uid("plan"))
    for values in entitlements:
        Repository(session, scope, Entitlement).create(entity_type="PLAN", entity_id=plan.id, **values)
    for meter_id in meter_ids:
        Repository(session, scope, Price).create(
            currency="usd",
            type="USAGE",
            billing_model="FLAT_FEE",
            amount=Decimal(1),
            billing_period="MONTHLY",
            invoice_cadence="ARREAR",
            meter_id=meter_id,
            entity_type="PLAN",
            entity_id=plan.id,
        )
    session.commit()
    return plan


def subscribe(
    session: Session,
    scope: Scope,
    customer: Customer,
    plan: Plan,
    start: datetime,
    *,
    tz: str = "UTC",
    billing_period: str = "MONTHLY",
    status: str = "active",
    billed_meter_ids: tuple[str, ...] = (),
) -> Subscription:
    sub = Repository(session, scope, Subscription).create(
        customer_id=customer.id,
        plan_id=plan.id,
        currency="usd",
        billing_anchor=start,
        start_date=start,
        current_period_start=start,
        current_period_end=start + timedelta(days=30),
        billing_period=billing_period,
        subscription_status=status,
        customer_timezone=tz,
    )
    prices = Repository(session, scope, Price)
    for meter_id in billed_meter_ids:
        price = prices.find_one(entity_id=plan.id, meter_id=meter_id)
        assert price is not None
        Repository(session, scope, SubscriptionLineItem).create(
            subscription_id=sub.id,
            customer_id=customer.id,
            plan_id=plan.id,
            price_id=price.id,
            price_type="USAGE",
            meter_id=meter_id,
            currency="usd",
            billing_period=billing_period,
        )
    session.commit()
    return sub


def event(
    scope: Scope,
    customer: str,
    event_id: str,
    timestamp: datetime,
    ingested_at: datetime,
    properties: dict[str, Any] | None = None,
    name: str = "call",
) -> Event:
    return Event(
        tenant_id=scope.tenant_id,
        environment_id=scope.environment_id,
        event_id=event_id,
        event_name=name,
        external_customer_id=customer,
        customer_id=None,
        timestamp=timestamp,
        source=None,
        properties=properties or {},
        ingested_at=ingested_at,
    )


def as_mapping(e: Event) -> dict[str, Any]:
    """The event as ``billing.meters`` reads it."""
    return {
        "event_id": e.event_id,
        "event_name": e.event_name,
        "external_customer_id": e.external_customer_id,
        "timestamp": e.timestamp,
        "properties": e.properties,
        "ingested_at": e.ingested_at,
    }
