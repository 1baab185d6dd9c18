"""Stripe request parameters built from our catalog rows (no I/O).

Amounts are integer minor units by currency precision (``to_minor_units``: ×1 for jpy, ×1000 for
kwd; Flexprice multiplies by 100 everywhere). Each Stripe item carries the line's amount net of its
coupon discount and prepaid credit, and each tax line is one more item, so the Stripe invoice total
equals our ``total``; a mismatch refuses the invoice instead of billing a different amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flexprice_pipelines.billing.errors import InvalidInvoice
from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.billing.money import ensure_decimal, to_minor_units
from flexprice_pipelines.catalog.models import Customer, Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.scope import Scope

SYNC_SOURCE = "flexprice"


@dataclass(frozen=True, slots=True)
class StripeItem:
    """One Stripe invoice item: ``item_id`` is our line id (or a tax line's deterministic id)."""

    item_id: str
    entity_type: str  # invoice_line_item | invoice_tax_line (the integration mapping's type)
    amount: int
    description: str
    metadata: dict[str, str]
    period: tuple[int, int] | None = None


def _meta(**values: object) -> dict[str, str]:
    # Stripe metadata values are strings; an empty string would unset the key, so absent ids are left out.
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def customer_params(scope: Scope, customer: Customer) -> dict[str, Any]:
    """Parameters of ``customers.create`` for our customer."""
    params: dict[str, Any] = {
        "name": customer.name,
        "metadata": _meta(
            flexprice_customer_id=customer.id,
            flexprice_external_id=customer.external_id,
            flexprice_tenant_id=scope.tenant_id,
            flexprice_environment_id=scope.environment_id,
            sync_source=SYNC_SOURCE,
        ),
    }
    if customer.email:
        params["email"] = customer.email
    return params


def invoice_params(scope: Scope, invoice: Invoice, stripe_customer_id: str) -> dict[str, Any]:
    """Parameters of ``invoices.create``: a draft that pulls in no pending items of the customer."""
    params: dict[str, Any] = {
        "customer": stripe_customer_id,
        "currency": invoice.currency.lower(),
        "collection_method": "charge_automatically",
        "auto_advance": True,
        # Only the items we attach explicitly belong on this invoice.
        "pending_invoice_items_behavior": "exclude",
        "metadata": _meta(
            flexprice_invoice_id=invoice.id,
            flexprice_customer_id=invoice.customer_id,
            flexprice_subscription_id=invoice.subscription_id,
            flexprice_invoice_number=invoice.invoice_number,
            flexprice_tenant_id=scope.tenant_id,
            flexprice_environment_id=scope.environment_id,
            sync_source=SYNC_SOURCE,
        ),
    }
    if invoice.description:
        params["description"] = invoice.description
    return params


def item_params(
    item: StripeItem, invoice: Invoice, stripe_customer_id: str, stripe_invoice_id: str
) -> dict[str, Any]:
    """Parameters of ``invoiceitems.create`` attaching ``item`` to the draft Stripe invoice."""
    params: dict[str, Any] = {
        "customer": stripe_customer_id,
        "invoice": stripe_invoice_id,
        "currency": invoice.currency.lower(),
        "amount": item.amount,
        "description": item.description,
        "metadata": item.metadata,
    }
    if item.period is not None:
        params["period"] = {"start": item.period[0], "end": item.period[1]}
    return params


def _line_net(line: InvoiceLineItem) -> Decimal:
    meta = line.metadata_ or {}
    discount = ensure_decimal(meta.get("discount") or "0", "discount")
    credits = ensure_decimal(meta.get("credits_applied") or "0", "credits_applied")
    return line.amount - discount - credits


def stripe_items(invoice: Invoice, lines: Sequence[InvoiceLineItem]) -> list[StripeItem]:
    """The Stripe items of ``invoice``: one per line (ordered by id), then one per tax line.

    Raises ``InvalidInvoice`` when a line's currency differs or the items do not add up to the total.
    """
    currency = invoice.currency
    items: list[StripeItem] = []
    for line in sorted(lines, key=lambda x: x.id):
        if line.currency.lower() != currency.lower():
            raise InvalidInvoice(
                f"line {line.id} is in {line.currency}, invoice in {currency}", field="currency"
            )
        period = None
        if line.period_start is not None and line.period_end is not None:
            period = (int(line.period_start.timestamp()), int(line.period_end.timestamp()))
        items.append(
            StripeItem(
                item_id=line.id,
                entity_type="invoice_line_item",
                amount=to_minor_units(_line_net(line), currency),
                description=line.display_name or line.price_type or "charge",
                metadata=_meta(
                    flexprice_invoice_id=invoice.id,
                    flexprice_line_item_id=line.id,
                    flexprice_price_id=line.price_id,
                    sync_source=SYNC_SOURCE,
                ),
                period=period,
            )
        )
    for tax in (invoice.metadata_ or {}).get("tax_lines", []):
        tax_id = deterministic_id("taxline", invoice.id, tax["tax_rate_id"])
        items.append(
            StripeItem(
                item_id=tax_id,
                entity_type="invoice_tax_line",
                amount=to_minor_units(ensure_decimal(tax["tax_amount"], "tax_amount"), currency),
                description=f"Tax: {tax.get('name') or tax['tax_rate_id']}",
                metadata=_meta(
                    flexprice_invoice_id=invoice.id,
                    flexprice_tax_rate_id=tax["tax_rate_id"],
                    sync_source=SYNC_SOURCE,
                ),
            )
        )
    expected = to_minor_units(invoice.total, currency)
    got = sum(item.amount for item in items)
    if got != expected:
        raise InvalidInvoice(
            f"Stripe items add up to {got} minor units, the invoice total is {expected}", field="total"
        )
    return items
