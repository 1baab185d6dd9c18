"""One router per domain; ``ROUTERS`` is the order they are mounted in (and shown in /docs).

``usage.router`` comes before ``customers.router`` and ``events.router``: its ``/v1/customers/usage`` must
not be read as ``/v1/customers/{id}``.

``CHECK_ROUTES`` (``POST /v1/entitlements/check[/batch]``, the latency-critical routes) are mounted on
the app itself before them (``api/app.py``): requests are matched in that order.
"""

from __future__ import annotations

from api.routers import (
    coupons,
    creditgrants,
    customers,
    entitlement_checks,
    entitlements,
    events,
    features,
    health,
    invoices,
    meters,
    plans,
    prices,
    stripe_webhooks,
    subscriptions,
    taxes,
    usage,
    wallets,
    webhook_endpoints,
)

CHECK_ROUTES = entitlement_checks.checks.routes
ROUTERS = [
    health.router,
    meters.router,
    features.router,
    plans.router,
    prices.router,
    entitlements.router,
    usage.router,  # before customers: /v1/customers/usage is not a customer id
    customers.router,
    entitlement_checks.router,
    events.router,
    subscriptions.router,
    coupons.router,
    taxes.rates,
    taxes.associations,
    wallets.router,
    creditgrants.router,
    invoices.router,
    stripe_webhooks.router,
    webhook_endpoints.router,
]
