"""Every catalog table; importing this package registers them all on ``Base.metadata``."""

from __future__ import annotations

from flexprice_pipelines.catalog.models.base import Base, ScopedModel, utcnow
from flexprice_pipelines.catalog.models.catalog import Customer, Entitlement, Feature, Meter, Plan, Price
from flexprice_pipelines.catalog.models.coupons import Coupon, CouponAssociation
from flexprice_pipelines.catalog.models.integrations import EntityIntegrationMapping
from flexprice_pipelines.catalog.models.invoices import Invoice, InvoiceLineItem, InvoiceSequence
from flexprice_pipelines.catalog.models.subscriptions import (
    Subscription,
    SubscriptionLineItem,
    SubscriptionPause,
)
from flexprice_pipelines.catalog.models.taxes import TaxAssociation, TaxRate
from flexprice_pipelines.catalog.models.tenancy import ApiKey, Environment, Tenant, TenantSettings
from flexprice_pipelines.catalog.models.wallets import (
    CreditGrant,
    CreditGrantApplication,
    Wallet,
    WalletTransaction,
)
from flexprice_pipelines.catalog.models.webhooks import (
    WEBHOOK_MODELS,
    SystemEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)

# Polymorphic (entity_type, entity_id) references resolve through this table; types not listed
# (ADDON, TENANT …) are not checked. Keys are compared upper-cased.
ENTITY_TYPES: dict[str, type[ScopedModel]] = {
    "PLAN": Plan,
    "SUBSCRIPTION": Subscription,
    "CUSTOMER": Customer,
    "INVOICE": Invoice,
    "PRICE": Price,
    "FEATURE": Feature,
    "METER": Meter,
    "COUPON": Coupon,
    "WALLET": Wallet,
    "TAX_RATE": TaxRate,
    "CREDIT_GRANT": CreditGrant,
}

__all__ = [
    "ENTITY_TYPES",
    "WEBHOOK_MODELS",
    "ApiKey",
    "Base",
    "Coupon",
    "CouponAssociation",
    "CreditGrant",
    "CreditGrantApplication",
    "Customer",
    "Entitlement",
    "EntityIntegrationMapping",
    "Environment",
    "Feature",
    "Invoice",
    "InvoiceLineItem",
    "InvoiceSequence",
    "Meter",
    "Plan",
    "Price",
    "ScopedModel",
    "Subscription",
    "SubscriptionLineItem",
    "SubscriptionPause",
    "SystemEvent",
    "TaxAssociation",
    "TaxRate",
    "Tenant",
    "TenantSettings",
    "Wallet",
    "WalletTransaction",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "utcnow",
]
