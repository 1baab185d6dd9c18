"""When a credit grant tops a wallet up (docs/billing-semantics.md §7): one application per grant period."""

from __future__ import annotations

from datetime import datetime

from flexprice_pipelines.billing.enums import BillingPeriod
from flexprice_pipelines.billing.periods import billing_periods
from flexprice_pipelines.billing.rating.terms import SubscriptionTerms


def grant_periods(
    sub: SubscriptionTerms,
    cadence: str,
    period: str | None,
    period_count: int | None,
    until: datetime,
) -> list[tuple[datetime, datetime | None]]:
    """The (period_start, period_end) of every application due before ``until``.

    ONETIME grants apply once at the subscription start (no end). RECURRING grants apply at the start
    of each of their own periods (default: the subscription's), anchored at the subscription start
    and never after its cancellation.
    """
    if sub.start >= until:
        return []
    if cadence.upper() != "RECURRING":
        return [(sub.start, None)]
    kind = BillingPeriod(period.upper()) if period else sub.billing_period
    stop = min(until, sub.cancel_at) if sub.cancel_at is not None else until
    windows = billing_periods(sub.start, stop, sub.start, period_count or 1, kind, sub.timezone)
    return [(w.start, w.end) for w in windows]
