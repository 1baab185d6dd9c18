"""One router per domain; ``ROUTERS`` is the order they are mounted in (and shown in /docs)."""

from __future__ import annotations

from api.routers import (
    coupons,
    creditgrants,
    customers,
    entitlements,
    features,
    health,
    invoices,
    meters,
    plans,
    prices,
    subscriptions,
    taxes,
    wallets,
)

ROUTERS = [
    health.router,
    meters.router,
    features.router,
    plans.router,
    prices.router,
    entitlements.router,
    customers.router,
    subscriptions.router,
    coupons.router,
    taxes.rates,
    taxes.associations,
    wallets.router,
    creditgrants.router,
    invoices.router,
]
