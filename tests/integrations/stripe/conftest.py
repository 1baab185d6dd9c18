"""Stripe tests: the real ``stripe`` SDK against the local stub, a migrated catalog per backend
(SQLite file, PostgreSQL when reachable) and fresh tenants per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import stripe
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.models import Customer, Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.integrations.stripe.connections import save_connection
from tests.support.stripe_stub import StripeStub

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "sk_test_stub"


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('stripe') / 'catalog.db'}"
        db.migrate(url)
        yield url
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"stripe_test_{uuid.uuid4().hex[:12]}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        db.migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(database_url)
    yield db.session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def stub_server() -> Iterator[StripeStub]:
    with StripeStub() as server:
        yield server


@pytest.fixture
def stub(stub_server: StripeStub) -> StripeStub:
    stub_server.reset()
    return stub_server


def make_client(stub: StripeStub, key: str = SECRET_KEY) -> stripe.StripeClient:
    # No SDK retries: the tests decide when a retry happens.
    return stripe.StripeClient(key, base_addresses={"api": stub.url}, max_network_retries=0)


@pytest.fixture
def client(stub: StripeStub) -> stripe.StripeClient:
    return make_client(stub)


@dataclass
class Line:
    amount: str
    discount: str = "0"
    credits: str = "0"
    name: str = "API calls"


def new_scope(session: Session, name: str = "acme", webhook_secret: str | None = None) -> Scope:
    tenant, env, _ = create_tenant(session, name)
    scope = Scope(tenant.id, env.id)
    save_connection(session, scope, now=NOW, secret_key=SECRET_KEY, webhook_secret=webhook_secret)
    session.commit()
    return scope


def add_customer(session: Session, scope: Scope, external_id: str = "c-1") -> Customer:
    customer = Repository(session, scope, Customer).create(
        external_id=external_id, name=f"Customer {external_id}", email=f"{external_id}@example.test"
    )
    session.commit()
    return customer


def add_invoice(
    session: Session,
    scope: Scope,
    customer: Customer,
    lines: list[Line],
    *,
    currency: str = "usd",
    taxes: list[tuple[str, str]] = (),  # type: ignore[assignment]
    status: str = "FINALIZED",
    number: str | None = None,
) -> Invoice:
    """An invoice as the pipeline writes it: lines with discount/credit metadata, tax lines on the invoice."""
    subtotal = sum((Decimal(x.amount) for x in lines), Decimal(0))
    discount = sum((Decimal(x.discount) for x in lines), Decimal(0))
    credits = sum((Decimal(x.credits) for x in lines), Decimal(0))
    tax = sum((Decimal(t) for _, t in taxes), Decimal(0))
    total = subtotal - discount - credits + tax
    invoice = Repository(session, scope, Invoice).create(
        customer_id=customer.id,
        invoice_status=status,
        billing_reason="SUBSCRIPTION_CYCLE",
        currency=currency,
        subtotal=subtotal,
        total_discount=discount,
        total_prepaid_credits_applied=credits,
        total_tax=tax,
        total=total,
        amount_due=total,
        amount_remaining=total,
        invoice_number=number or f"INV-{uuid.uuid4().hex[:10]}",
        period_start=datetime(2025, 2, 1, tzinfo=UTC),
        period_end=datetime(2025, 3, 1, tzinfo=UTC),
        metadata={"tax_lines": [{"tax_rate_id": r, "name": r.upper(), "tax_amount": t} for r, t in taxes]},
    )
    for line in lines:
        Repository(session, scope, InvoiceLineItem).create(
            invoice_id=invoice.id,
            customer_id=customer.id,
            amount=Decimal(line.amount),
            quantity=Decimal(1),
            currency=currency,
            display_name=line.name,
            period_start=datetime(2025, 2, 1, tzinfo=UTC),
            period_end=datetime(2025, 3, 1, tzinfo=UTC),
            metadata={"discount": line.discount, "credits_applied": line.credits},
        )
    session.commit()
    return invoice
