"""Valid bodies and objects created through the API, one function per kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from flexprice_pipelines.catalog import Repository
from flexprice_pipelines.catalog.models import Invoice, InvoiceLineItem
from tests.api.conftest import Tenant

Obj = dict[str, Any]


def meter(t: Tenant, **extra: Any) -> Obj:
    return t.created(
        "/v1/meters",
        {"event_name": "api_call", "name": "API calls", "aggregation": {"type": "COUNT"}, **extra},
    )


def feature(t: Tenant, **extra: Any) -> Obj:
    body = {"name": "API calls", "type": "metered", "meter_id": meter(t)["id"], **extra}
    return t.created("/v1/features", body)


def fixed_price(**extra: Any) -> Obj:
    return {
        "type": "FIXED",
        "billing_model": "FLAT_FEE",
        "amount": "30.00",
        "currency": "usd",
        "billing_period": "MONTHLY",
        "invoice_cadence": "ADVANCE",
        **extra,
    }


def tiered_price(meter_id: str, **extra: Any) -> Obj:
    return {
        "type": "USAGE",
        "billing_model": "TIERED",
        "tier_mode": "SLAB",
        "tiers": [
            {"up_to": 10, "unit_amount": "50"},
            {"up_to": 20, "unit_amount": "40"},
            {"up_to": None, "unit_amount": "30"},
        ],
        "currency": "usd",
        "billing_period": "MONTHLY",
        "invoice_cadence": "ARREAR",
        "meter_id": meter_id,
        **extra,
    }


def plan(t: Tenant, **extra: Any) -> Obj:
    body = {"name": "Pro", "prices": [fixed_price(), tiered_price(meter(t)["id"])], **extra}
    return t.created("/v1/plans", body)


def price(t: Tenant) -> Obj:
    return t.created("/v1/prices", {**fixed_price(), "entity_id": plan(t, prices=[])["id"]})


def entitlement(t: Tenant) -> Obj:
    body = {"entity_id": plan(t, prices=[])["id"], "feature_id": feature(t)["id"], "usage_limit": 1000}
    return t.created("/v1/entitlements", body)


_counter = iter(range(10**9))


def customer(t: Tenant, **extra: Any) -> Obj:
    return t.created("/v1/customers", {"external_id": f"ext-{next(_counter)}", "name": "Acme", **extra})


def subscription(t: Tenant, **extra: Any) -> Obj:
    body = {
        "customer_id": customer(t)["id"],
        "plan_id": plan(t)["id"],
        "currency": "usd",
        "billing_period": "MONTHLY",
        **extra,
    }
    return t.created("/v1/subscriptions", body)


def coupon(t: Tenant) -> Obj:
    return t.created("/v1/coupons", {"name": "Launch", "type": "percentage", "percentage_off": "10"})


def tax_rate(t: Tenant, **extra: Any) -> Obj:
    body = {
        "name": "VAT",
        "code": f"vat-{next(_counter)}",
        "tax_rate_type": "percentage",
        "percentage_value": "8.875",
        **extra,
    }
    return t.created("/v1/taxes/rates", body)


def tax_association(t: Tenant) -> Obj:
    body = {"tax_rate_id": tax_rate(t)["id"], "entity_type": "CUSTOMER", "entity_id": customer(t)["id"]}
    return t.created("/v1/taxes/associations", body)


def wallet(t: Tenant, **extra: Any) -> Obj:
    return t.created("/v1/wallets", {"customer_id": customer(t)["id"], "currency": "usd", **extra})


def credit_grant(t: Tenant) -> Obj:
    body = {"name": "Welcome", "scope": "PLAN", "plan_id": plan(t)["id"], "credits": "100", "currency": "usd"}
    return t.created("/v1/creditgrants", body)


def invoice(t: Tenant, status: str = "FINALIZED", payment_status: str = "PENDING") -> Obj:
    """Invoices are written by the pipeline, so this one goes straight to the catalog."""
    sub = subscription(t)
    with t.app.state.database.session() as session:
        row = Repository(session, t.scope, Invoice).create(
            customer_id=sub["customer_id"],
            subscription_id=sub["id"],
            invoice_status=status,
            payment_status=payment_status,
            billing_reason="SUBSCRIPTION_CYCLE",
            currency="usd",
            subtotal=Decimal("30.00"),
            total=Decimal("30.00"),
            amount_due=Decimal("30.00"),
            amount_remaining=Decimal("30.00"),
            period_start=datetime.fromisoformat(sub["current_period_start"]),
            period_end=datetime.fromisoformat(sub["current_period_end"]),
        )
        Repository(session, t.scope, InvoiceLineItem).create(
            invoice_id=row.id,
            customer_id=sub["customer_id"],
            subscription_id=sub["id"],
            amount=Decimal("30.00"),
            quantity=Decimal("1"),
            currency="usd",
        )
        session.commit()
        return {"id": row.id, "subscription_id": sub["id"]}


def webhook_endpoint(t: Tenant) -> Obj:
    return t.created(
        "/v1/webhooks/endpoints",
        {"url": "https://hooks.example.com/flexprice", "enabled_events": ["invoice.update.finalized"]},
    )


# What the `{id}` of each collection names: the isolation test creates one with these.
BY_COLLECTION: dict[str, Callable[[Tenant], Obj]] = {
    "/v1/meters": meter,
    "/v1/features": feature,
    "/v1/plans": plan,
    "/v1/prices": price,
    "/v1/entitlements": entitlement,
    "/v1/customers": customer,
    "/v1/subscriptions": subscription,
    "/v1/coupons": coupon,
    "/v1/taxes/rates": tax_rate,
    "/v1/taxes/associations": tax_association,
    "/v1/wallets": wallet,
    "/v1/creditgrants": credit_grant,
    "/v1/invoices": invoice,
    "/v1/webhooks/endpoints": webhook_endpoint,
}

# A valid body for each action route, so a 404 is not hidden behind a 400.
ACTION_BODIES: dict[str, Obj] = {
    "cancel": {"cancellation_type": "immediate"},
    "top-up": {"credits_to_add": "5"},
}
