"""Tax rate and tax association bodies (Flexprice ``/taxes/rates``, ``/taxes/associations``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from api.schemas.common import (
    AuditPublic,
    Currency,
    DecimalOut,
    Id,
    InputModel,
    LongText,
    Metadata,
    MetadataOut,
    Name,
    NonNegativeMoney,
    Priority,
    When,
    metadata_out,
    neutral,
)
from flexprice_pipelines.billing.invoicing import TaxRateType

TaxRateStatus = Literal["ACTIVE", "INACTIVE"]


class TaxRateCreate(InputModel):
    name: Name
    code: Name = Field(description="Unique per environment.")
    tax_rate_type: TaxRateType
    percentage_value: NonNegativeMoney | None = Field(default=None, description="percentage rates, 0–100.")
    fixed_value: NonNegativeMoney | None = Field(default=None, description="fixed rates, with currency.")
    currency: Currency | None = None
    description: LongText | None = None
    scope: Literal["INTERNAL", "EXTERNAL", "ONETIME"] = "INTERNAL"
    tax_rate_status: TaxRateStatus = "ACTIVE"
    metadata: Metadata = Field(default_factory=dict)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "NY sales tax",
                    "code": "ny-sales",
                    "tax_rate_type": "percentage",
                    "percentage_value": "8.875",
                }
            ]
        },
    )


class TaxRateUpdate(InputModel):
    name: Name | None = None
    code: Name | None = None
    description: LongText | None = None
    tax_rate_status: TaxRateStatus | None = None
    metadata: Metadata | None = None


class TaxRatePublic(AuditPublic):
    name: str
    code: str
    description: str | None
    tax_rate_status: str
    tax_rate_type: str
    scope: str
    percentage_value: DecimalOut | None
    fixed_value: DecimalOut | None
    currency: str | None
    metadata: MetadataOut = metadata_out()


_EXCLUSIVE = "SDK 2.x; taxes here are exclusive (added on top of the amount)."
TaxEntityType = Literal[
    "CUSTOMER", "SUBSCRIPTION", "INVOICE", "TENANT", "customer", "subscription", "invoice", "tenant"
]
"""Upper case (ours) or lower case (Flexprice's ``types.TaxRateEntityType``); stored upper case."""


class TaxAssociationCreate(InputModel):
    """Flexprice's ``CreateTaxAssociationRequest``: the rate by ``tax_rate_code`` (Flexprice) or
    ``tax_rate_id``; the entity by ``entity_type`` + ``entity_id``, or ``external_customer_id`` (a
    customer's ``external_id``, resolved to entity CUSTOMER and its id)."""

    tax_rate_id: Id | None = Field(default=None, description="Required unless tax_rate_code is given.")
    tax_rate_code: Name | None = Field(
        default=None, description="The tax rate's code (Flexprice's way to name it); must be ACTIVE."
    )
    entity_type: TaxEntityType | None = Field(
        default=None, description="Required unless external_customer_id is given."
    )
    entity_id: Id | None = Field(
        default=None, description="For TENANT: your tenant id. Required unless external_customer_id is given."
    )
    external_customer_id: Name | None = Field(
        default=None, description="The customer's external_id: entity_type CUSTOMER and that customer's id."
    )
    priority: Priority = 100
    auto_apply: bool = True
    currency: Currency | None = None
    start_date: When | None = None
    end_date: When | None = None
    metadata: Metadata = Field(default_factory=dict)
    tax_behavior: str | None = neutral("exclusive", description=_EXCLUSIVE)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"tax_rate_code": "ny-sales", "external_customer_id": "acme-1"},
                {"tax_rate_id": "taxrate_01J…", "entity_type": "CUSTOMER", "entity_id": "cust_01J…"},
            ]
        },
    )


class TaxRateOverride(InputModel):
    """Flexprice's ``TaxRateOverride``: a tax rate, by code, to associate with a new customer."""

    tax_rate_code: Name = Field(description="An ACTIVE tax rate's code.")
    currency: Currency
    auto_apply: bool = True
    priority: Priority = 100
    metadata: Metadata = Field(default_factory=dict)


class TaxAssociationUpdate(InputModel):
    priority: Priority | None = None
    auto_apply: bool | None = None
    end_date: When | None = None
    metadata: Metadata | None = None
    tax_behavior: str | None = neutral("exclusive", description=_EXCLUSIVE)


class TaxAssociationPublic(AuditPublic):
    tax_rate_id: str
    entity_type: str
    entity_id: str
    priority: int
    auto_apply: bool
    currency: str | None
    start_date: datetime | None
    end_date: datetime | None
    metadata: MetadataOut = metadata_out()
