"""What the rating engine needs to know about a subscription, as plain frozen values.

The Dagster assets load these from the catalog; the rating functions never see a database row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flexprice_pipelines.billing.enums import BillingCycle, BillingPeriod
from flexprice_pipelines.billing.invoicing import Coupon, TaxRate
from flexprice_pipelines.billing.pricing import Price


@dataclass(frozen=True, slots=True, kw_only=True)
class LineItemTerms:
    """One subscription line item: its price, fixed quantity and the included units of its feature."""

    line_item_id: str
    price: Price
    display_name: str
    quantity: Decimal = Decimal(1)
    start: datetime | None = None
    end: datetime | None = None
    # Entitlement usage_limit of the metered feature (§6): None = no allowance, unlimited = nothing billed.
    included_units: Decimal | None = None
    unlimited: bool = False

    @property
    def price_id(self) -> str:
        """The catalog id of the price (prices loaded from the catalog always carry one)."""
        return self.price.id or self.line_item_id

    def active_in(self, start: datetime, end: datetime) -> bool:
        """Whether the line item overlaps ``[start, end)``."""
        return (self.start is None or self.start < end) and (self.end is None or self.end > start)


@dataclass(frozen=True, slots=True, kw_only=True)
class CouponTerms:
    """A coupon association: the whole invoice, or one line item when ``line_item_id`` is set."""

    coupon: Coupon
    line_item_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        """Whether the association covers an invoice issued at ``at``."""
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionTerms:
    """A subscription with everything its invoices depend on (line items, coupons, taxes)."""

    tenant_id: str
    environment_id: str
    subscription_id: str
    customer_id: str
    external_customer_id: str
    plan_id: str | None
    currency: str
    start: datetime
    billing_period: BillingPeriod
    billing_period_count: int = 1
    billing_cycle: BillingCycle = BillingCycle.ANNIVERSARY
    timezone: str = "UTC"
    trial_end: datetime | None = None
    pauses: tuple[tuple[datetime, datetime], ...] = ()
    cancel_at: datetime | None = None
    line_items: tuple[LineItemTerms, ...] = ()
    coupons: tuple[CouponTerms, ...] = ()
    tax_rates: tuple[TaxRate, ...] = field(default=())

    @property
    def has_advance_charges(self) -> bool:
        """Whether the subscription bills fixed charges in advance (so it gets a SUBSCRIPTION_CREATE invoice)."""
        return any(item.price.invoice_cadence == "ADVANCE" for item in self.line_items)
