"""Real embedded resources for pipeline tests: a migrated SQLite catalog and a DuckDB warehouse in tmp.

``Billing`` builds a tenant's catalog through the scoped repository, lands events in the warehouse
through the warehouse adapter, and materializes one partition with a frozen clock.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import dagster as dg
import pytest
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.models import (
    Coupon,
    CouponAssociation,
    Customer,
    Entitlement,
    Feature,
    Invoice,
    InvoiceLineItem,
    Meter,
    Plan,
    Price,
    Subscription,
    SubscriptionLineItem,
    TaxAssociation,
    TaxRate,
    Wallet,
)
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.defs.billing.assets import ALL_BILLING_ASSETS, BILLING_ASSETS
from flexprice_pipelines.defs.partitions import billing_partition_key
from flexprice_pipelines.defs.resources import CatalogResource, ClockResource, WarehouseResource
from flexprice_pipelines.defs.usage_dbt import DbtUsageResource
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.ledger import operations as ledger
from flexprice_pipelines.warehouse import make_warehouse

_counter = itertools.count()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@dataclass
class Billing:
    """One embedded deployment (catalog + warehouse + Dagster instance) for a test."""

    database_url: str
    warehouse_url: str
    storage: Path
    instance: dg.DagsterInstance
    scopes: dict[str, Scope] = field(default_factory=dict)

    def session(self) -> Session:
        return db.session_factory(db.make_engine(self.database_url))()

    def tenant(self, name: str, *, timezone: str = "UTC", prefix: str = "INV") -> Scope:
        with self.session() as session:
            tenant, env, _ = create_tenant(session, name, now=utc(2025, 1, 1))
            scope = Scope(tenant.id, env.id)
            from flexprice_pipelines.catalog.models import TenantSettings

            settings = Repository(session, scope, TenantSettings).find_one()
            assert settings is not None
            settings.timezone = timezone
            settings.invoice_prefix = prefix
            session.commit()
        self.instance.add_dynamic_partitions("tenants", [scope.tenant_id])
        self.scopes[name] = scope
        return scope

    def create(self, owner: Scope, model: type[Any], /, **values: Any) -> Any:
        with self.session() as session:
            row = Repository(session, owner, model).create(**values)
            session.commit()
            return row

    def subscribe(
        self, owner: Scope, customer: Any, plan: Any, start: datetime, /, **values: Any
    ) -> Subscription:
        """``customer`` on ``plan`` from ``start`` (anchored there, a monthly USD subscription unless
        ``values`` say otherwise)."""
        fields: dict[str, Any] = {
            "customer_id": customer.id,
            "plan_id": plan.id,
            "currency": "usd",
            "billing_anchor": start,
            "start_date": start,
            "current_period_start": start,
            "current_period_end": start,
            "billing_period": "MONTHLY",
        }
        return cast(Subscription, self.create(owner, Subscription, **(fields | values)))

    def events(self, scope: Scope, rows: list[tuple[str, str, datetime, dict[str, Any]]], **kw: Any) -> None:
        """Land events (customer, name, timestamp, properties) through the warehouse adapter."""
        ingested = kw.get("ingested_at", utc(2026, 1, 1))
        events = [
            Event(
                tenant_id=scope.tenant_id,
                environment_id=scope.environment_id,
                event_id=kw.get("event_id") or f"evt_{next(_counter)}",
                event_name=name,
                external_customer_id=customer,
                customer_id=None,
                timestamp=ts,
                source="test",
                properties=props,
                ingested_at=ingested,
            )
            for customer, name, ts, props in rows
        ]
        warehouse = make_warehouse(self.warehouse_url)
        warehouse.ensure_schema()
        warehouse.insert_events(events)
        warehouse.close()

    def bill(
        self,
        scope: Scope,
        period: str,
        now: datetime,
        run_config: dict[str, Any] | None = None,
        *,
        engine: str = "python",
        raise_on_error: bool = True,
    ) -> dg.ExecuteInProcessResult:
        """Materialize the (tenant, period) partition with the clock frozen at ``now``.

        ``engine="dbt"`` runs the real dbt models for usage; ``"python"`` the reference aggregation (faster).
        """
        return dg.materialize(
            ALL_BILLING_ASSETS if engine == "dbt" else BILLING_ASSETS,
            partition_key=billing_partition_key(scope.tenant_id, YearMonth.parse(period)),
            resources={
                "catalog": CatalogResource(database_url=self.database_url),
                "warehouse": WarehouseResource(url=self.warehouse_url, usage_engine=engine),
                "dbt_usage": DbtUsageResource(warehouse_url=self.warehouse_url),
                "clock": ClockResource(frozen_at=now.isoformat()),
                "io_manager": dg.FilesystemIOManager(base_dir=str(self.storage)),
            },
            instance=self.instance,
            run_config=run_config,
            raise_on_error=raise_on_error,
        )

    def invoices(self, scope: Scope, **filters: Any) -> list[Invoice]:
        with self.session() as session:
            statement = Repository(session, scope, Invoice).select().order_by(Invoice.period_end, Invoice.id)
            for key, value in filters.items():
                statement = statement.where(getattr(Invoice, key) == value)
            return list(session.scalars(statement))

    def lines(self, scope: Scope, invoice_id: str) -> list[InvoiceLineItem]:
        with self.session() as session:
            statement = (
                Repository(session, scope, InvoiceLineItem)
                .select()
                .where(InvoiceLineItem.invoice_id == invoice_id)
                .order_by(InvoiceLineItem.id)
            )
            return list(session.scalars(statement))

    def snapshot(self, scope: Scope) -> list[tuple[Any, ...]]:
        """Everything that identifies the tenant's invoices: ids, numbers, statuses, amounts and lines."""
        rows = []
        for inv in self.invoices(scope):
            lines = [(x.id, x.display_name, x.amount, x.quantity) for x in self.lines(scope, inv.id)]
            rows.append(
                (
                    inv.id,
                    inv.invoice_number,
                    inv.invoice_status,
                    inv.subtotal,
                    inv.total_discount,
                    inv.total_prepaid_credits_applied,
                    inv.total_tax,
                    inv.total,
                    tuple(lines),
                )
            )
        return rows

    def wallet_balance(self, scope: Scope, wallet_id: str) -> Decimal:
        with self.session() as session:
            return Repository(session, scope, Wallet).get(wallet_id).credit_balance


@pytest.fixture
def billing(tmp_path: Path) -> Iterator[Billing]:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db.migrate(url)
    with dg.instance_for_test() as instance:
        yield Billing(url, f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path / "io", instance)


def monthly_usage_plan(
    b: Billing,
    scope: Scope,
    *,
    external_id: str = "acme",
    currency: str = "usd",
    start: datetime | None = None,
    with_extras: bool = True,
) -> dict[str, str]:
    """The worked-example catalog: tiered + package + flat usage, a fixed advance fee,
    100 included API calls, a 10 % coupon, 8.875 % tax and a 25.00 prepaid wallet."""
    start = start or utc(2026, 1, 1)
    customer = b.create(scope, Customer, external_id=external_id, name=external_id.title())
    api = b.create(scope, Meter, event_name="api_call", name="API calls", aggregation={"type": "COUNT"})
    storage = b.create(
        scope, Meter, event_name="storage", name="Storage", aggregation={"type": "SUM", "field": "gb"}
    )
    emails = b.create(scope, Meter, event_name="email_sent", name="Emails", aggregation={"type": "COUNT"})
    plan = b.create(scope, Plan, name="Pro")
    common = {"currency": currency, "billing_period": "MONTHLY", "entity_type": "PLAN", "entity_id": plan.id}
    prices = {
        "api": b.create(
            scope,
            Price,
            type="USAGE",
            billing_model="TIERED",
            tier_mode="SLAB",
            invoice_cadence="ARREAR",
            meter_id=api.id,
            tiers=[
                {"up_to": 1000, "unit_amount": "0.01"},
                {"up_to": 5000, "unit_amount": "0.008"},
                {"up_to": None, "unit_amount": "0.005"},
            ],
            **common,
        ),
        "storage": b.create(
            scope,
            Price,
            type="USAGE",
            billing_model="PACKAGE",
            amount=Decimal(5),
            transform_quantity={"divide_by": 10, "round": "up"},
            invoice_cadence="ARREAR",
            meter_id=storage.id,
            **common,
        ),
        "emails": b.create(
            scope,
            Price,
            type="USAGE",
            billing_model="FLAT_FEE",
            amount=Decimal("0.002"),
            invoice_cadence="ARREAR",
            meter_id=emails.id,
            **common,
        ),
        "platform": b.create(
            scope,
            Price,
            type="FIXED",
            billing_model="FLAT_FEE",
            amount=Decimal(49) if currency != "jpy" else Decimal(4900),
            invoice_cadence="ADVANCE",
            **common,
        ),
    }
    if currency == "jpy":
        return _subscribe(b, scope, customer, plan, prices, currency, start, with_extras=False)
    feature = b.create(scope, Feature, name="API calls", type="metered", meter_id=api.id)
    b.create(
        scope,
        Entitlement,
        entity_type="PLAN",
        entity_id=plan.id,
        feature_id=feature.id,
        feature_type="metered",
        usage_limit=100,
    )
    return _subscribe(b, scope, customer, plan, prices, currency, start, with_extras=with_extras)


def _subscribe(
    b: Billing,
    scope: Scope,
    customer: Any,
    plan: Any,
    prices: dict[str, Any],
    currency: str,
    start: datetime,
    *,
    with_extras: bool,
) -> dict[str, str]:
    sub = b.subscribe(scope, customer, plan, start, currency=currency)
    names = {"api": "API calls", "storage": "Storage", "emails": "Emails", "platform": "Platform fee"}
    ids = {"subscription": sub.id, "customer": customer.id, "plan": plan.id}
    for key, price in prices.items():
        item = b.create(
            scope,
            SubscriptionLineItem,
            subscription_id=sub.id,
            customer_id=customer.id,
            plan_id=plan.id,
            price_id=price.id,
            price_type=price.type,
            meter_id=price.meter_id,
            display_name=names[key],
            currency=currency,
            billing_period="MONTHLY",
            invoice_cadence=price.invoice_cadence,
        )
        ids[key] = item.id
    if with_extras:
        coupon = b.create(
            scope,
            Coupon,
            name="Ten off",
            coupon_type="percentage",
            percentage_off=Decimal(10),
            cadence="forever",
        )
        b.create(scope, CouponAssociation, coupon_id=coupon.id, subscription_id=sub.id)
        rate = b.create(
            scope,
            TaxRate,
            name="NY sales tax",
            code=f"ny-{customer.id}",
            tax_rate_type="percentage",
            percentage_value=Decimal("8.875"),
        )
        b.create(scope, TaxAssociation, tax_rate_id=rate.id, entity_type="CUSTOMER", entity_id=customer.id)
        wallet = b.create(scope, Wallet, customer_id=customer.id, currency=currency, wallet_type="PRE_PAID")
        with db.write_session(db.session_factory(db.make_engine(b.database_url))) as session:
            ledger.credit_wallet(session, scope, wallet.id, Decimal(25), now=utc(2025, 12, 1))
        ids["wallet"] = wallet.id
    return ids


def daily_usage_plan(
    b: Billing, scope: Scope, *, external_id: str = "daily", start: datetime
) -> dict[str, str]:
    """A daily subscription billing 1.00 per API call in arrears (no fixed charges, no extras)."""
    customer = b.create(scope, Customer, external_id=external_id, name=external_id.title())
    meter = b.create(scope, Meter, event_name="api_call", name="API calls", aggregation={"type": "COUNT"})
    plan = b.create(scope, Plan, name="Daily")
    price = b.create(
        scope,
        Price,
        type="USAGE",
        billing_model="FLAT_FEE",
        amount=Decimal(1),
        currency="usd",
        billing_period="DAILY",
        invoice_cadence="ARREAR",
        meter_id=meter.id,
        entity_type="PLAN",
        entity_id=plan.id,
    )
    sub = b.subscribe(scope, customer, plan, start, billing_period="DAILY")
    item = b.create(
        scope,
        SubscriptionLineItem,
        subscription_id=sub.id,
        customer_id=customer.id,
        plan_id=plan.id,
        price_id=price.id,
        price_type="USAGE",
        meter_id=meter.id,
        display_name="API calls",
        currency="usd",
        billing_period="DAILY",
        invoice_cadence="ARREAR",
    )
    return {"subscription": sub.id, "customer": customer.id, "api": item.id}


def worked_example_events(b: Billing, scope: Scope, customer: str = "acme") -> None:
    """January usage: 1,600 API calls, 25.5 GB stored, 250 emails (+ noise outside the window)."""
    rows: list[tuple[str, str, datetime, dict[str, Any]]] = []
    rows += [(customer, "api_call", utc(2026, 1, 2 + i % 28, 12, i % 60), {}) for i in range(1600)]
    rows += [
        (customer, "storage", utc(2026, 1, 5), {"gb": "12"}),
        (customer, "storage", utc(2026, 1, 20), {"gb": Decimal("13.5")}),
    ]
    rows += [(customer, "email_sent", utc(2026, 1, 10, 8, i % 60), {}) for i in range(250)]
    # Half-open window: an event exactly at the end belongs to February.
    rows += [
        (customer, "api_call", utc(2026, 2, 1), {}),
        (customer, "api_call", utc(2025, 12, 31, 23, 59), {}),
    ]
    b.events(scope, rows)


def invoice_by_reason(b: Billing, scope: Scope, reason: str, period_end: datetime) -> Invoice:
    found = [
        inv
        for inv in b.invoices(scope, billing_reason=reason, period_end=period_end)
        if inv.invoice_status != "VOIDED"
    ]
    assert len(found) == 1, found
    return found[0]


__all__ = [
    "Billing",
    "daily_usage_plan",
    "invoice_by_reason",
    "monthly_usage_plan",
    "utc",
    "worked_example_events",
]
