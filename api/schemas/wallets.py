"""Wallet bodies (Flexprice ``/wallets``, docs/billing-semantics.md §7)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from api.schemas.common import (
    AuditPublic,
    Currency,
    DecimalOut,
    Id,
    InputModel,
    LongText,
    Metadata,
    MetadataOut,
    Money,
    Name,
    NonNegativeMoney,
    PositiveMoney,
    Priority,
    PublicModel,
    StrictInputModel,
    Text,
    When,
    metadata_out,
    neutral,
)

TransactionReason = Literal[
    "PURCHASED_CREDIT_DIRECT",
    "PURCHASED_CREDIT_INVOICED",
    "FREE_CREDIT_GRANT",
    "SUBSCRIPTION_CREDIT_GRANT",
    "CREDIT_NOTE",
    "MANUAL_BALANCE_DEBIT",
]


class WalletCreate(InputModel):
    customer_id: Id | None = Field(default=None, description="Takes precedence over external_customer_id.")
    external_customer_id: Name | None = None
    currency: Currency
    name: Text | None = None
    description: LongText | None = None
    conversion_rate: PositiveMoney = Field(default=Decimal(1), description="Currency units per credit.")
    wallet_type: Literal["PRE_PAID", "POST_PAID"] = "PRE_PAID"
    initial_credits_to_load: NonNegativeMoney | None = Field(
        default=None, description="Credits loaded at once; 0 (the SDK's default) or null loads none."
    )
    metadata: Metadata = Field(default_factory=dict)
    initial_credits_expiry_date_utc: Text | None = neutral(description="When the initial credits expire.")
    initial_credits_to_load_expiry_date: int | None = neutral(description="The same, as YYYYMMDD.")
    topup_conversion_rate: Money | None = neutral(description="A top-up rate other than conversion_rate.")
    price_unit: Text | None = neutral(description="A custom price unit setting currency and rate.")
    alert_settings: dict[str, Any] | None = neutral({}, description="Balance alerts.")
    auto_topup: dict[str, Any] | None = neutral({}, description="Automatic top-ups.")

    @field_validator("initial_credits_to_load")
    @classmethod
    def _zero_loads_none(cls, value: Decimal | None) -> Decimal | None:
        return None if value is not None and value == 0 else value

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"customer_id": "cust_01J…", "currency": "usd", "initial_credits_to_load": "100"}]
        },
    )


class WalletUpdate(StrictInputModel):
    name: Text | None = None
    description: LongText | None = None
    metadata: Metadata | None = None


class TopUpRequest(StrictInputModel):
    credits_to_add: PositiveMoney | None = Field(default=None, description="Credits; wins over amount.")
    amount: PositiveMoney | None = Field(
        default=None, description="Currency amount; credits = amount / conversion_rate."
    )
    transaction_reason: TransactionReason = "PURCHASED_CREDIT_DIRECT"
    idempotency_key: Text | None = Field(default=None, description="A repeated key returns the first top-up.")
    expiry_date: When | None = None
    priority: Priority | None = Field(default=None, description="Lower is consumed first.")
    description: LongText | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"credits_to_add": "50", "idempotency_key": "topup-2025-04-01"}]},
    )


class WalletPublic(AuditPublic):
    customer_id: str
    name: str | None
    description: str | None
    currency: str
    balance: DecimalOut
    credit_balance: DecimalOut
    conversion_rate: DecimalOut
    wallet_type: str
    wallet_status: str
    config: dict[str, Any] | None
    metadata: MetadataOut = metadata_out()


class WalletTransactionPublic(AuditPublic):
    wallet_id: str
    customer_id: str
    type: str
    amount: DecimalOut
    credit_amount: DecimalOut
    credit_balance_before: DecimalOut
    credit_balance_after: DecimalOut
    credits_available: DecimalOut
    priority: int | None
    expiry_date: datetime | None
    currency: str
    transaction_status: str
    transaction_reason: str
    reference_type: str | None
    reference_id: str | None
    description: str | None
    idempotency_key: str | None
    metadata: MetadataOut = metadata_out()


class WalletBalance(PublicModel):
    wallet_id: str
    currency: str
    balance: DecimalOut
    credit_balance: DecimalOut
    conversion_rate: DecimalOut
    available_credits: DecimalOut = Field(description="Unexpired credits usable now.")
    balance_updated_at: datetime


class TopUpResponse(PublicModel):
    """Flexprice's ``dto.TopUpWalletResponse``: the wallet after the top-up and its credit transaction
    (a repeated ``idempotency_key`` answers the first top-up's transaction)."""

    wallet: WalletPublic
    wallet_transaction: WalletTransactionPublic
    invoice_id: str | None = Field(
        default=None, description="Flexprice's invoice of an invoiced purchase; always null here."
    )
