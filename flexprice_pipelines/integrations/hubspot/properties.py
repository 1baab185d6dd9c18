"""What our customers and invoices look like as HubSpot companies, contacts and deals.

Only HubSpot's standard properties: a portal refuses properties it does not define, and custom ones
would need setting up in every tenant's portal first.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flexprice_pipelines.billing.money import round_amount
from flexprice_pipelines.catalog.models import Customer, Invoice

DEAL_PIPELINE = "default"
# A finalized invoice is revenue the customer has committed to.
DEAL_STAGE = "closedwon"


def _present(values: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def hubspot_datetime(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as HubSpot writes datetime properties."""
    if moment.tzinfo is None:
        raise ValueError("HubSpot datetimes must come from aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def company_properties(customer: Customer) -> dict[str, str]:
    """The company of a customer: its name and postal address."""
    return _present(
        {
            "name": customer.name,
            "address": customer.address_line1,
            "address2": customer.address_line2,
            "city": customer.address_city,
            "state": customer.address_state,
            "zip": customer.address_postal_code,
            "country": customer.address_country,
            "description": f"Flexprice customer {customer.external_id}",
        }
    )


def contact_properties(customer: Customer) -> dict[str, str]:
    """The billing contact of a customer (only customers with an email have one)."""
    if not customer.email:
        raise ValueError("a HubSpot contact needs an email")
    return _present({"email": customer.email, "company": customer.name})


def deal_properties(invoice: Invoice, customer: Customer) -> dict[str, str]:
    """The deal of a finalized invoice: amount in the invoice currency, closed when it was finalized."""
    if invoice.invoice_status != "FINALIZED" or invoice.finalized_at is None or not invoice.invoice_number:
        raise ValueError(f"invoice {invoice.id} is not finalized")
    amount = round_amount(invoice.total, invoice.currency)
    return {
        "dealname": f"{customer.name} — invoice {invoice.invoice_number}",
        "amount": format(amount, "f"),
        "deal_currency_code": invoice.currency.upper(),
        "closedate": hubspot_datetime(invoice.finalized_at),
        "pipeline": DEAL_PIPELINE,
        "dealstage": DEAL_STAGE,
        "description": f"Flexprice invoice {invoice.invoice_number} ({invoice.id})",
    }
