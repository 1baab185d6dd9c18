"""Seed the demo tenant: catalog as code, then customers, subscriptions, coupon, taxes, wallet and grant.

Subscriptions and wallets go through the catalog services the REST API calls
(``catalog.services``), so the demo tenant is one a client could have built over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.subscriptions import NewSubscription
from flexprice_pipelines.billing.wallets import NewWallet, TopUp
from flexprice_pipelines.catalog import CatalogSession, Scope, db
from flexprice_pipelines.catalog.as_code import apply_catalog, load_catalog
from flexprice_pipelines.catalog.models import (
    Coupon,
    CouponAssociation,
    CreditGrant,
    Customer,
    Plan,
    TaxAssociation,
    TaxRate,
    TenantSettings,
)
from flexprice_pipelines.catalog.services.subscriptions import create_subscription
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.demo.scenario import DemoCustomer
from flexprice_pipelines.ledger.wallets import create_wallet, top_up

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
TENANT_NAME = "Nimbus AI (demo)"


@dataclass(frozen=True, slots=True)
class SeededTenant:
    """The demo tenant's scope, its API key and the subscription id of each customer."""

    scope: Scope
    api_key: str
    subscriptions: dict[str, str]
    catalog_summary: str


def seed_tenant(factory: sessionmaker[Session], customers: list[DemoCustomer], now: datetime) -> SeededTenant:
    """Create the tenant, apply ``catalog.yaml`` and subscribe every demo customer, in one transaction."""
    catalog_spec = load_catalog(CATALOG_FILE.read_text(encoding="utf-8"))
    with db.write_session(factory) as session:
        tenant, env, api_key = create_tenant(session, TENANT_NAME, now=now)
        scope = Scope(tenant.id, env.id)
        plan = apply_catalog(session, scope, catalog_spec)
        catalog = CatalogSession(session, scope)
        subscriptions = {c.external_id: _subscribe(catalog, c) for c in customers}
    return SeededTenant(scope, api_key, subscriptions, plan.render().splitlines()[-1])


def _subscribe(catalog: CatalogSession, customer: DemoCustomer) -> str:
    row = catalog.repo(Customer).create(
        external_id=customer.external_id,
        name=customer.name,
        email=customer.email,
        address_country=customer.country,
        metadata={"demo": "true"},
    )
    plan = catalog.repo(Plan).find_one(lookup_key=customer.plan)
    assert plan is not None, f"catalog.yaml has no plan {customer.plan}"
    body = NewSubscription(
        customer_id=row.id,
        plan_id=plan.id,
        currency=customer.currency,
        billing_period=BillingPeriod.MONTHLY,
        billing_cycle=BillingCycle(customer.billing_cycle),
        start_date=customer.start,
        customer_timezone=customer.timezone,
        lookup_key=f"{customer.external_id}-{customer.plan}",
    )
    subscription = create_subscription(catalog, body, customer.start)
    if customer.tax_code is not None:
        _tax(catalog, customer.tax_code, row.id)
    if customer.coupon is not None:
        _coupon(catalog, customer.coupon, subscription.id, customer.start)
    if customer.wallet_credits is not None:
        _prepaid_wallet(catalog, customer, row.id)
    if customer.monthly_grant is not None:
        catalog.repo(CreditGrant).create(
            name="Monthly included credits",
            scope="SUBSCRIPTION",
            subscription_id=subscription.id,
            credits=customer.monthly_grant,
            currency=customer.currency,
            cadence="RECURRING",
            period="MONTHLY",
            period_count=1,
        )
    return subscription.id


def _tax(catalog: CatalogSession, code: str, customer_id: str) -> None:
    rate = catalog.repo(TaxRate).find_one(code=code)
    assert rate is not None, f"catalog.yaml has no tax rate {code}"
    catalog.repo(TaxAssociation).create(tax_rate_id=rate.id, entity_type="CUSTOMER", entity_id=customer_id)


def _coupon(catalog: CatalogSession, lookup_key: str, subscription_id: str, start: datetime) -> None:
    # catalog-as-code keeps a coupon's key in its metadata (Flexprice coupons have no lookup_key).
    coupons = catalog.repo(Coupon).each()
    coupon = next(c for c in coupons if (c.metadata_ or {}).get("lookup_key") == lookup_key)
    catalog.repo(CouponAssociation).create(
        coupon_id=coupon.id, subscription_id=subscription_id, start_date=start
    )


def _prepaid_wallet(catalog: CatalogSession, customer: DemoCustomer, customer_id: str) -> None:
    assert customer.wallet_credits is not None
    wallet = create_wallet(
        catalog,
        NewWallet(customer_id=customer_id, currency=customer.currency, name="Prepaid credits"),
        customer.start,
    )
    # The top-up is dated at the subscription's start, as if bought on sign-up.
    top_up(
        catalog,
        wallet.id,
        TopUp(
            credits_to_add=customer.wallet_credits,
            idempotency_key=f"demo-topup-{customer.external_id}",
            description="Prepaid top-up",
        ),
        customer.start + timedelta(minutes=1),
    )


def open_backfill_window(factory: sessionmaker[Session], scope: Scope, days: int) -> tuple[int, int]:
    """Widen the tenant's event timestamp policy for a historical import; returns the previous bounds."""
    with db.write_session(factory) as session:
        settings = CatalogSession(session, scope).repo(TenantSettings).find_one()
        assert settings is not None
        previous = (settings.event_max_past_days, settings.event_max_future_minutes)
        settings.event_max_past_days = days
    return previous


def close_backfill_window(factory: sessionmaker[Session], scope: Scope, bounds: tuple[int, int]) -> None:
    """Restore the tenant's timestamp policy after the import."""
    with db.write_session(factory) as session:
        settings = CatalogSession(session, scope).repo(TenantSettings).find_one()
        assert settings is not None
        settings.event_max_past_days, settings.event_max_future_minutes = bounds
