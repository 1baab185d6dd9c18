"""Invoices → HubSpot through the real hubspot-api-client against the local stub."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from hubspot import HubSpot
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import Customer, EntityIntegrationMapping, Invoice
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.integrations.hubspot import SyncSummary, sync_invoices_to_hubspot
from tests.support.hubspot_stub import HubSpotStub

FINALIZED_AT = datetime(2025, 3, 1, 0, 5, tzinfo=UTC)


@contextmanager
def session_of(app: FastAPI) -> Iterator[Session]:
    with app.state.database.session() as session:
        yield session
        session.commit()


class Books:
    """One tenant's customers and invoices in the catalog."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        with session_of(app) as session:
            tenant, env, _ = create_tenant(session, "crm")
        self.scope = Scope(tenant.id, env.id)
        self.numbers = iter(range(1, 10_000))

    def customer(self, name: str, email: str | None = None) -> str:
        with session_of(self.app) as session:
            row = Repository(session, self.scope, Customer).create(external_id=name, name=name, email=email)
            return row.id

    def invoice(self, customer_id: str, total: str, status: str = "FINALIZED") -> str:
        with session_of(self.app) as session:
            row = Repository(session, self.scope, Invoice).create(
                customer_id=customer_id,
                invoice_status=status,
                billing_reason="SUBSCRIPTION_CYCLE",
                currency="usd",
                total=Decimal(total),
                finalized_at=FINALIZED_AT if status == "FINALIZED" else None,
                invoice_number=f"INV-202503-{next(self.numbers):05d}" if status == "FINALIZED" else None,
            )
            return row.id

    def sync(self, client: HubSpot) -> SyncSummary:
        with session_of(self.app) as session:
            invoices = Repository(session, self.scope, Invoice).list(limit=1000).items
            return sync_invoices_to_hubspot(session, self.scope, invoices, client)

    def mapped(self, entity_id: str, provider_type: str) -> str:
        with session_of(self.app) as session:
            mapping = Repository(session, self.scope, EntityIntegrationMapping).find_one(
                entity_id=entity_id, provider_type=provider_type
            )
            assert mapping is not None
            return mapping.provider_entity_id

    def update(self, model: Any, id: str, **values: Any) -> None:
        with session_of(self.app) as session:
            Repository(session, self.scope, model).update(id, **values)


def counts(stub: HubSpotStub) -> tuple[int, int, int]:
    return stub.count("companies"), stub.count("contacts"), stub.count("deals")


def test_first_sync_creates_company_contact_and_a_deal_per_invoice(
    app: FastAPI, stub: HubSpotStub, hubspot: HubSpot
) -> None:
    books = Books(app)
    acme = books.customer("Acme", "ops@acme.test")
    globex = books.customer("Globex")
    first = books.invoice(acme, "1234.50")
    books.invoice(acme, "10.00")
    books.invoice(globex, "99.99")
    books.invoice(globex, "5.00", status="DRAFT")

    summary = books.sync(hubspot)

    assert (summary.synced, summary.skipped, summary.failures) == (3, 1, [])
    assert summary.created == Counter(companies=2, contacts=1, deals=3)
    assert counts(stub) == (2, 1, 3)
    deal_id = books.mapped(first, "hubspot_deal")
    deal = hubspot.crm.deals.basic_api.get_by_id(deal_id)
    assert deal.properties["amount"] == "1234.50"
    assert deal.properties["deal_currency_code"] == "USD"
    assert deal.properties["closedate"] == "2025-03-01T00:05:00.000Z"
    assert "INV-202503-00001" in deal.properties["dealname"]
    company_id, contact_id = books.mapped(acme, "hubspot_company"), books.mapped(acme, "hubspot_contact")
    links = {a["to"]["id"] for a in stub.objects["deals"][deal_id]["associations"]}
    assert links == {company_id, contact_id}
    assert hubspot.crm.contacts.basic_api.get_by_id(contact_id).properties["email"] == "ops@acme.test"


def test_a_rerun_updates_the_same_objects_instead_of_duplicating(
    app: FastAPI, stub: HubSpotStub, hubspot: HubSpot
) -> None:
    books = Books(app)
    acme = books.customer("Acme", "ops@acme.test")
    invoice = books.invoice(acme, "100.00")
    books.sync(hubspot)
    before = counts(stub)
    books.update(Customer, acme, name="Acme Inc")
    books.update(Invoice, invoice, total=Decimal("120.00"))

    summary = books.sync(hubspot)

    assert counts(stub) == before == (1, 1, 1)
    assert summary.created == Counter() and summary.updated == Counter(companies=1, contacts=1, deals=1)
    assert stub.requests[("POST", "deals")] == 1 and stub.requests[("PATCH", "deals")] == 1
    deal = hubspot.crm.deals.basic_api.get_by_id(books.mapped(invoice, "hubspot_deal"))
    assert deal.properties["amount"] == "120.00" and deal.properties["dealname"].startswith("Acme Inc")
    company = hubspot.crm.companies.basic_api.get_by_id(books.mapped(acme, "hubspot_company"))
    assert company.properties["name"] == "Acme Inc"


def test_one_customers_failure_does_not_block_the_others(
    app: FastAPI, stub: HubSpotStub, hubspot: HubSpot
) -> None:
    books = Books(app)
    broken = books.customer("Broken Co")
    healthy = [books.customer(f"Healthy {n}") for n in range(3)]
    broken_invoice = books.invoice(broken, "50.00")
    for customer_id in healthy:
        books.invoice(customer_id, "10.00")
    stub.fail_when(lambda r: r.object_type == "companies" and r.properties.get("name") == "Broken Co", 500)

    summary = books.sync(hubspot)

    assert summary.synced == 3 and summary.retryable
    [failure] = summary.failures
    assert (failure.invoice_id, failure.customer_id, failure.status) == (broken_invoice, broken, 500)
    assert failure.object_type == "companies"
    assert counts(stub) == (3, 0, 3)

    stub.clear_failures()
    retried = books.sync(hubspot)
    assert (retried.synced, retried.failures) == (4, [])
    assert retried.created == Counter(companies=1, deals=1)
    assert counts(stub) == (4, 0, 4)


def test_a_deal_failure_keeps_the_created_company_for_the_rerun(
    app: FastAPI, stub: HubSpotStub, hubspot: HubSpot
) -> None:
    books = Books(app)
    acme = books.customer("Acme", "ops@acme.test")
    books.invoice(acme, "10.00")
    stub.fail_when(lambda r: r.method == "POST" and r.object_type == "deals", 429, times=1)

    first = books.sync(hubspot)
    second = books.sync(hubspot)

    assert [(f.object_type, f.status, f.retryable) for f in first.failures] == [("deals", 429, True)]
    assert second.failures == [] and second.created == Counter(deals=1)
    assert counts(stub) == (1, 1, 1)


def test_an_object_deleted_in_hubspot_is_recreated_and_remapped(
    app: FastAPI, stub: HubSpotStub, hubspot: HubSpot
) -> None:
    books = Books(app)
    acme = books.customer("Acme")
    invoice = books.invoice(acme, "10.00")
    books.sync(hubspot)
    old_deal = books.mapped(invoice, "hubspot_deal")
    del stub.objects["deals"][old_deal]

    summary = books.sync(hubspot)

    new_deal = books.mapped(invoice, "hubspot_deal")
    assert summary.created == Counter(deals=1) and new_deal != old_deal
    assert set(stub.objects["deals"]) == {new_deal}


def test_client_errors_are_not_retryable_and_transport_errors_are(app: FastAPI, stub: HubSpotStub) -> None:
    books = Books(app)
    books.invoice(books.customer("Acme"), "10.00")
    stub.fail_when(lambda r: r.object_type == "companies", 400)
    rejected = books.sync(HubSpot(access_token=stub.access_token, host=stub.url))
    unauthorized = books.sync(HubSpot(access_token="wrong", host=stub.url))
    unreachable = books.sync(HubSpot(access_token=stub.access_token, host="http://127.0.0.1:9"))

    assert [(f.status, f.retryable) for f in rejected.failures] == [(400, False)]
    assert [(f.status, f.retryable) for f in unauthorized.failures] == [(401, False)]
    [down] = unreachable.failures
    assert down.status is None and down.retryable and down.message.startswith("transport")


def test_the_stub_rejects_properties_hubspot_would_not_know(stub: HubSpotStub) -> None:
    status, body = stub.handle(
        "POST",
        "/crm/v3/objects/deals",
        {"authorization": f"Bearer {stub.access_token}"},
        b'{"properties": {"flexprice_invoice_id": "inv_1"}}',
    )
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
