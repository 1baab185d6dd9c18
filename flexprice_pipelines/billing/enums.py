"""Billing period and billing cycle enums, spelled as Flexprice spells them (docs/billing-semantics.md §3, §5).

They live in their own module so that prices, periods and subscriptions share one definition.
"""

from __future__ import annotations

from enum import StrEnum


class BillingPeriod(StrEnum):
    """How often a price or a subscription bills (Flexprice ``billing_period``)."""

    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    ANNUAL = "ANNUAL"
    ONETIME = "ONETIME"


class BillingCycle(StrEnum):
    """Where a subscription's periods are anchored (Flexprice ``billing_cycle``)."""

    ANNIVERSARY = "anniversary"
    CALENDAR = "calendar"
