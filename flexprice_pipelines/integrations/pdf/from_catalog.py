"""Build an ``InvoiceDocument`` from catalog rows (invoice, its lines, customer, tenant, settings)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.models import Customer, Invoice, InvoiceLineItem, Tenant, TenantSettings
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.integrations.pdf.document import DocumentLine, InvoiceDocument, Party
from flexprice_pipelines.integrations.pdf.print_metadata import read_breakdown, read_coupons, read_taxes

# Fixed charges first, then usage: the order customers expect and one that never depends on
# the order a query happened to return rows in.
_TYPE_ORDER = {"FIXED": 0, "USAGE": 1}


def customer_party(customer: Customer) -> Party:
    """The 'Bill to' block: name, postal address, email and the customer's external id."""
    locality = " ".join(p for p in (customer.address_postal_code, customer.address_city) if p)
    region = ", ".join(p for p in (locality, customer.address_state) if p)
    lines = (customer.address_line1, customer.address_line2, region, customer.address_country)
    return Party(
        name=customer.name,
        email=customer.email,
        address_lines=tuple(line for line in lines if line),
        reference=customer.external_id,
    )


def _line_sort_key(line: InvoiceLineItem) -> tuple[int, str, str, str]:
    start = line.period_start.isoformat() if line.period_start else ""
    return (_TYPE_ORDER.get(line.price_type or "", 2), start, line.display_name or "", line.id)


def _document_line(line: InvoiceLineItem) -> DocumentLine:
    name = line.display_name or line.meter_display_name or line.plan_display_name or "Charge"
    description = next(
        (d for d in (line.plan_display_name, line.meter_display_name) if d and d != name), None
    )
    return DocumentLine(
        display_name=name,
        description=description,
        price_type=line.price_type or "FIXED",
        quantity=line.quantity,
        amount=line.amount,
        period_start=line.period_start,
        period_end=line.period_end,
        tiers=read_breakdown(line.metadata_),
    )


def build_invoice_document(
    invoice: Invoice,
    line_items: Iterable[InvoiceLineItem],
    customer: Customer,
    tenant: Tenant,
    settings: TenantSettings | None = None,
    *,
    issuer: Party | None = None,
) -> InvoiceDocument:
    """The printable view of ``invoice``: dates in the tenant's time zone, lines fixed-then-usage.

    ``issuer`` replaces the tenant block (the catalog only stores the tenant's name). Coupons and
    taxes come from the invoice's print metadata; without it one 'Discount'/'Tax' row is printed
    from the totals, so the totals block always adds up.
    """
    if customer.id != invoice.customer_id:
        raise ValueError(f"customer {customer.id} does not own invoice {invoice.id}")
    lines = sorted((li for li in line_items if li.invoice_id == invoice.id), key=_line_sort_key)
    names = {li.id: li.display_name or "line" for li in lines}
    return InvoiceDocument(
        invoice_id=invoice.id,
        invoice_number=invoice.invoice_number,
        status=invoice.invoice_status,
        currency=invoice.currency,
        issuer=issuer or Party(name=tenant.name),
        customer=customer_party(customer),
        timezone=settings.timezone if settings is not None else "UTC",
        issued_at=invoice.finalized_at,
        due_at=invoice.due_date,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        description=invoice.description,
        lines=tuple(_document_line(li) for li in lines),
        discounts=read_coupons(invoice.metadata_, names),
        taxes=read_taxes(invoice.metadata_),
        subtotal=invoice.subtotal,
        total_discount=invoice.total_discount,
        total_credits=invoice.total_prepaid_credits_applied,
        total_tax=invoice.total_tax,
        total=invoice.total,
        amount_paid=invoice.amount_paid,
        amount_due=max(Decimal(0), invoice.amount_due - invoice.amount_paid),
    )


def load_invoice_document(
    session: Session, scope: Scope, invoice_id: str, *, issuer: Party | None = None
) -> InvoiceDocument:
    """Read an invoice and everything it prints through scoped repositories (``NotFound`` if missing)."""
    invoice = Repository(session, scope, Invoice).get(invoice_id)
    lines_repo = Repository(session, scope, InvoiceLineItem)
    lines = session.scalars(lines_repo.select().where(InvoiceLineItem.invoice_id == invoice.id)).all()
    customer = Repository(session, scope, Customer).get(invoice.customer_id)
    tenant = session.get(Tenant, scope.tenant_id)
    if tenant is None:
        raise LookupError(f"tenant {scope.tenant_id} does not exist")
    settings = Repository(session, scope, TenantSettings).find_one()
    return build_invoice_document(invoice, lines, customer, tenant, settings, issuer=issuer)
