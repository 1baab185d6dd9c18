"""Invoice assembly: group rated lines per invoice and apply coupons, wallet credit and taxes (§6)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from flexprice_pipelines.billing.invoicing import (
    Coupon,
    InvoiceComputation,
    InvoiceStatus,
    LineCoupon,
    LineInput,
    compute_invoice,
    coupon_applies,
)
from flexprice_pipelines.billing.rating.rate import RatedLine
from flexprice_pipelines.billing.rating.terms import SubscriptionTerms
from flexprice_pipelines.billing.rating.windows import InvoicePeriod, PartitionPlan

WalletKey = tuple[str, str]
"""(customer_id, currency)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceDraft:
    """One computed invoice: its identity, rated lines and the §6 arithmetic."""

    period: InvoicePeriod
    customer_id: str
    currency: str
    lines: tuple[RatedLine, ...]
    computation: InvoiceComputation

    @property
    def status(self) -> InvoiceStatus:
        """SKIPPED for a zero subtotal (nothing to bill, whatever the reason), else DRAFT."""
        return InvoiceStatus.SKIPPED if self.computation.subtotal == 0 else InvoiceStatus.DRAFT


def assemble_invoice(
    period: InvoicePeriod,
    sub: SubscriptionTerms,
    lines: Sequence[RatedLine],
    wallet_credit: Decimal,
) -> InvoiceDraft:
    """Compute one invoice from its rated lines with the subscription's due coupons and taxes."""
    inputs = [
        LineInput(
            line_id=line.line_id,
            price_type=line.price_type,
            amount=line.amount,
            quantity=line.quantity,
            currency=line.currency,
            display_name=line.display_name,
            period_start=line.period_start,
            period_end=line.period_end,
            price_id=line.price_id,
            meter_id=line.meter_id,
        )
        for line in lines
    ]
    line_coupons: list[LineCoupon] = []
    invoice_coupons: list[Coupon] = []
    for terms, uses in zip(sub.coupons, period.coupon_uses, strict=True):
        if uses is None or not coupon_applies(terms.coupon, uses):
            continue
        if terms.line_item_id is None:
            invoice_coupons.append(terms.coupon)
            continue
        line_coupons.extend(
            LineCoupon(coupon=terms.coupon, line_id=line.line_id)
            for line in sorted(lines, key=lambda x: x.line_id)
            if line.line_item_id == terms.line_item_id
        )
    computation = compute_invoice(
        inputs,
        sub.currency,
        line_coupons=line_coupons,
        invoice_coupons=invoice_coupons,
        wallet_credit_available=wallet_credit,
        tax_rates=sub.tax_rates,
        billing_reason=period.billing_reason,
    )
    return InvoiceDraft(
        period=period,
        customer_id=sub.customer_id,
        currency=sub.currency,
        lines=tuple(sorted(lines, key=lambda x: x.line_id)),
        computation=computation,
    )


def assemble_invoices(
    plan: PartitionPlan,
    subscriptions: Mapping[str, SubscriptionTerms],
    lines: Sequence[RatedLine],
    wallet_credit: Mapping[WalletKey, Decimal],
) -> list[InvoiceDraft]:
    """Every invoice of the partition, in issue order; prepaid credit is shared out in that order.

    ``wallet_credit`` is the prepaid credit available per (customer, currency); a customer's
    invoices draw on one running balance so that together they never spend more than there is.
    """
    by_invoice: dict[str, list[RatedLine]] = defaultdict(list)
    for line in lines:
        by_invoice[line.invoice_id].append(line)
    remaining = dict(wallet_credit)
    drafts: list[InvoiceDraft] = []
    for period in sorted(plan.invoices, key=lambda p: (p.issued_at, p.invoice_id)):
        sub = subscriptions[period.subscription_id]
        key = (sub.customer_id, sub.currency)
        draft = assemble_invoice(
            period, sub, by_invoice.get(period.invoice_id, []), remaining.get(key, Decimal(0))
        )
        remaining[key] = remaining.get(key, Decimal(0)) - draft.computation.total_credits
        drafts.append(draft)
    return drafts
