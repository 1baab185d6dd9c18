"""Subscription rules as pure functions of plain values (docs/billing-semantics.md §5).

Where a new subscription's schedule starts (``first_period``), which plan prices it copies
(``matching_prices``, ``trial_days``), which overrides are valid (``override_map``), when a
cancellation takes effect and what it gives back (``cancellation_time``, ``unused_advance_credit``),
and how pauses move the period (``pause_window``, ``resumed_period_end``). The catalog writes that
apply them live in ``catalog.services.subscriptions`` (and ``api.services.subscriptions``).

Errors name request fields (``body.cancel_at``): these rules exist to answer a client's request,
and the API reports the field the client sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol, TypeVar

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.errors import InvalidPeriod, InvalidPrice
from flexprice_pipelines.billing.money import round_amount
from flexprice_pipelines.billing.periods import (
    BillingWindow,
    calendar_anchor,
    proration_coefficient,
    subscription_windows,
)

CancellationType = Literal["immediate", "end_of_period", "scheduled_date"]
PauseMode = Literal["immediate", "scheduled"]
_TINY = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class LineItemOverride:
    """A change to one copied plan price for this subscription: its quantity, its amount or both."""

    price_id: str
    quantity: Decimal | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSubscription:
    """What a client asks for when it subscribes a customer to a plan (Flexprice ``POST /subscriptions``)."""

    plan_id: str
    currency: str
    billing_period: BillingPeriod
    customer_id: str | None = None
    external_customer_id: str | None = None
    billing_period_count: int = 1
    billing_cadence: str = "RECURRING"
    billing_cycle: BillingCycle = BillingCycle.ANNIVERSARY
    start_date: datetime | None = None
    end_date: datetime | None = None
    trial_end: datetime | None = None
    customer_timezone: str = "UTC"
    lookup_key: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    override_line_items: Sequence[LineItemOverride] = ()
    coupons: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class FirstPeriod:
    """Where a new subscription's schedule starts."""

    billing_anchor: datetime
    window: BillingWindow
    trial_end: datetime | None


def first_period(
    start: datetime,
    period: BillingPeriod,
    count: int,
    tz: str,
    cycle: BillingCycle,
    trial_end: datetime | None = None,
) -> FirstPeriod:
    """The first window ``[start, end)`` and the anchor later periods follow.

    With a trial the first window is the trial and the anchor resets to its end (§5); calendar
    billing anchors at the next calendar boundary (a short first period).
    """
    if trial_end is not None and trial_end <= start:
        trial_end = None
    window = subscription_windows(start, start + _TINY, period, count, tz, cycle, trial_end=trial_end)[0]
    reset = trial_end or start
    anchor = reset if cycle is BillingCycle.ANNIVERSARY else calendar_anchor(reset, period, tz)
    return FirstPeriod(billing_anchor=anchor, window=window, trial_end=trial_end)


class PlanPrice(Protocol):
    """The fields of a plan's price (a catalog row or any look-alike) the subscription rules read."""

    @property
    def currency(self) -> str: ...
    @property
    def billing_period(self) -> str: ...
    @property
    def billing_period_count(self) -> int: ...
    @property
    def trial_period_days(self) -> int: ...


P = TypeVar("P", bound=PlanPrice)


def matching_prices(prices: Iterable[P], currency: str, period: BillingPeriod, count: int) -> list[P]:
    """The plan prices a subscription copies: its currency, and its billing period or ONETIME."""
    return [
        price
        for price in prices
        if price.currency.lower() == currency.lower()
        and (
            (price.billing_period == period.value and price.billing_period_count == count)
            or price.billing_period == BillingPeriod.ONETIME.value
        )
    ]


def trial_days(prices: Iterable[PlanPrice]) -> int:
    """The longest trial among the copied prices (0 = no trial)."""
    return max((price.trial_period_days for price in prices), default=0)


def override_map(
    overrides: Sequence[LineItemOverride], price_ids: set[str]
) -> dict[str, tuple[int, Decimal | None, Decimal | None]]:
    """Overrides by price id, with their position in the request: each names a copied price once."""
    found: dict[str, tuple[int, Decimal | None, Decimal | None]] = {}
    for index, item in enumerate(overrides):
        at = f"body.override_line_items.{index}"
        if item.price_id not in price_ids:
            raise InvalidPrice(
                "is not one of the plan prices this subscription copies", field=f"{at}.price_id"
            )
        if item.price_id in found:
            raise InvalidPrice("is overridden twice", field=f"{at}.price_id")
        if item.quantity is None and item.amount is None:
            raise InvalidPrice("give quantity, amount or both", field=at)
        found[item.price_id] = (index, item.quantity, item.amount)
    return found


def cancellation_time(
    kind: CancellationType, now: datetime, current_period_end: datetime, cancel_at: datetime | None
) -> datetime:
    """When a cancellation takes effect; a scheduled date must be given and lie in the future."""
    if kind == "immediate":
        return now
    if kind == "end_of_period":
        return current_period_end
    if cancel_at is None:
        raise InvalidPeriod("is required when cancellation_type is scheduled_date", field="body.cancel_at")
    if cancel_at <= now:
        raise InvalidPeriod("must be in the future", field="body.cancel_at")
    return cancel_at


@dataclass(frozen=True, slots=True)
class AdvanceCharge:
    """One ADVANCE-billed fixed line: its unit amount and quantity for the current period."""

    amount: Decimal
    quantity: Decimal


def unused_advance_credit(
    charges: Sequence[AdvanceCharge],
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    currency: str,
) -> Decimal:
    """What an immediate cancellation at ``at`` gives back for ADVANCE fixed charges (§5).

    Each line's credit is ``amount × quantity × (period_end − at) / (period_end − period_start)``,
    rounded to the currency on its own, as proration lines are.
    """
    coefficient = proration_coefficient(period_start, period_end, at)
    return sum(
        (round_amount(charge.amount * charge.quantity * coefficient, currency) for charge in charges),
        Decimal(0),
    )


def pause_window(
    mode: PauseMode,
    now: datetime,
    pause_start: datetime | None,
    pause_end: datetime | None,
    pause_days: int | None,
) -> tuple[datetime, datetime | None]:
    """``[start, end)`` of a pause asked for at ``now`` (end None: until resumed).

    A scheduled pause needs a start in the future; ``pause_end`` wins over ``pause_days``.
    """
    if mode == "scheduled":
        if pause_start is None:
            raise InvalidPeriod("is required for a scheduled pause", field="body.pause_start")
        if pause_start <= now:
            raise InvalidPeriod("must be in the future", field="body.pause_start")
    start = pause_start if mode == "scheduled" and pause_start else now
    end = pause_end
    if end is None and pause_days is not None:
        end = start + timedelta(days=pause_days)
    if end is not None and end <= start:
        raise InvalidPeriod("must be after the pause start", field="body.pause_end")
    return start, end


def resumed_period_end(current_period_end: datetime, pause_start: datetime, resumed_at: datetime) -> datetime:
    """A pause shifts the current period's end by its duration (§5); a pause not yet begun shifts nothing."""
    return current_period_end + max(resumed_at - pause_start, timedelta(0))
