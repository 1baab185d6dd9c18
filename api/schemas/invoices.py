"""Invoice bodies (Flexprice ``/invoices``; the pipeline writes invoices, the API reads and voids them)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from api.schemas.common import AuditPublic, DecimalOut, InputModel, LongText, metadata_out


def string_map(value: Any) -> dict[str, str]:
    """Stored metadata as Flexprice's ``map[string]string``: strings as they are, nulls dropped, any other
    value (a list, a number, a nested map) as its compact JSON text (``["a","b"]``, ``2``, ``true``);
    a decimal or a time inside it as its text."""
    if not value:
        return {}
    return {
        str(key): item if isinstance(item, str) else json.dumps(item, separators=(",", ":"), default=str)
        for key, item in dict(value).items()
        if item is not None
    }


StringMetadataOut = Annotated[dict[str, str], BeforeValidator(string_map)]
"""An invoice's and its lines' ``metadata``: the pipeline stores lists and nulls there; the API answers strings."""


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
    metadata: StringMetadataOut = metadata_out()


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
    metadata: StringMetadataOut = metadata_out()
    line_items: list[InvoiceLinePublic] = Field(default_factory=list)
