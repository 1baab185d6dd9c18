"""A customer's invoice summary (Flexprice ``GET /customers/{id}/invoices/summary``), summed in SQL."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func

from api.schemas.customers import InvoiceSummaries, InvoiceSummary
from flexprice_pipelines.catalog import CatalogSession
from flexprice_pipelines.catalog.models import Invoice, InvoiceLineItem

PAID = ("SUCCEEDED", "OVERPAID", "REFUNDED")


def _count(catalog: CatalogSession, *where: object) -> int:
    statement = catalog.repo(Invoice).select().where(*where).with_only_columns(func.count(Invoice.id))  # type: ignore[arg-type]
    return int(catalog.session.scalar(statement) or 0)


def _charges(catalog: CatalogSession, invoice_ids: Select[Any], price_type: str) -> Decimal:
    return catalog.repo(InvoiceLineItem).total(
        "amount", InvoiceLineItem.invoice_id.in_(invoice_ids), InvoiceLineItem.price_type == price_type
    )


def invoice_summaries(catalog: CatalogSession, customer_id: str, now: datetime) -> InvoiceSummaries:
    """One summary per currency of the customer's FINALIZED invoices, currencies in alphabetical order."""
    invoices = catalog.repo(Invoice)
    finalized = (Invoice.customer_id == customer_id, Invoice.invoice_status == "FINALIZED")
    currencies = sorted(
        set(catalog.session.scalars(invoices.select().where(*finalized).with_only_columns(Invoice.currency)))
    )
    newest = catalog.session.scalars(
        invoices.select()
        .where(*finalized)
        .order_by(Invoice.id.desc())
        .limit(1)
        .with_only_columns(Invoice.currency)
    ).first()
    summaries = []
    for currency in currencies:
        base = (*finalized, Invoice.currency == currency)
        unpaid = (*base, Invoice.payment_status.not_in(PAID))
        overdue = (*unpaid, Invoice.due_date.is_not(None), Invoice.due_date < now)
        unpaid_ids = invoices.select().where(*unpaid).with_only_columns(Invoice.id)

        summaries.append(
            InvoiceSummary(
                customer_id=customer_id,
                currency=currency,
                total_revenue_amount=invoices.total("amount_due", *base),
                total_unpaid_amount=invoices.total("amount_remaining", *unpaid),
                total_overdue_amount=invoices.total("amount_remaining", *overdue),
                total_invoice_count=_count(catalog, *base),
                unpaid_invoice_count=_count(catalog, *unpaid),
                overdue_invoice_count=_count(catalog, *overdue),
                unpaid_usage_charges=_charges(catalog, unpaid_ids, "USAGE"),
                unpaid_fixed_charges=_charges(catalog, unpaid_ids, "FIXED"),
            )
        )
    return InvoiceSummaries(customer_id=customer_id, default_currency=newest, summaries=summaries)
