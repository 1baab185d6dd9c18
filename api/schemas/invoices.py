"""Invoice bodies (Flexprice ``/invoices``; the pipeline writes invoices, the API reads and voids them)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import AuditPublic, DecimalOut, InputModel, LongText, MetadataOut, metadata_out


class VoidRequest(InputModel):
    reason: LongText | None = None


class InvoiceLinePublic(AuditPublic):
    invoice_id: str
    customer_id: str
    subscription_id: str | None
    plan_id: str | None
    price_id: str | None
    meter_id: str | None
    price_type: str | None
    display_name: str | None
    plan_display_name: str | None
    meter_display_name: str | None
    amount: DecimalOut
    quantity: DecimalOut
    currency: str
    period_start: datetime | None
    period_end: datetime | None
    metadata: MetadataOut = metadata_out()


class InvoicePublic(AuditPublic):
    customer_id: str
    subscription_id: str | None
    invoice_type: str
    invoice_status: str
    payment_status: str
    billing_reason: str
    currency: str
    amount_due: DecimalOut
    amount_paid: DecimalOut
    amount_remaining: DecimalOut
    subtotal: DecimalOut
    total_discount: DecimalOut
    total_prepaid_credits_applied: DecimalOut
    total_tax: DecimalOut
    total: DecimalOut
    description: str | None
    billing_period: str | None
    period_start: datetime | None
    period_end: datetime | None
    due_date: datetime | None
    paid_at: datetime | None
    finalized_at: datetime | None
    voided_at: datetime | None
    invoice_number: str | None
    invoice_pdf_url: str | None
    recalculated_invoice_id: str | None
    version: int
    metadata: MetadataOut = metadata_out()
    line_items: list[InvoiceLinePublic] = Field(default_factory=list)
