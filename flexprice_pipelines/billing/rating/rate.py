"""Rating: turn a partition's charge slots and computed usage into priced invoice lines.

Costs stay unrounded here (``billing.pricing``); the invoice math rounds each line (§4, §6).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.billing.invoicing import billable_usage
from flexprice_pipelines.billing.meters import billable_quantity
from flexprice_pipelines.billing.money import round_amount
from flexprice_pipelines.billing.pricing import (
    PriceType,
    calculate_bucketed_cost,
    calculate_cost,
    cost_breakdown,
)
from flexprice_pipelines.billing.rating.terms import LineItemTerms, SubscriptionTerms
from flexprice_pipelines.billing.rating.windows import ChargeKind, ChargeSlot, PartitionPlan


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRow:
    """Usage of one billing window (a ``fct_period_usage`` row): ``quantity`` None means no usage.

    ``buckets`` holds the per-bucket values of a bucketed meter (each is priced separately).
    """

    window_id: str
    quantity: Decimal | None
    event_count: int = 0
    buckets: tuple[Decimal, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BilledUsage:
    """One finalized invoice line that billed a line item's window (its original line or a late line).

    ``invoice_id`` is the natural (deterministic) id of the invoice, also for a reissued replacement.
    """

    quantity: Decimal
    amount: Decimal
    invoice_id: str = ""
    late: bool = False


BilledKey = tuple[str, datetime, datetime]
"""(line_item_id, window_start, window_end)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LateUsageDrift:
    """A window beyond the late-usage horizon whose usage now differs from what was billed (reported only)."""

    subscription_id: str
    line_item_id: str
    window_start: datetime
    window_end: datetime
    billed_quantity: Decimal
    quantity: Decimal
    billed_amount: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class RatedLine:
    """One priced charge of an invoice; ``amount`` is unrounded."""

    line_id: str
    invoice_id: str
    subscription_id: str
    line_item_id: str
    price_id: str
    meter_id: str | None
    price_type: PriceType
    kind: ChargeKind
    display_name: str
    quantity: Decimal
    usage: Decimal | None
    amount: Decimal
    currency: str
    period_start: datetime
    period_end: datetime
    breakdown: tuple[dict[str, str | None], ...] = ()


def rate_partition(
    plan: PartitionPlan,
    subscriptions: Mapping[str, SubscriptionTerms],
    usage: Mapping[str, UsageRow],
    billed: Mapping[BilledKey, Sequence[BilledUsage]],
    settled: Set[str] = frozenset(),
) -> list[RatedLine]:
    """Price every charge slot of ``plan``; late usage of a window is billed once, cumulatively.

    ``billed`` holds the finalized lines per (line item, window); ``settled`` the ids of the plan's
    invoices that are already finalized (never rewritten by a normal run). A window is re-rated only
    once its own invoice is finalized. Of the plan's invoices re-checking it, a settled one keeps the
    late line it was finalized with; the EARLIEST unsettled one bills ``round(cost now) − everything
    billed so far`` when the quantity grew; later ones bill nothing for it.
    """
    items = {
        (s.subscription_id, i.line_item_id): (s, i) for s in subscriptions.values() for i in s.line_items
    }
    late: dict[BilledKey, list[ChargeSlot]] = defaultdict(list)
    lines: list[RatedLine] = []
    for slot in plan.charges:
        sub, item = items[(slot.subscription_id, slot.line_item_id)]
        if slot.kind is ChargeKind.FIXED:
            lines.append(_fixed_line(slot, sub, item))
        elif slot.kind is ChargeKind.USAGE:
            lines.append(_usage_line(slot, sub, item, _row(usage, slot)))
        else:
            late[(slot.line_item_id, slot.start, slot.end)].append(slot)
    for key, slots in late.items():
        lines.extend(_late_lines(slots, items, usage, billed.get(key, ()), settled))
    return lines


def audit_late_usage(
    plan: PartitionPlan,
    subscriptions: Mapping[str, SubscriptionTerms],
    usage: Mapping[str, UsageRow],
    billed: Mapping[BilledKey, Sequence[BilledUsage]],
) -> list[LateUsageDrift]:
    """Finalized windows beyond the late-usage horizon whose usage or cost now differs from what was billed."""
    drifts: dict[BilledKey, LateUsageDrift] = {}
    for slot in plan.audits:
        key = (slot.line_item_id, slot.start, slot.end)
        entries = billed.get(key, ())
        if key in drifts or not entries:
            continue
        sub = subscriptions[slot.subscription_id]
        item = next(i for i in sub.line_items if i.line_item_id == slot.line_item_id)
        _, quantity, cost = _priced_usage(item, _row(usage, slot))
        amount = round_amount(cost, sub.currency)
        billed_qty = sum((e.quantity for e in entries), Decimal(0))
        billed_amount = sum((e.amount for e in entries), Decimal(0))
        if (quantity, amount) != (billed_qty, billed_amount):
            drifts[key] = LateUsageDrift(
                subscription_id=slot.subscription_id,
                line_item_id=slot.line_item_id,
                window_start=slot.start,
                window_end=slot.end,
                billed_quantity=billed_qty,
                quantity=quantity,
                billed_amount=billed_amount,
                amount=amount,
            )
    return list(drifts.values())


def _row(usage: Mapping[str, UsageRow], slot: ChargeSlot) -> UsageRow:
    return usage.get(slot.window_id or "") or UsageRow(window_id=slot.window_id or "", quantity=None)


def _late_lines(
    slots: list[ChargeSlot],
    items: Mapping[tuple[str, str], tuple[SubscriptionTerms, LineItemTerms]],
    usage: Mapping[str, UsageRow],
    entries: Sequence[BilledUsage],
    settled: Set[str],
) -> list[RatedLine]:
    carriers = {s.invoice_id for s in slots}
    outside = [e for e in entries if e.invoice_id not in carriers]
    if not outside:
        return []  # the window's own invoice is not finalized yet: its run picks the events up
    quantity = sum((e.quantity for e in outside), Decimal(0))
    amount = sum((e.amount for e in outside), Decimal(0))
    lines: list[RatedLine] = []
    for slot in slots:  # plan order = invoice order
        sub, item = items[(slot.subscription_id, slot.line_item_id)]
        if slot.invoice_id in settled:
            kept = [e for e in entries if e.invoice_id == slot.invoice_id and e.late]
            if kept:
                stored = BilledUsage(
                    quantity=sum((e.quantity for e in kept), Decimal(0)),
                    amount=sum((e.amount for e in kept), Decimal(0)),
                )
                lines.append(_late_line_of(slot, sub, item, stored.quantity, stored.amount, None))
                quantity, amount = quantity + stored.quantity, amount + stored.amount
            continue
        previous = BilledUsage(quantity=quantity, amount=amount)
        if (line := _late_line(slot, sub, item, _row(usage, slot), previous)) is not None:
            lines.append(line)
        break
    return lines


def _line_id(slot: ChargeSlot) -> str:
    return deterministic_id(
        "inv_line",
        slot.invoice_id,
        slot.line_item_id,
        slot.kind.value,
        slot.start.isoformat(),
        slot.end.isoformat(),
    )


def _breakdown(item: LineItemTerms, quantity: Decimal) -> tuple[dict[str, str | None], ...]:
    return tuple(
        {
            "tier_index": None if part.tier_index is None else str(part.tier_index),
            "quantity": str(part.quantity),
            "unit_amount": str(part.unit_amount),
            "flat_amount": str(part.flat_amount),
            "amount": str(part.amount),
        }
        for part in cost_breakdown(item.price, quantity)
    )


def _fixed_line(slot: ChargeSlot, sub: SubscriptionTerms, item: LineItemTerms) -> RatedLine:
    return RatedLine(
        line_id=_line_id(slot),
        invoice_id=slot.invoice_id,
        subscription_id=sub.subscription_id,
        line_item_id=item.line_item_id,
        price_id=item.price_id,
        meter_id=None,
        price_type=PriceType.FIXED,
        kind=slot.kind,
        display_name=item.display_name,
        quantity=item.quantity,
        usage=None,
        amount=calculate_cost(item.price, item.quantity),
        currency=sub.currency,
        period_start=slot.start,
        period_end=slot.end,
        breakdown=_breakdown(item, item.quantity),
    )


def _priced_usage(item: LineItemTerms, row: UsageRow) -> tuple[Decimal, Decimal, Decimal]:
    """(raw usage, billable quantity, unrounded cost) of a window."""
    raw = billable_quantity(row.quantity)
    if row.buckets is not None:
        # Included units do not apply per bucket; bucketed meters bill every bucket (§2).
        return raw, raw, calculate_bucketed_cost(item.price, row.buckets)
    quantity = billable_usage(raw, item.included_units, item.unlimited)
    return raw, quantity, calculate_cost(item.price, quantity)


def _usage_line(slot: ChargeSlot, sub: SubscriptionTerms, item: LineItemTerms, row: UsageRow) -> RatedLine:
    raw, quantity, cost = _priced_usage(item, row)
    return RatedLine(
        line_id=_line_id(slot),
        invoice_id=slot.invoice_id,
        subscription_id=sub.subscription_id,
        line_item_id=item.line_item_id,
        price_id=item.price_id,
        meter_id=item.price.meter_id,
        price_type=PriceType.USAGE,
        kind=slot.kind,
        display_name=item.display_name,
        quantity=quantity,
        usage=raw,
        amount=cost,
        currency=sub.currency,
        period_start=slot.start,
        period_end=slot.end,
        breakdown=() if row.buckets is not None else _breakdown(item, quantity),
    )


def _late_line(
    slot: ChargeSlot, sub: SubscriptionTerms, item: LineItemTerms, row: UsageRow, previous: BilledUsage
) -> RatedLine | None:
    # Re-rated cumulatively: the whole window at today's usage, minus what was billed for it.
    raw, quantity, cost = _priced_usage(item, row)
    owed = round_amount(cost, sub.currency) - previous.amount
    if quantity <= previous.quantity or owed <= 0:
        return None
    return _late_line_of(slot, sub, item, quantity - previous.quantity, owed, raw)


def _late_line_of(
    slot: ChargeSlot,
    sub: SubscriptionTerms,
    item: LineItemTerms,
    quantity: Decimal,
    amount: Decimal,
    raw: Decimal | None,
) -> RatedLine:
    label = f"{slot.start.date().isoformat()} – {slot.end.date().isoformat()}"
    return RatedLine(
        line_id=_line_id(slot),
        invoice_id=slot.invoice_id,
        subscription_id=sub.subscription_id,
        line_item_id=item.line_item_id,
        price_id=item.price_id,
        meter_id=item.price.meter_id,
        price_type=PriceType.USAGE,
        kind=slot.kind,
        display_name=f"{item.display_name}: late usage for {label}",
        quantity=quantity,
        usage=raw,
        amount=amount,
        currency=sub.currency,
        period_start=slot.start,
        period_end=slot.end,
    )
