"""Domain validation of request bodies with the billing core, errors re-pathed to the request.

``InvalidPrice`` from ``billing.pricing.Price`` names ``tiers.1.up_to``; the API reports
``body.tiers.1.up_to`` (or ``body.prices.0.tiers.1.up_to`` inside a plan).
"""

from __future__ import annotations

from typing import Any

from api.schemas.common import plain
from api.schemas.meters import MeterCreate
from api.schemas.prices import PriceFields
from flexprice_pipelines.billing.errors import BillingError, InvalidMeter
from flexprice_pipelines.billing.meters import Meter
from flexprice_pipelines.billing.pricing import BillingPeriod, Price, repath


def validate_price(fields: PriceFields, prefix: str = "body") -> Price:
    """The price as the billing core sees it (§3 rules checked), or ``InvalidPrice`` naming the field."""
    # Only PriceFields: a PriceCreate's owner and neutral fields are no part of the billing core's price.
    descriptive = {"metadata", "description", "display_amount", "display_name", "billing_cadence"}
    raw: dict[str, Any] = fields.model_dump(include=set(PriceFields.model_fields) - descriptive)
    try:
        return Price.model_validate(raw)
    except BillingError as exc:
        raise repath(exc, prefix) from None


def price_columns(fields: PriceFields, price: Price) -> dict[str, Any]:
    """Catalog columns of a validated price (tiers and decimals stored as strings)."""
    tiers = None
    if price.tiers:
        tiers = [
            {
                "up_to": None if tier.up_to is None else plain(tier.up_to),
                "unit_amount": plain(tier.unit_amount),
                "flat_amount": plain(tier.flat_amount),
            }
            for tier in price.tiers
        ]
    transform = None
    if price.transform_quantity is not None:
        transform = {"divide_by": price.transform_quantity.divide_by, "round": price.transform_quantity.round}
    onetime = price.billing_period is BillingPeriod.ONETIME
    return {
        "type": price.type.value,
        "billing_model": price.billing_model.value,
        "tier_mode": None if price.tier_mode is None else price.tier_mode.value,
        "tiers": tiers,
        "amount": price.amount,
        "currency": price.currency,
        "transform_quantity": transform,
        "billing_period": price.billing_period.value,
        "billing_period_count": price.billing_period_count,
        "invoice_cadence": price.invoice_cadence.value,
        "billing_cadence": "ONETIME" if onetime else fields.billing_cadence,
        "meter_id": price.meter_id,
        "lookup_key": fields.lookup_key,
        "description": fields.description,
        "display_amount": fields.display_amount,
        "display_name": fields.display_name,
        "trial_period_days": price.trial_period_days,
        "metadata": fields.metadata,
    }


def validate_meter(body: MeterCreate, prefix: str = "body") -> Meter:
    """The meter as the billing core sees it (§2 rules), or ``InvalidMeter`` naming the field."""
    try:
        # The neutral fields (expression, group_by) are no part of the billing core's meter.
        neutral_fields = {"aggregation": {"expression", "group_by"}}
        return Meter.model_validate(body.model_dump(mode="json", exclude=neutral_fields))
    except InvalidMeter as exc:
        raise repath(exc, prefix) from None
