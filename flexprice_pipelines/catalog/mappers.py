"""Catalog rows as the billing core's values, one mapper per type.

The pipeline's terms (``ledger/terms.py``), the read model (``usage/catalog_view.py``), the ledger's
wallet balances and the catalog's own subscription service all read prices, meters, coupons, tax
rates and wallet credit through these functions, so a column the core learns to read is added once.
"""

from __future__ import annotations

from decimal import Decimal

from flexprice_pipelines.billing.entitlements import EntitlementSource, EntityType
from flexprice_pipelines.billing.invoicing import Coupon as BillingCoupon
from flexprice_pipelines.billing.invoicing import CouponCadence, CouponType, TaxRateType
from flexprice_pipelines.billing.invoicing import TaxRate as BillingTaxRate
from flexprice_pipelines.billing.meters import Meter as BillingMeter
from flexprice_pipelines.billing.pricing import Price as BillingPrice
from flexprice_pipelines.billing.wallets import CreditBalance
from flexprice_pipelines.catalog.models import (
    Coupon,
    Entitlement,
    Meter,
    Price,
    TaxRate,
    Wallet,
    WalletTransaction,
)


def entitlement_source(row: Entitlement, *, subscription_id: str, plan_id: str) -> EntitlementSource:
    """An entitlement row as one source of a subscription's entitlements (plan, add-on or override)."""
    return EntitlementSource(
        subscription_id=subscription_id,
        plan_id=plan_id,
        entity_type=EntityType(row.entity_type),
        feature_id=row.feature_id,
        feature_type=row.feature_type,  # type: ignore[arg-type]
        is_enabled=row.is_enabled,
        usage_limit=Decimal(row.usage_limit) if row.usage_limit is not None else None,
        usage_reset_period=row.usage_reset_period,
        is_soft_limit=row.is_soft_limit,
        static_value=row.static_value,
        entitlement_id=row.id,
    )


def billing_meter(row: Meter) -> BillingMeter:
    """A catalog meter row as the billing core's ``Meter``."""
    return BillingMeter.model_validate(
        {
            "id": row.id,
            "name": row.name,
            "event_name": row.event_name,
            "aggregation": row.aggregation,
            "filters": row.filters or [],
            "reset_usage": row.reset_usage,
        }
    )


def billing_price(row: Price, *, amount: Decimal | None = None) -> BillingPrice:
    """A catalog price row as the billing core's ``Price`` (§3 rules checked: ``InvalidPrice``).

    ``amount`` validates the row with another amount, as a subscription override would store it.
    """
    return BillingPrice.model_validate(
        {
            "id": row.id,
            "type": row.type,
            "billing_model": row.billing_model,
            "tier_mode": row.tier_mode,
            "tiers": row.tiers,
            "amount": row.amount if amount is None else amount,
            "currency": row.currency,
            "transform_quantity": row.transform_quantity,
            "billing_period": row.billing_period,
            "billing_period_count": row.billing_period_count,
            "invoice_cadence": row.invoice_cadence,
            "meter_id": row.meter_id,
            "trial_period_days": row.trial_period_days,
        }
    )


def billing_coupon(row: Coupon) -> BillingCoupon:
    """A catalog coupon row as the billing core's ``Coupon``."""
    return BillingCoupon(
        id=row.id,
        type=CouponType(row.coupon_type),
        amount_off=row.amount_off,
        percentage_off=row.percentage_off,
        currency=row.currency,
        cadence=CouponCadence(row.cadence),
        duration_in_periods=row.duration_in_periods,
        name=row.name,
    )


def billing_tax_rate(row: TaxRate) -> BillingTaxRate:
    """A catalog tax rate row as the billing core's ``TaxRate``."""
    return BillingTaxRate(
        id=row.id,
        name=row.name,
        tax_rate_type=TaxRateType(row.tax_rate_type),
        percentage_value=row.percentage_value,
        fixed_value=row.fixed_value,
        currency=row.currency,
    )


def credit_balance(tx: WalletTransaction, wallet: Wallet) -> CreditBalance:
    """The unconsumed part of a wallet credit transaction, in the wallet's currency.

    Balances are kept in the invoice currency (credits × conversion rate) so plans compare to amounts.
    """
    return CreditBalance(
        transaction_id=tx.id,
        remaining=tx.credits_available * wallet.conversion_rate,
        created_at=tx.created_at,
        priority=tx.priority,
        expiry_date=tx.expiry_date,
    )


__all__ = ["billing_coupon", "billing_meter", "billing_price", "billing_tax_rate", "credit_balance"]
