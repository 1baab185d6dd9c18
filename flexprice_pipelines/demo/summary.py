"""The demo's invoice summary: one row per invoice of the demo months, and its rich table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.table import Table
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.money import currency_precision
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import Customer, Invoice, Subscription


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceRow:
    """What the summary prints for one invoice (amounts as stored, at the currency's precision)."""

    number: str | None
    customer: str
    reason: str
    period_start: str
    period_end: str
    currency: str
    subtotal: Decimal
    discount: Decimal
    credits: Decimal
    tax: Decimal
    total: Decimal
    status: str
    pdf: str | None

    def comparable(self) -> tuple[object, ...]:
        """Everything but the PDF location (whose path holds the run's generated tenant id)."""
        return (
            self.number,
            self.customer,
            self.reason,
            self.period_start,
            self.period_end,
            self.currency,
            self.subtotal,
            self.discount,
            self.credits,
            self.tax,
            self.total,
            self.status,
        )


def _local_date(moment: datetime | None, tz: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz)):%Y-%m-%d}" if moment is not None else ""


def invoice_rows(session: Session, scope: Scope, start: datetime, end: datetime) -> list[InvoiceRow]:
    """Invoices whose period ends in ``[start, end)``, by period end then customer; dates in the customer's zone."""
    customers = {c.id: c.external_id for c in Repository(session, scope, Customer).each()}
    zones = {s.id: s.customer_timezone or "UTC" for s in Repository(session, scope, Subscription).each()}
    statement = (
        Repository(session, scope, Invoice)
        .select()
        .where(Invoice.period_end >= start, Invoice.period_end < end)
        .order_by(Invoice.period_end, Invoice.id)
    )
    rows = []
    for inv in session.scalars(statement):
        tz = zones.get(inv.subscription_id or "", "UTC")
        rows.append(
            InvoiceRow(
                number=inv.invoice_number,
                customer=customers.get(inv.customer_id, inv.customer_id),
                reason=inv.billing_reason,
                period_start=_local_date(inv.period_start, tz),
                period_end=_local_date(inv.period_end, tz),
                currency=inv.currency.upper(),
                subtotal=inv.subtotal,
                discount=inv.total_discount,
                credits=inv.total_prepaid_credits_applied,
                tax=inv.total_tax,
                total=inv.total,
                status=inv.invoice_status,
                pdf=inv.invoice_pdf_url,
            )
        )
    return sorted(rows, key=lambda r: (r.period_end, r.customer, r.reason))


def money(amount: Decimal, currency: str) -> str:
    """``1,234.50`` / ``¥``-style whole yen: the currency's precision, thousands separators."""
    places = currency_precision(currency)
    return f"{amount:,.{places}f}"


def summary_table(rows: list[InvoiceRow]) -> Table:
    """The rich table the demo prints."""
    table = Table(title="Invoices", title_justify="left", show_lines=False)
    for name in ("number", "customer", "reason", "period", "cur"):
        table.add_column(name, no_wrap=True)
    for name in ("subtotal", "discount", "credits", "tax", "total"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for r in rows:
        table.add_row(
            r.number or "—",
            r.customer,
            "create" if r.reason == "SUBSCRIPTION_CREATE" else "cycle",
            f"{r.period_start} → {r.period_end}",
            r.currency,
            money(r.subtotal, r.currency),
            money(-r.discount, r.currency) if r.discount else "",
            money(-r.credits, r.currency) if r.credits else "",
            money(r.tax, r.currency),
            money(r.total, r.currency),
            r.status,
        )
    return table
