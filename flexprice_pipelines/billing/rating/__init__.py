"""Rating and invoice assembly for one (tenant, month) partition, as plain functions over plain values.

``plan_partition`` (which invoices, charges and usage windows) → ``rate_partition`` (priced lines)
→ ``assemble_invoices`` (coupons, wallet credit, taxes via ``billing.invoicing``). The Dagster
assets in ``flexprice_pipelines/defs/`` are thin adapters around these three calls.
"""

from __future__ import annotations

from flexprice_pipelines.billing.rating.assemble import InvoiceDraft, assemble_invoice, assemble_invoices
from flexprice_pipelines.billing.rating.rate import BilledUsage, RatedLine, UsageRow, rate_partition
from flexprice_pipelines.billing.rating.terms import CouponTerms, LineItemTerms, SubscriptionTerms
from flexprice_pipelines.billing.rating.windows import (
    ChargeKind,
    ChargeSlot,
    InvoicePeriod,
    PartitionPlan,
    UsageWindow,
    WindowRole,
    invoice_id,
    plan_partition,
)

__all__ = [
    "BilledUsage",
    "ChargeKind",
    "ChargeSlot",
    "CouponTerms",
    "InvoiceDraft",
    "InvoicePeriod",
    "LineItemTerms",
    "PartitionPlan",
    "RatedLine",
    "SubscriptionTerms",
    "UsageRow",
    "UsageWindow",
    "WindowRole",
    "assemble_invoice",
    "assemble_invoices",
    "invoice_id",
    "plan_partition",
    "rate_partition",
]
