"""Customer bodies (Flexprice ``/customers``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from api.schemas.common import (
    AuditPublic,
    DecimalOut,
    InputModel,
    Metadata,
    MetadataOut,
    Name,
    PublicModel,
    Text,
    metadata_out,
    neutral,
)
from api.schemas.taxes import TaxRateOverride

Country = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{2}$"), Field(description="ISO 3166-1 alpha-2.")
]
Short = Annotated[Text, StringConstraints(max_length=100)]
Postal = Annotated[Text, StringConstraints(max_length=20)]


class CustomerFields(InputModel):
    email: Text | None = None
    address_line1: Text | None = None
    address_line2: Text | None = None
    address_city: Short | None = None
    address_state: Short | None = None
    address_postal_code: Postal | None = None
    address_country: Country | None = None
    metadata: Metadata = Field(default_factory=dict)
    # Flexprice's fields we do not implement yet (``neutral()``): its own default passes, anything else
    # is a 400 naming the field.
    timezone: Text | None = neutral(
        "UTC", description="The customer's IANA time zone; customers here are billed in UTC."
    )
    contact: Text | None = neutral(description="A contact number.")
    contact_persons: list[dict[str, Any]] | None = neutral([], description="Named contacts (SDK 2.x).")
    billing_currency: Text | None = neutral(description="The customer's default billing currency (SDK 2.x).")
    tax_treatment: Text | None = neutral(description="How the customer is taxed (SDK 2.x).")
    integration_entity_mapping: list[dict[str, Any]] | None = neutral(
        [], description="Payment-provider mappings (integrations, issue 17)."
    )


class CustomerCreate(CustomerFields):
    external_id: Name = Field(description="Your id for the customer; unique per environment.")
    name: Name
    tax_rate_overrides: list[TaxRateOverride] = Field(
        default_factory=list,
        max_length=50,
        description="Tax rates associated with the new customer (tax associations, entity CUSTOMER), "
        "created with it: all or nothing.",
    )
    onboarding_workflow_name: Text | None = neutral(description="A custom onboarding workflow to start.")
    skip_onboarding_workflow: bool | None = neutral(False, description="Flexprice's onboarding workflow.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "external_id": "acme-1",
                    "name": "Acme Inc",
                    "email": "ops@acme.test",
                    "metadata": {"tier": "gold"},
                }
            ]
        },
    )


class CustomerUpdate(CustomerFields):
    external_id: Name | None = None
    name: Name | None = None


class CustomerPublic(AuditPublic):
    external_id: str
    name: str
    email: str | None
    address_line1: str | None
    address_line2: str | None
    address_city: str | None
    address_state: str | None
    address_postal_code: str | None
    address_country: str | None
    metadata: MetadataOut = metadata_out()


class InvoiceSummary(PublicModel):
    """Flexprice's ``dto.CustomerInvoiceSummary``: one currency of a customer's finalized invoices."""

    customer_id: str
    currency: str
    total_revenue_amount: DecimalOut = Field(description="Sum of amount_due over finalized invoices.")
    total_unpaid_amount: DecimalOut = Field(
        description="Sum of amount_remaining over unpaid finalized invoices."
    )
    total_overdue_amount: DecimalOut = Field(description="The unpaid ones whose due_date has passed.")
    total_invoice_count: int
    unpaid_invoice_count: int
    overdue_invoice_count: int
    unpaid_usage_charges: DecimalOut = Field(description="USAGE line amounts of the unpaid invoices.")
    unpaid_fixed_charges: DecimalOut = Field(description="FIXED line amounts of the unpaid invoices.")


class InvoiceSummaries(PublicModel):
    """Flexprice's ``dto.CustomerMultiCurrencyInvoiceSummary``."""

    customer_id: str
    default_currency: str | None = Field(
        description="The currency of the customer's newest finalized invoice."
    )
    summaries: list[InvoiceSummary]
