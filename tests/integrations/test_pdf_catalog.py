"""Invoice PDFs from catalog rows: print metadata, the document builder and the partition writer.

The invoice rows are produced the way the invoices asset does it: rated with the pure pricing
engine, computed with ``compute_invoice`` and stored with the print-metadata writers.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.billing.invoicing import Coupon, LineInput, TaxRate, compute_invoice
from flexprice_pipelines.billing.pricing import Price, cost_breakdown
from flexprice_pipelines.catalog import NotFound, Repository, Scope, db
from flexprice_pipelines.catalog.models import Customer, Invoice, InvoiceLineItem, TenantSettings
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.integrations.object_store import LocalObjectStore
from flexprice_pipelines.integrations.pdf import (
    invoice_pdf,
    invoice_pdf_key,
    load_invoice_document,
    render_invoice_pdf,
    write_invoice_pdfs,
)
from flexprice_pipelines.integrations.pdf.print_metadata import (
    breakdown_metadata,
    invoice_print_metadata,
    read_breakdown,
)

MAR, APR, MAY = (datetime(2024, m, 1, tzinfo=UTC) for m in (3, 4, 5))
NOW = datetime(2024, 4, 1, 3, tzinfo=UTC)

API_CALLS = Price.model_validate(
    {
        "type": "USAGE",
        "billing_model": "TIERED",
        "tier_mode": "SLAB",
        "tiers": [
            {"up_to": 10, "unit_amount": "50"},
            {"up_to": 20, "unit_amount": "40"},
            {"up_to": None, "unit_amount": "30"},
        ],
        "currency": "usd",
        "billing_period": "MONTHLY",
        "invoice_cadence": "ARREAR",
        "meter_id": "meter_api_calls",
    }
)


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('catalog') / 'catalog.db'}"
    db.migrate(url)
    engine = db.make_engine(url)
    yield db.session_factory(engine)
    engine.dispose()


def new_scope(factory: sessionmaker[Session], name: str, timezone: str = "UTC") -> Scope:
    with factory() as session:
        tenant, env, _ = create_tenant(session, name, now=NOW)
        scope = Scope(tenant.id, env.id)
        Repository(session, scope, TenantSettings).find_one().timezone = timezone  # type: ignore[union-attr]
        session.commit()
        return scope


def store_invoice(
    session: Session,
    scope: Scope,
    *,
    number: str | None,
    status: str = "FINALIZED",
    usage: str = "25",
    period: tuple[datetime, datetime] = (MAR, APR),
) -> Invoice:
    """Rate, compute and store one invoice with its lines, as the invoices asset does."""
    customer = Repository(session, scope, Customer).find_one(external_id="globex") or Repository(
        session, scope, Customer
    ).create(
        external_id="globex",
        name="Globex Corporation",
        email="ap@globex.test",
        address_line1="Hauptstraße 5",
        address_city="Berlin",
        address_postal_code="10115",
        address_country="DE",
    )
    start, end = period
    breakdown = cost_breakdown(API_CALLS, D(usage))
    inputs = [
        LineInput(
            line_id="line-usage",
            price_type="USAGE",
            amount=sum((t.amount for t in breakdown), D(0)),
            quantity=D(usage),
            currency="usd",
            display_name="API calls",
            period_start=start,
            period_end=end,
            breakdown=tuple(breakdown),
        ),
        LineInput(
            line_id="line-fixed",
            price_type="FIXED",
            amount=D("99"),
            quantity=D(1),
            currency="usd",
            display_name="Platform fee",
            period_start=end,
            period_end=MAY if end == APR else end.replace(month=end.month + 1),
        ),
    ]
    computation = compute_invoice(
        inputs,
        "usd",
        invoice_coupons=[Coupon(id="coupon_welcome", type="percentage", percentage_off=D(10))],
        wallet_credit_available=D(20),
        tax_rates=[TaxRate(id="taxrate_ca", name="CA sales tax", percentage_value=D("8.875"))],
    )
    invoice = Repository(session, scope, Invoice).create(
        customer_id=customer.id,
        billing_reason="SUBSCRIPTION_CYCLE",
        currency="usd",
        invoice_status=status,
        invoice_number=number,
        subtotal=computation.subtotal,
        total_discount=computation.total_discount,
        total_prepaid_credits_applied=computation.total_credits,
        total_tax=computation.total_tax,
        total=computation.total,
        amount_due=computation.amount_due,
        amount_remaining=computation.amount_due,
        period_start=start,
        period_end=end,
        due_date=datetime(2024, 4, 15, tzinfo=UTC),
        finalized_at=NOW if status == "FINALIZED" else None,
        metadata=invoice_print_metadata(computation, {"coupon_welcome": "WELCOME10"}),
    )
    for line in computation.lines:
        Repository(session, scope, InvoiceLineItem).create(
            invoice_id=invoice.id,
            customer_id=customer.id,
            price_type=line.price_type.value,
            display_name=line.display_name,
            plan_display_name="Pro plan",
            amount=line.amount,
            quantity=line.quantity,
            currency="usd",
            period_start=line.period_start,
            period_end=line.period_end,
            metadata={"breakdown": breakdown_metadata(line.breakdown)},
        )
    return invoice


def squash(pdf: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return re.sub(r"\s+", " ", out.stdout.decode())


def test_document_from_catalog_rows(factory: sessionmaker[Session]) -> None:
    scope = new_scope(factory, "Acme Metering", timezone="Asia/Kolkata")
    with factory() as session:
        invoice = store_invoice(session, scope, number="INV-202404-00001")
        session.commit()
        doc = load_invoice_document(session, scope, invoice.id)

    assert doc.issuer.name == "Acme Metering"
    assert doc.customer.name == "Globex Corporation"
    assert doc.customer.address_lines == ("Hauptstraße 5", "10115 Berlin", "DE")
    assert doc.customer.reference == "globex"
    assert doc.timezone == "Asia/Kolkata"
    assert [line.display_name for line in doc.lines] == ["Platform fee", "API calls"]
    usage = doc.lines[1]
    # SLAB tiers A at 25 units: 10×50 + 10×40 + 5×30; tax 8.875% of (1149 − 114.90) = 91.776375.
    assert [(t.tier_index, t.quantity, t.amount) for t in usage.tiers] == [
        (0, D(10), D(500)),
        (1, D(10), D(400)),
        (2, D(5), D(150)),
    ]
    assert (doc.subtotal, doc.total_discount, doc.total_credits) == (D("1149.00"), D("114.90"), D("20.00"))
    assert [(t.label, t.rate, t.amount) for t in doc.taxes] == [("CA sales tax", D("8.875"), D("91.78"))]
    assert [(d.label, d.amount) for d in doc.discounts] == [("WELCOME10", D("114.90"))]
    assert doc.total == doc.amount_due == D("1105.88")

    text = squash(render_invoice_pdf(doc))
    assert "Platform fee 1 $99.00 $99.00" in text  # unit price derived: no breakdown on a fixed line
    assert "Tier 3 · over 20 5 $30.00 $150.00" in text
    assert "CA sales tax (8.875%) $91.78" in text
    assert "Amount due $1,105.88" in text
    assert "1 Apr 2024" in text  # finalized 03:00 UTC is 08:30 in Kolkata


def test_another_tenant_cannot_load_the_invoice(factory: sessionmaker[Session]) -> None:
    scope = new_scope(factory, "Owner")
    other = new_scope(factory, "Intruder")
    with factory() as session:
        invoice = store_invoice(session, scope, number="INV-202404-00001")
        session.commit()
        with pytest.raises(NotFound):
            load_invoice_document(session, other, invoice.id)


def test_write_invoice_pdfs_for_a_partition(factory: sessionmaker[Session], tmp_path: Path) -> None:
    scope = new_scope(factory, "Partitioned")
    store = LocalObjectStore(tmp_path / "pdfs")
    with factory() as session:
        finalized = [store_invoice(session, scope, number=f"INV-202404-0000{i}") for i in (1, 2)]
        draft = store_invoice(session, scope, number=None, status="DRAFT")
        next_month = store_invoice(session, scope, number="INV-202405-00001", period=(APR, MAY))
        session.commit()

        summary = write_invoice_pdfs(session, scope, "2024-04-01", store)
        session.commit()
        assert (summary.invoices, summary.rendered, summary.skipped_existing) == (2, 2, 0)
        assert summary.bytes_written > 0
        for invoice in finalized:
            key = invoice_pdf_key(scope, invoice.id)
            assert key == f"invoices/{scope.tenant_id}/{scope.environment_id}/{invoice.id}.pdf"
            pdf = store.get(key)
            assert pdf.startswith(b"%PDF-")
            assert invoice.invoice_number in squash(pdf)
            session.refresh(invoice)
            assert invoice.invoice_pdf_url == store.url_for(key)
        assert not store.exists(invoice_pdf_key(scope, draft.id))
        assert not store.exists(invoice_pdf_key(scope, next_month.id))

        # A re-run finds its PDFs; forcing it rewrites identical bytes.
        before = {inv.id: store.get(invoice_pdf_key(scope, inv.id)) for inv in finalized}
        again = write_invoice_pdfs(session, scope, "2024-04", store)
        assert (again.rendered, again.skipped_existing, again.bytes_written) == (0, 2, 0)
        forced = write_invoice_pdfs(session, scope, "2024-04", store, overwrite=True)
        assert forced.rendered == 2
        assert {inv.id: store.get(invoice_pdf_key(scope, inv.id)) for inv in finalized} == before

        # Explicit ids: drafts are ignored even when named.
        chosen = write_invoice_pdfs(session, scope, "2024-05", store, invoice_ids=[next_month.id, draft.id])
        assert (chosen.invoices, chosen.rendered) == (1, 1)
        assert store.exists(invoice_pdf_key(scope, next_month.id))


@pytest.mark.parametrize("period", ["2024", "2024-13", "2024-04-15", "April"])
def test_bad_period_keys_are_refused(factory: sessionmaker[Session], tmp_path: Path, period: str) -> None:
    scope = new_scope(factory, f"Bad period {period}")
    with factory() as session, pytest.raises(ValueError):
        write_invoice_pdfs(session, scope, period, LocalObjectStore(tmp_path))


@settings(max_examples=100, deadline=None)
@given(quantity=st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False))
def test_breakdown_survives_the_json_round_trip(quantity: D) -> None:
    rows = cost_breakdown(API_CALLS, quantity)
    restored = read_breakdown({"breakdown": breakdown_metadata(rows)})
    assert [
        (r.tier_index, r.from_quantity, r.up_to, r.quantity, r.unit_amount, r.flat_amount, r.amount)
        for r in restored
    ] == [
        (t.tier_index, t.from_quantity, t.up_to, t.quantity, t.unit_amount, t.flat_amount, t.amount)
        for t in rows
    ]
    assert sum((r.amount for r in restored), D(0)) == sum((t.amount for t in rows), D(0))


def test_invoice_pdf_for_the_api_prefers_the_stored_file(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    scope = new_scope(factory, "Api reader")
    other = new_scope(factory, "Api intruder")
    store = LocalObjectStore(tmp_path)
    with factory() as session:
        finalized = store_invoice(session, scope, number="INV-202404-00001")
        draft = store_invoice(session, scope, number=None, status="DRAFT")
        session.commit()
        rendered = render_invoice_pdf(load_invoice_document(session, scope, finalized.id))
        # Not stored yet: rendered on the fly, identical to what the pipeline will store, nothing written.
        assert invoice_pdf(session, scope, finalized.id, store) == rendered
        assert not store.exists(invoice_pdf_key(scope, finalized.id))
        store.put(invoice_pdf_key(scope, finalized.id), b"%PDF-stored")
        assert invoice_pdf(session, scope, finalized.id, store) == b"%PDF-stored"
        assert "DRAFT" in squash(invoice_pdf(session, scope, draft.id, store))
        with pytest.raises(NotFound):
            invoice_pdf(session, other, finalized.id, store)
