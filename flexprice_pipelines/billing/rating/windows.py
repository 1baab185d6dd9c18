"""Which invoices a (tenant, month) partition owns, which charges go on each, and the usage windows they need.

A partition owns the billing periods that END in its calendar month (UTC). For each such period
that has ended by ``now``:

- one ``SUBSCRIPTION_CYCLE`` invoice holding the ARREAR usage and ARREAR fixed charges of the
  ending period and the ADVANCE fixed charges of the next period (none after a cancellation);
- a "late usage" check of every earlier period that could still have received events since the
  previous invoice was issued: events are accepted up to the tenant's timestamp policy
  (``max_past``, 35 days by default), so every window ending at most ``max_past + grace`` before
  the previous issue point is re-rated (``rating.rate`` decides whether anything is owed and on
  which invoice of the partition it lands);
- an audit of the windows just beyond that horizon (another ``max_past + grace``): they are never
  billed again, but a difference there is reported (``rating.rate.audit_late_usage``).

A subscription that bills fixed charges in advance also gets a ``SUBSCRIPTION_CREATE`` invoice in
the partition of the month it starts in. During a trial nothing is billed: the create invoice is 0
(SKIPPED) and the trial window's cycle invoice, issued at trial end, carries only the first paid
period's ADVANCE charges. An invoice may be finalized once ``issued_at + grace`` has
passed by ``now``; until then it is a draft. Periods that have not ended are not billed at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.billing.invoicing import BillingReason
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.periods import BillingWindow, billing_periods, subscription_windows
from flexprice_pipelines.billing.rating.terms import LineItemTerms, SubscriptionTerms


class ChargeKind(StrEnum):
    """What a charge slot bills."""

    USAGE = "usage"
    FIXED = "fixed"
    LATE_USAGE = "late_usage"


class WindowRole(StrEnum):
    """Why a usage window is computed: billing this period, or re-checking a finalized one."""

    CYCLE = "cycle"
    LATE_CHECK = "late_check"
    LATE_AUDIT = "late_audit"


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePeriod:
    """The identity of one subscription invoice and when it may be finalized."""

    invoice_id: str
    subscription_id: str
    billing_reason: BillingReason
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    # Position among the subscription's invoices (CREATE = 0); coupon cadences count these.
    ordinal: int
    finalizable: bool
    # Per coupon association of the subscription: how many earlier invoices it discounted, None if inactive.
    coupon_uses: tuple[int | None, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageWindow:
    """One row of ``billing_windows``: a usage line item over ``[window_start, window_end)``."""

    window_id: str
    tenant_id: str
    environment_id: str
    period_key: str
    subscription_id: str
    line_item_id: str
    price_id: str
    meter_id: str
    customer_id: str
    external_customer_id: str
    window_start: datetime
    window_end: datetime
    role: WindowRole


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargeSlot:
    """A charge to rate onto an invoice: a line item over ``[start, end)`` (usage via ``window_id``)."""

    invoice_id: str
    subscription_id: str
    line_item_id: str
    kind: ChargeKind
    start: datetime
    end: datetime
    window_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionPlan:
    """Everything a partition bills: invoices, their charges, and the usage windows to compute.

    ``audits`` are late-usage slots beyond the acceptance horizon: rated to report a difference, never billed.
    """

    tenant_id: str
    period_key: str
    invoices: tuple[InvoicePeriod, ...]
    charges: tuple[ChargeSlot, ...]
    windows: tuple[UsageWindow, ...]
    audits: tuple[ChargeSlot, ...] = ()


def invoice_id(sub: SubscriptionTerms, reason: BillingReason, start: datetime, end: datetime) -> str:
    """Deterministic id of the invoice of (tenant, environment, subscription, reason, period)."""
    return deterministic_id(
        "inv",
        sub.tenant_id,
        sub.environment_id,
        sub.subscription_id,
        reason.value,
        start.isoformat(),
        end.isoformat(),
    )


DEFAULT_MAX_PAST = timedelta(days=35)
"""The default event timestamp policy (docs/billing-semantics.md §1): events up to 35 days back are accepted."""


@dataclass(slots=True)
class _Collected:
    invoices: list[InvoicePeriod]
    charges: list[ChargeSlot]
    audits: list[ChargeSlot]
    # One window per id; a window billed by its own invoice (CYCLE) wins over a re-check of it.
    windows: dict[str, UsageWindow]

    def window(self, usage: UsageWindow) -> None:
        known = self.windows.get(usage.window_id)
        if known is None or (known.role is not WindowRole.CYCLE and usage.role is WindowRole.CYCLE):
            self.windows[usage.window_id] = usage


def plan_partition(
    subscriptions: list[SubscriptionTerms],
    month: YearMonth,
    now: datetime,
    grace: timedelta,
    max_past: timedelta = DEFAULT_MAX_PAST,
) -> PartitionPlan:
    """The invoices, charges and usage windows of one (tenant, month) partition as of ``now``.

    ``max_past`` is the tenant's event acceptance horizon; it decides which finalized windows are re-rated.
    """
    out = _Collected(invoices=[], charges=[], audits=[], windows={})
    tenant = ""
    for sub in sorted(subscriptions, key=lambda s: s.subscription_id):
        tenant = sub.tenant_id
        _plan_subscription(sub, month, now, grace, max_past + grace, out)
    return PartitionPlan(
        tenant_id=tenant,
        period_key=month.key,
        invoices=tuple(out.invoices),
        charges=tuple(out.charges),
        windows=tuple(out.windows.values()),
        audits=tuple(out.audits),
    )


def subscription_issue_points(sub: SubscriptionTerms, until: datetime) -> list[datetime]:
    """When the subscription's invoices are issued up to ``until``: its start (ADVANCE charges) and each window end."""
    schedule = _schedule(sub, until)
    return ([sub.start] if sub.has_advance_charges and schedule else []) + [w.end for w in schedule]


def _schedule(sub: SubscriptionTerms, until: datetime) -> list[BillingWindow]:
    return subscription_windows(
        sub.start,
        until,
        sub.billing_period,
        sub.billing_period_count,
        sub.timezone,
        sub.billing_cycle,
        trial_end=sub.trial_end,
        pauses=sub.pauses,
        cancel_at=sub.cancel_at,
    )


def _plan_subscription(
    sub: SubscriptionTerms,
    month: YearMonth,
    now: datetime,
    grace: timedelta,
    horizon: timedelta,
    out: _Collected,
) -> None:
    invoices, charges = out.invoices, out.charges
    schedule = _schedule(sub, month.end)
    offset = 1 if sub.has_advance_charges else 0
    issue_points = ([sub.start] if offset else []) + [w.end for w in schedule]
    if sub.has_advance_charges and schedule and month.start <= sub.start < month.end and sub.start <= now:
        first = schedule[0]
        period = _invoice(sub, BillingReason.SUBSCRIPTION_CREATE, first, sub.start, issue_points, now, grace)
        invoices.append(period)
        # A trial is free (§5): its create invoice is 0 (SKIPPED); the first paid period's ADVANCE
        # charges go on the trial window's cycle invoice, issued at trial end.
        if not first.is_trial:
            charges.extend(_fixed_charges(sub, period, schedule, 0, advance=True))
    for index, window in enumerate(schedule):
        if not (month.start <= window.end < month.end) or window.end > now:
            continue
        period = _invoice(sub, BillingReason.SUBSCRIPTION_CYCLE, window, window.end, issue_points, now, grace)
        invoices.append(period)
        if not window.is_trial:  # nothing of the trial window itself is billed (§5)
            charges.extend(_fixed_charges(sub, period, schedule, index, advance=False))
        if index + 1 < len(schedule):
            charges.extend(_fixed_charges(sub, period, schedule, index + 1, advance=True))
        if window.is_trial:
            continue
        charges.extend(_usage_charges(sub, period, window, month, WindowRole.CYCLE, out))
        if index == 0:
            continue
        # Events for a window keep arriving until window end + max_past; the previous invoice saw them
        # up to its own issue point, so every window ending within the horizon before it is re-rated.
        previous_issue = schedule[index - 1].end
        for earlier in reversed(schedule[:index]):
            if earlier.end < previous_issue - 2 * horizon:
                break
            if earlier.is_trial:
                continue
            role = WindowRole.LATE_CHECK if earlier.end >= previous_issue - horizon else WindowRole.LATE_AUDIT
            slots = _usage_charges(sub, period, earlier, month, role, out)
            (charges if role is WindowRole.LATE_CHECK else out.audits).extend(slots)


def _invoice(
    sub: SubscriptionTerms,
    reason: BillingReason,
    window: BillingWindow,
    issued_at: datetime,
    issue_points: list[datetime],
    now: datetime,
    grace: timedelta,
) -> InvoicePeriod:
    uses = tuple(
        sum(1 for point in issue_points if (c.start is None or c.start <= point) and point < issued_at)
        if c.active_at(issued_at)
        else None
        for c in sub.coupons
    )
    return InvoicePeriod(
        invoice_id=invoice_id(sub, reason, window.start, window.end),
        subscription_id=sub.subscription_id,
        billing_reason=reason,
        period_start=window.start,
        period_end=window.end,
        issued_at=issued_at,
        ordinal=sum(1 for point in issue_points if point < issued_at),
        finalizable=issued_at + grace <= now,
        coupon_uses=uses,
    )


def _fixed_charges(
    sub: SubscriptionTerms,
    period: InvoicePeriod,
    schedule: list[BillingWindow],
    index: int,
    *,
    advance: bool,
) -> list[ChargeSlot]:
    window = schedule[index]
    cadence = "ADVANCE" if advance else "ARREAR"
    slots: list[ChargeSlot] = []
    for item in sub.line_items:
        if item.price.type != "FIXED" or item.price.invoice_cadence != cadence:
            continue
        for start, end in _fixed_periods(sub, item, schedule, window, advance=advance):
            if item.active_in(start, end):
                slots.append(
                    ChargeSlot(
                        invoice_id=period.invoice_id,
                        subscription_id=sub.subscription_id,
                        line_item_id=item.line_item_id,
                        kind=ChargeKind.FIXED,
                        start=start,
                        end=end,
                    )
                )
    return slots


def _fixed_periods(
    sub: SubscriptionTerms,
    item: LineItemTerms,
    schedule: list[BillingWindow],
    window: BillingWindow,
    *,
    advance: bool,
) -> list[tuple[datetime, datetime]]:
    price = item.price
    if price.billing_period == sub.billing_period and price.billing_period_count == sub.billing_period_count:
        return [(window.start, window.end)]
    if price.billing_period == "ONETIME":
        first = schedule[0] if not schedule[0].is_trial or len(schedule) == 1 else schedule[1]
        return [(window.start, window.end)] if advance and window == first else []
    # A longer (or shorter) cadence is billed whole on the window holding its start (ADVANCE) or end (ARREAR).
    anchor = sub.trial_end or sub.start
    own = billing_periods(
        anchor, window.end, anchor, price.billing_period_count, price.billing_period, sub.timezone
    )
    if advance:
        return [(p.start, p.end) for p in own if window.start <= p.start < window.end]
    return [(p.start, p.end) for p in own if window.start < p.end <= window.end]


def _usage_charges(
    sub: SubscriptionTerms,
    period: InvoicePeriod,
    window: BillingWindow,
    month: YearMonth,
    role: WindowRole,
    out: _Collected,
) -> list[ChargeSlot]:
    slots: list[ChargeSlot] = []
    for item in sub.line_items:
        if item.price.type != "USAGE" or not item.active_in(window.start, window.end):
            continue
        start = max(window.start, item.start or window.start)
        end = min(window.end, item.end or window.end)
        usage = UsageWindow(
            window_id=deterministic_id(
                "bw", sub.tenant_id, sub.environment_id, item.line_item_id, start.isoformat(), end.isoformat()
            ),
            tenant_id=sub.tenant_id,
            environment_id=sub.environment_id,
            period_key=month.key,
            subscription_id=sub.subscription_id,
            line_item_id=item.line_item_id,
            price_id=item.price_id,
            meter_id=item.price.meter_id or "",
            customer_id=sub.customer_id,
            external_customer_id=sub.external_customer_id,
            window_start=start,
            window_end=end,
            role=role,
        )
        out.window(usage)
        kind = ChargeKind.USAGE if role is WindowRole.CYCLE else ChargeKind.LATE_USAGE
        slots.append(
            ChargeSlot(
                invoice_id=period.invoice_id,
                subscription_id=sub.subscription_id,
                line_item_id=item.line_item_id,
                kind=kind,
                start=start,
                end=end,
                window_id=usage.window_id,
            )
        )
    return slots
