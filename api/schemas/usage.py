"""Flexprice's usage read shapes: ``GetUsageRequest``, ``GetUsageByMeterRequest``, ``GetEventsRequest``,
``GetUsageAnalyticsRequest`` and their responses (``routers/usage.py``).

Enumerated strings (aggregation type, window size, sort, order) and bounds (page size, time range) are
checked by the route, which answers 400 naming the field; quantities are exact decimal strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from api.schemas.common import DecimalOut, Id, InputModel, Text, When, neutral
from api.schemas.prices import PricePublic
from flexprice_pipelines.warehouse.usage import AGGREGATIONS, WINDOW_SIZES

MAX_PAGE_SIZE = 50  # Flexprice's limit for raw-event pages
MAX_OFFSET = 100_000
MAX_WINDOWS = 10_000  # windows of one usage answer: (end - start) / window_size
MAX_GROUPS = 5  # group_by dimensions

_WINDOW: JsonDict = {"enum": [*WINDOW_SIZES, None]}
_AGGREGATION: JsonDict = {"enum": [*AGGREGATIONS, "WEIGHTED_SUM"]}
_SORT: JsonDict = {"enum": ["timestamp", "event_name", None]}
_ORDER: JsonDict = {"enum": ["asc", "desc", None]}
PropertyFilters = dict[Text, list[Text]]
ANALYTICS = "issue 13 (analytics)"


class _TimeRange(InputModel):
    start_time: When | None = Field(
        default=None, description="Inclusive. Defaults to 7 days before `end_time`."
    )
    end_time: When | None = Field(default=None, description="Exclusive. Defaults to now.")


class GetUsageRequest(_TimeRange):
    """``POST /v1/events/usage``: one event name aggregated over ``[start_time, end_time)``."""

    event_name: Text
    aggregation_type: str = Field(json_schema_extra=_AGGREGATION)
    property_name: Text | None = Field(default=None, description="Ignored for COUNT; required otherwise.")
    multiplier: str | None = Field(default=None, description="For SUM_WITH_MULTIPLIER: a decimal string.")
    customer_id: Id | None = None
    external_customer_id: Text | None = None
    filters: PropertyFilters | None = Field(default=None, description="property → accepted values.")
    window_size: str | None = Field(default=None, json_schema_extra=_WINDOW)
    group_by: list[Text] | None = Field(
        default=None, description='"source" or "properties.<key>"; each result carries its `group`.'
    )
    bucket_size: str | None = neutral(brought_by=ANALYTICS)
    billing_anchor: str | None = neutral(brought_by=ANALYTICS)
    timezone: str | None = neutral("UTC", brought_by=ANALYTICS)
    group_by_property: str | None = neutral("", brought_by=ANALYTICS)


class GetUsageByMeterRequest(_TimeRange):
    """``POST /v1/events/usage/meter``: a meter's aggregation (its event name, filters and type)."""

    meter_id: Id
    customer_id: Id | None = None
    external_customer_id: Text | None = None
    filters: PropertyFilters | None = Field(default=None, description="Added to the meter's own filters.")
    window_size: str | None = Field(default=None, json_schema_extra=_WINDOW)
    bucket_size: str | None = neutral(brought_by=ANALYTICS)
    billing_anchor: str | None = neutral(brought_by=ANALYTICS)
    timezone: str | None = neutral("UTC", brought_by=ANALYTICS)


class UsageResult(BaseModel):
    """One window (and group) of a usage answer."""

    window_size: str | None = Field(description="The window's start (RFC 3339, UTC); null without a window.")
    value: DecimalOut
    event_count: int
    group: dict[str, str | None] | None = Field(
        default=None, description="The group_by values of this row (ours; absent without group_by)."
    )


class GetUsageResponse(BaseModel):
    """The total over the range and, with ``window_size`` or ``group_by``, the rows (oldest window first)."""

    event_name: str
    type: str
    value: DecimalOut
    event_count: int
    results: list[UsageResult]


class GetEventsRequest(_TimeRange):
    """``POST /v1/events/query``: a page of raw events (the latest version of each id)."""

    event_name: Text | None = None
    external_customer_id: Text | None = None
    event_id: Text | None = None
    source: Text | None = None
    property_filters: PropertyFilters | None = None
    page_size: int | None = Field(default=None, description=f"1–{MAX_PAGE_SIZE}, default {MAX_PAGE_SIZE}.")
    offset: int | None = Field(default=None, description=f"0–{MAX_OFFSET}, default 0.")
    sort: str | None = Field(default=None, json_schema_extra=_SORT)
    order: str | None = Field(default=None, json_schema_extra=_ORDER)
    iter_first_key: str | None = neutral("", brought_by=ANALYTICS)
    iter_last_key: str | None = neutral("", brought_by=ANALYTICS)


class EventOut(BaseModel):
    """Flexprice's ``Event``: properties as sent, numbers exact (decimals as strings)."""

    id: str
    event_name: str
    external_customer_id: str
    customer_id: str | None
    timestamp: str
    source: str | None
    properties: dict[str, Any]
    environment_id: str


class GetEventsResponse(BaseModel):
    events: list[EventOut]
    has_more: bool
    total_count: int
    offset: int
    iter_first_key: str | None = None
    iter_last_key: str | None = None


class GetEventByIDResponse(BaseModel):
    """``GET /v1/events/lookup``: the event's latest version; ``status`` is ``processed`` once it is stored."""

    event: EventOut
    status: str = "processed"
    processed_events: list[dict[str, Any]] = Field(default_factory=list)


class GetUsageAnalyticsRequest(_TimeRange):
    """``POST /v1/events/analytics``: usage per metered feature of one customer, per window and group."""

    external_customer_id: Text
    feature_ids: list[Id] | None = None
    sources: list[Text] | None = None
    group_by: list[Text] | None = Field(
        default=None, description='"feature_id" (always), "source" or "properties.<key>".'
    )
    property_filters: PropertyFilters | None = None
    window_size: str | None = Field(default=None, json_schema_extra=_WINDOW)
    breakdown_bucket: bool | None = neutral(False, brought_by=ANALYTICS)
    expand: list[str] | None = neutral([], brought_by=ANALYTICS)
    include_children: bool | None = neutral(False, brought_by=ANALYTICS)


class UsageAnalyticPoint(BaseModel):
    timestamp: str
    usage: DecimalOut
    event_count: int


class UsageAnalyticItem(BaseModel):
    """One feature (and group): its total usage and, with ``window_size``, its points. No cost fields."""

    feature_id: str
    name: str
    event_name: str
    meter_id: str
    aggregation_type: str
    source: str | None = None
    properties: dict[str, str | None] = Field(default_factory=dict)
    total_usage: DecimalOut
    event_count: int
    unit: str | None = None
    unit_plural: str | None = None
    window_size: str | None = None
    points: list[UsageAnalyticPoint] = Field(default_factory=list)


class GetUsageAnalyticsResponse(BaseModel):
    items: list[UsageAnalyticItem]


class GetUsageBySubscriptionRequest(InputModel):
    """``POST /v1/subscriptions/usage``: the subscription's current billing period, from the read model."""

    subscription_id: Id
    start_time: str | None = neutral(brought_by=ANALYTICS, description="The current period only.")
    end_time: str | None = neutral(brought_by=ANALYTICS, description="The current period only.")
    lifetime_usage: bool | None = neutral(False, brought_by=ANALYTICS)


class SubscriptionUsageCharge(BaseModel):
    """One usage line item: its quantity so far in the period and what it costs at its price."""

    subscription_line_item_id: str
    price_id: str
    price: PricePublic = Field(description="The line item's price (Flexprice's `price`).")
    meter_id: str
    meter_display_name: str | None
    quantity: DecimalOut
    amount: DecimalOut
    currency: str
    is_overage: bool = False


class GetUsageBySubscriptionResponse(BaseModel):
    amount: DecimalOut
    currency: str | None
    start_time: str | None
    end_time: str | None
    charges: list[SubscriptionUsageCharge]


class RealTimeWalletBalance(BaseModel):
    """Flexprice's ``WalletBalanceResponse`` (the fields we compute): the balance less unbilled usage."""

    id: str
    customer_id: str
    currency: str
    balance: DecimalOut
    credit_balance: DecimalOut
    conversion_rate: DecimalOut
    current_period_usage: DecimalOut = Field(description="Unbilled usage of current periods, in currency.")
    real_time_balance: DecimalOut = Field(description="balance − current_period_usage.")
    real_time_credit_balance: DecimalOut = Field(description="real_time_balance ÷ conversion_rate.")
    wallet_status: str
    balance_updated_at: str
