"""Which usage windows exist for a customer and meter, and which one holds an instant.

A ``WindowSpec`` is one way of cutting time, taken from one subscription:

- its billing periods (``usage_reset_period`` unset, or for meters billed by its line items;
  these are the windows ``fct_period_usage`` bills, flagged ``billing``);
- an entitlement's ``usage_reset_period`` (DAILY … ANNUAL) from the subscription's start, on its
  billing anchor and in its time zone (``periods.billing_periods``);
- NEVER: one cumulative window from the subscription's start.

An event lands in every tracked window that contains its timestamp.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flexprice_pipelines.billing.enums import BillingCycle
from flexprice_pipelines.billing.periods import BillingWindow, billing_periods, subscription_windows

NEVER = "NEVER"
BILLING_PERIOD = "BILLING_PERIOD"
# The end of a cumulative (NEVER) window: far enough to never close, representable everywhere.
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)
_HORIZON = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """How one subscription cuts time for one purpose (see the module docstring)."""

    subscription_id: str
    reset_period: str  # BILLING_PERIOD, NEVER or a BillingPeriod value
    start: datetime
    anchor: datetime
    time_zone: str
    billing_period: str
    billing_period_count: int = 1
    billing_cycle: str = BillingCycle.ANNIVERSARY.value
    trial_end: datetime | None = None
    end: datetime | None = None

    @property
    def billing(self) -> bool:
        """True for the subscription's billing windows (the ones billed from ``fct_period_usage``)."""
        return self.reset_period == BILLING_PERIOD


@dataclass(slots=True)
class _Schedule:
    windows: list[BillingWindow] = field(default_factory=list)
    starts: list[datetime] = field(default_factory=list)
    until: datetime | None = None


class WindowCalendar:
    """Finds the window of a spec holding an instant; schedules are computed once and extended lazily."""

    def __init__(self) -> None:
        self._schedules: dict[WindowSpec, _Schedule] = {}

    def window_at(self, spec: WindowSpec, instant: datetime) -> BillingWindow | None:
        """The spec's window containing ``instant``, or None (before the start or after the end)."""
        if instant < spec.start or (spec.end is not None and instant >= spec.end):
            return None
        if spec.reset_period == NEVER:
            return BillingWindow(spec.start, spec.end or FOREVER)
        schedule = self._schedules.setdefault(spec, _Schedule())
        if schedule.until is None or instant >= schedule.until:
            until = max(instant, spec.start) + _HORIZON
            schedule.windows = _windows(spec, until)
            schedule.starts = [w.start for w in schedule.windows]
            schedule.until = schedule.windows[-1].end if schedule.windows else until
        index = bisect.bisect_right(schedule.starts, instant) - 1
        if index < 0:
            return None
        window = schedule.windows[index]
        return window if window.contains(instant) else None


def _windows(spec: WindowSpec, until: datetime) -> list[BillingWindow]:
    if spec.billing:
        return subscription_windows(
            spec.start,
            until,
            spec.billing_period,
            spec.billing_period_count,
            spec.time_zone,
            billing_cycle=spec.billing_cycle,
            trial_end=spec.trial_end,
            cancel_at=spec.end,
        )
    return billing_periods(spec.start, until, spec.anchor, 1, spec.reset_period, spec.time_zone)
