"""Invoices, their line items and the per-month invoice number sequences."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    LIVE_ROWS,
    Base,
    Metadata,
    ScopedModel,
    metadata_column,
    ref,
    scope_index,
    unique_in_scope,
)


class Invoice(ScopedModel):
    """An invoice; ``invoice_number`` is set at finalization from ``ledger.operations.next_invoice_number``.

    A cycle invoice is unique per (subscription, billing_reason, period_start, period_end) among
    non-voided rows, so a re-run finds the same invoice and a void-and-replace can reuse the period.
    """

    __tablename__ = "invoices"
    __id_prefix__ = "inv"
    __entity_name__ = "invoice"
    __table_args__ = (
        scope_index("invoices"),
        Index("ix_invoices_subscription", "tenant_id", "environment_id", "subscription_id"),
        Index("ix_invoices_customer", "tenant_id", "environment_id", "customer_id"),
        unique_in_scope("invoices", "invoice_number"),
        unique_in_scope("invoices", "idempotency_key"),
        unique_in_scope(
            "invoices",
            "subscription_id",
            "billing_reason",
            "period_start",
            "period_end",
            name="uq_invoices_period",
            where=f"{LIVE_ROWS} AND invoice_status <> 'VOIDED'",
        ),
    )

    customer_id: Mapped[str] = mapped_column(String(64), ref("customers"))
    subscription_id: Mapped[str | None] = mapped_column(String(64), ref("subscriptions"))
    invoice_type: Mapped[str] = mapped_column(
        String(20), default="SUBSCRIPTION"
    )  # SUBSCRIPTION | ONE_OFF | CREDIT
    invoice_status: Mapped[str] = mapped_column(
        String(20), default="DRAFT"
    )  # DRAFT | FINALIZED | VOIDED | SKIPPED
    # PENDING | SUCCEEDED | FAILED | OVERPAID | REFUNDED
    payment_status: Mapped[str] = mapped_column(String(20), default="PENDING")
    billing_reason: Mapped[str] = mapped_column(String(40))  # SUBSCRIPTION_CREATE | SUBSCRIPTION_CYCLE | …
    currency: Mapped[str] = mapped_column(String(3))
    amount_due: Mapped[Decimal] = mapped_column(default=Decimal(0))
    amount_paid: Mapped[Decimal] = mapped_column(default=Decimal(0))
    amount_remaining: Mapped[Decimal] = mapped_column(default=Decimal(0))
    subtotal: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_discount: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_prepaid_credits_applied: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total_tax: Mapped[Decimal] = mapped_column(default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(default=Decimal(0))
    description: Mapped[str | None] = mapped_column(Text)
    billing_period: Mapped[str | None] = mapped_column(String(20))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    due_date: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    finalized_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    invoice_number: Mapped[str | None] = mapped_column(String(50))
    invoice_pdf_url: Mapped[str | None] = mapped_column(Text)
    recalculated_invoice_id: Mapped[str | None] = mapped_column(String(64), ref("invoices"))
    idempotency_key: Mapped[str | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    metadata_: Metadata = metadata_column()


class InvoiceLineItem(ScopedModel):
    __tablename__ = "invoice_line_items"
    __id_prefix__ = "inv_line"
    __entity_name__ = "invoice line item"
    __table_args__ = (
        scope_index("invoice_line_items"),
        Index("ix_invoice_line_items_invoice", "tenant_id", "environment_id", "invoice_id"),
    )

    invoice_id: Mapped[str] = mapped_column(String(64), ref("invoices"))
    customer_id: Mapped[str] = mapped_column(String(64), ref("customers"))
    subscription_id: Mapped[str | None] = mapped_column(String(64), ref("subscriptions"))
    plan_id: Mapped[str | None] = mapped_column(String(64), ref("plans"))
    price_id: Mapped[str | None] = mapped_column(String(64), ref("prices"))
    meter_id: Mapped[str | None] = mapped_column(String(64), ref("meters"))
    price_type: Mapped[str | None] = mapped_column(String(20))
    display_name: Mapped[str | None]
    plan_display_name: Mapped[str | None]
    meter_display_name: Mapped[str | None]
    amount: Mapped[Decimal]
    quantity: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    # Rating breakdown (tiers touched, buckets, proration) lives here.
    metadata_: Metadata = metadata_column()


class InvoiceSequence(Base):
    """The last invoice number used per (tenant, environment, month); only ``ledger`` touches it."""

    __tablename__ = "invoice_sequences"
    __table_args__ = (
        UniqueConstraint("tenant_id", "environment_id", "year_month", name="uq_invoice_sequences_month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), ref("tenants"))
    environment_id: Mapped[str] = mapped_column(String(64), ref("environments"))
    year_month: Mapped[str] = mapped_column(String(6))  # YYYYMM
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)
