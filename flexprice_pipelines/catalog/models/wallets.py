"""Prepaid/postpaid wallets, their transactions, credit grants and grant applications."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    Metadata,
    ScopedModel,
    metadata_column,
    ref,
    scope_index,
    unique_in_scope,
)


class Wallet(ScopedModel):
    """``credit_balance`` is in credits; ``balance`` = credit_balance × conversion_rate, in ``currency``.

    Change balances only through ``ledger.operations`` (row-locked, never negative).
    """

    __tablename__ = "wallets"
    __id_prefix__ = "wallet"
    __entity_name__ = "wallet"
    __table_args__ = (
        scope_index("wallets"),
        Index("ix_wallets_customer", "tenant_id", "environment_id", "customer_id"),
    )

    customer_id: Mapped[str] = mapped_column(String(64), ref("customers"))
    name: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[Decimal] = mapped_column(default=Decimal(0))
    credit_balance: Mapped[Decimal] = mapped_column(default=Decimal(0))
    conversion_rate: Mapped[Decimal] = mapped_column(default=Decimal(1))
    wallet_type: Mapped[str] = mapped_column(String(20), default="PRE_PAID")  # PRE_PAID | POST_PAID
    wallet_status: Mapped[str] = mapped_column(String(20), default="active")  # active | frozen | closed
    config: Mapped[dict[str, Any] | None]
    metadata_: Metadata = metadata_column()


class WalletTransaction(ScopedModel):
    __tablename__ = "wallet_transactions"
    __id_prefix__ = "wtx"
    __entity_name__ = "wallet transaction"
    __table_args__ = (
        scope_index("wallet_transactions"),
        Index("ix_wallet_transactions_reference", "tenant_id", "environment_id", "reference_id"),
        Index("ix_wallet_transactions_customer", "tenant_id", "environment_id", "customer_id"),
        Index("ix_wallet_transactions_wallet", "tenant_id", "environment_id", "wallet_id"),
        unique_in_scope("wallet_transactions", "idempotency_key"),
    )

    wallet_id: Mapped[str] = mapped_column(String(64), ref("wallets"))
    customer_id: Mapped[str] = mapped_column(String(64), ref("customers"))
    type: Mapped[str] = mapped_column(String(10))  # credit | debit
    amount: Mapped[Decimal]
    credit_amount: Mapped[Decimal]
    credit_balance_before: Mapped[Decimal]
    credit_balance_after: Mapped[Decimal]
    # What is left of a credit to consume (debits use it up in priority/expiry order).
    credits_available: Mapped[Decimal] = mapped_column(default=Decimal(0))
    priority: Mapped[int | None] = mapped_column(Integer)
    expiry_date: Mapped[datetime | None]
    currency: Mapped[str] = mapped_column(String(3))
    transaction_status: Mapped[str] = mapped_column(String(20), default="completed")
    transaction_reason: Mapped[str] = mapped_column(String(50), default="FREE_CREDIT_GRANT")
    reference_type: Mapped[str | None] = mapped_column(String(50))
    reference_id: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None]
    metadata_: Metadata = metadata_column()


class CreditGrant(ScopedModel):
    __tablename__ = "credit_grants"
    __id_prefix__ = "cg"
    __entity_name__ = "credit grant"
    __table_args__ = (scope_index("credit_grants"),)

    name: Mapped[str]
    scope: Mapped[str] = mapped_column(String(20))  # PLAN | SUBSCRIPTION
    plan_id: Mapped[str | None] = mapped_column(String(64), ref("plans"))
    subscription_id: Mapped[str | None] = mapped_column(String(64), ref("subscriptions"))
    credits: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    cadence: Mapped[str] = mapped_column(String(20), default="ONETIME")  # ONETIME | RECURRING
    period: Mapped[str | None] = mapped_column(String(20))
    period_count: Mapped[int | None] = mapped_column(Integer)
    expiration_type: Mapped[str] = mapped_column(
        String(20), default="NEVER"
    )  # NEVER | DURATION | BILLING_CYCLE
    expiration_duration: Mapped[int | None] = mapped_column(Integer)
    expiration_duration_unit: Mapped[str | None] = mapped_column(String(10))  # DAY | WEEK | MONTH | YEAR
    priority: Mapped[int | None] = mapped_column(Integer)
    metadata_: Metadata = metadata_column()


class CreditGrantApplication(ScopedModel):
    """One application of a grant for one period; unique per (grant, subscription, period start)."""

    __tablename__ = "credit_grant_applications"
    __id_prefix__ = "cga"
    __entity_name__ = "credit grant application"
    __table_args__ = (
        scope_index("credit_grant_applications"),
        unique_in_scope(
            "credit_grant_applications",
            "credit_grant_id",
            "subscription_id",
            "period_start",
            name="uq_credit_grant_applications_period",
        ),
    )

    credit_grant_id: Mapped[str] = mapped_column(String(64), ref("credit_grants"))
    subscription_id: Mapped[str] = mapped_column(String(64), ref("subscriptions"))
    wallet_id: Mapped[str | None] = mapped_column(String(64), ref("wallets"))
    wallet_transaction_id: Mapped[str | None] = mapped_column(String(64), ref("wallet_transactions"))
    scheduled_for: Mapped[datetime]
    applied_at: Mapped[datetime | None]
    period_start: Mapped[datetime]
    period_end: Mapped[datetime | None]
    credits: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    application_status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending | applied | failed | skipped
    application_reason: Mapped[str | None] = mapped_column(String(50))
    subscription_status_at_application: Mapped[str | None] = mapped_column(String(20))
    is_prorated: Mapped[bool] = mapped_column(Boolean, default=False)
    metadata_: Metadata = metadata_column()
