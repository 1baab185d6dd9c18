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


class TaxAssociationCreate(InputModel):
    tax_rate_id: Id
    entity_type: Literal["CUSTOMER", "SUBSCRIPTION", "INVOICE", "TENANT"]
    entity_id: Id = Field(description="For TENANT: your tenant id.")
    priority: Priority = 100
    auto_apply: bool = True
    currency: Currency | None = None
    start_date: When | None = None
    end_date: When | None = None
    metadata: Metadata = Field(default_factory=dict)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"tax_rate_id": "taxrate_01J…", "entity_type": "CUSTOMER", "entity_id": "cust_01J…"}]
        },
    )


class TaxAssociationUpdate(InputModel):
    priority: Priority | None = None
    auto_apply: bool | None = None
    end_date: When | None = None
    metadata: Metadata | None = None


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
