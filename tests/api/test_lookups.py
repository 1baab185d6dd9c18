"""Flexprice's lookup routes, called through Flexprice's SDK on a real server: a price by
``lookup_key``, a plan's entitlements and credit grants, a subscription's entitlements, a customer's
invoice summary and ``PUT /v1/customers?id=`` — each scoped (another tenant's id is a 404)."""

from __future__ import annotations

# ruff: noqa: F811  (the fixtures imported below are test parameters)
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.api.live_sdk import Live, live, live_server  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.timeout(180)]

FIXED = {
    "type": "FIXED",
    "billing_model": "FLAT_FEE",
    "amount": "30.00",
    "currency": "usd",
    "billing_period": "MONTHLY",
    "invoice_cadence": "ADVANCE",
}


def _status(call: Any) -> int:
    from flexprice.models.errors import FlexpriceError

    with pytest.raises(FlexpriceError) as raised:
        call()
    return int(raised.value.status_code)


def test_price_by_lookup_key(live: Live) -> None:
    a, b = live.a, live.b
    plan = a.created("/v1/plans", {"name": "Pro", "prices": []})
    price = a.created("/v1/prices", {**FIXED, "entity_id": plan["id"], "lookup_key": "pro-monthly"})
    a.created("/v1/prices", {**FIXED, "amount": "300", "entity_id": plan["id"], "lookup_key": "pro-yearly"})

    found = a.sdk.prices.get_price_by_lookup_key(lookup_key="pro-monthly")
    assert (found.id, found.lookup_key, found.amount) == (price["id"], "pro-monthly", "30.00")
    # The literal path is not taken for an id, and an id is not a lookup key.
    assert a.http.get(f"/v1/prices/{price['id']}").json()["lookup_key"] == "pro-monthly"
    assert a.http.get(f"/v1/prices/lookup/{price['id']}").status_code == 404
    assert _status(lambda: b.sdk.prices.get_price_by_lookup_key(lookup_key="pro-monthly")) == 404
    assert a.http.delete(f"/v1/prices/{price['id']}").status_code == 200
    assert _status(lambda: a.sdk.prices.get_price_by_lookup_key(lookup_key="pro-monthly")) == 404


def test_coupon_by_code(live: Live) -> None:
    a, b = live.a, live.b
    coupon = a.sdk.coupons.create_coupon(
        name="Launch", type_="percentage", cadence="once", percentage_off="10", coupon_code="LAUNCH10"
    )
    a.created(
        "/v1/coupons", {"name": "Other", "type": "percentage", "percentage_off": "5", "coupon_code": "OTHER"}
    )
    found = a.sdk.coupons.get_coupon_by_code(code="LAUNCH10")
    assert (found.id, found.coupon_code, found.percentage_off) == (coupon.id, "LAUNCH10", "10")
    assert a.http.get(f"/v1/coupons/{coupon.id}").json()["coupon_code"] == "LAUNCH10"
    assert a.http.get(f"/v1/coupons/code/{coupon.id}").status_code == 404  # an id is not a code
    assert _status(lambda: b.sdk.coupons.get_coupon_by_code(code="LAUNCH10")) == 404  # another tenant's
    assert a.http.delete(f"/v1/coupons/{coupon.id}").status_code == 200
    assert _status(lambda: a.sdk.coupons.get_coupon_by_code(code="LAUNCH10")) == 404


def test_plan_entitlements_and_credit_grants(live: Live) -> None:
    a, b = live.a, live.b
    meter = a.created(
        "/v1/meters", {"event_name": "api_call", "name": "API calls", "aggregation": {"type": "COUNT"}}
    )
    calls = a.created("/v1/features", {"name": "Calls", "type": "metered", "meter_id": meter["id"]})
    sso = a.created("/v1/features", {"name": "SSO", "type": "boolean"})
    plan = a.created("/v1/plans", {"name": "Pro", "prices": []})
    other_plan = a.created("/v1/plans", {"name": "Free", "prices": []})
    first = a.created(
        "/v1/entitlements", {"entity_id": plan["id"], "feature_id": calls["id"], "usage_limit": 500}
    )
    second = a.created("/v1/entitlements", {"entity_id": plan["id"], "feature_id": sso["id"]})
    a.created("/v1/entitlements", {"entity_id": other_plan["id"], "feature_id": sso["id"]})
    grant = {"name": "Welcome", "scope": "PLAN", "plan_id": plan["id"], "credits": "100", "currency": "usd"}
    welcome = a.created("/v1/creditgrants", grant)
    a.created("/v1/creditgrants", {**grant, "plan_id": other_plan["id"]})

    entitlements = a.sdk.entitlements.get_plan_entitlements(id=plan["id"])
    assert [(e.id, e.feature_id) for e in entitlements.items] == [
        (first["id"], calls["id"]),
        (second["id"], sso["id"]),
    ]
    assert entitlements.items[0].usage_limit == 500 and entitlements.pagination.total == 2
    grants = a.sdk.credit_grants.get_plan_credit_grants(id=plan["id"])
    assert [(g.id, g.credits) for g in grants.items] == [
        (welcome["id"], "100")
    ] and grants.pagination.total == 1

    assert a.http.delete(f"/v1/entitlements/{second['id']}").status_code == 200
    assert [e.id for e in a.sdk.entitlements.get_plan_entitlements(id=plan["id"]).items] == [first["id"]]
    assert _status(lambda: b.sdk.entitlements.get_plan_entitlements(id=plan["id"])) == 404
    assert _status(lambda: b.sdk.credit_grants.get_plan_credit_grants(id=plan["id"])) == 404


def test_subscription_entitlements_apply_the_subscriptions_overrides(live: Live) -> None:
    a, b = live.a, live.b
    meter = a.created(
        "/v1/meters", {"event_name": "api_call", "name": "API calls", "aggregation": {"type": "COUNT"}}
    )
    calls = a.created("/v1/features", {"name": "Calls", "type": "metered", "meter_id": meter["id"]})
    seats = a.created("/v1/features", {"name": "Tier", "type": "static"})
    plan = a.created("/v1/plans", {"name": "Pro", "prices": [FIXED]})
    a.created("/v1/entitlements", {"entity_id": plan["id"], "feature_id": calls["id"], "usage_limit": 500})
    tier = a.created(
        "/v1/entitlements", {"entity_id": plan["id"], "feature_id": seats["id"], "static_value": "gold"}
    )
    customer = a.created("/v1/customers", {"external_id": "acme", "name": "Acme"})
    subscription = a.created(
        "/v1/subscriptions",
        {
            "customer_id": customer["id"],
            "plan_id": plan["id"],
            "currency": "usd",
            "billing_period": "MONTHLY",
        },
    )
    override = a.created(
        "/v1/entitlements",
        {
            "entity_type": "SUBSCRIPTION",
            "entity_id": subscription["id"],
            "feature_id": calls["id"],
            "usage_limit": 2000,
        },
    )

    answered = a.sdk.subscriptions.get_subscription_entitlements(id=subscription["id"])
    assert (answered.subscription_id, answered.plan_id) == (subscription["id"], plan["id"])
    by_feature = {f.feature.id: f for f in answered.features}
    assert set(by_feature) == {calls["id"], seats["id"]}
    metered = by_feature[calls["id"]]
    assert metered.entitlement.usage_limit == 2000 and metered.entitlement.is_enabled is True
    assert [(s.entitlement_id, s.entity_type, s.entity_id) for s in metered.sources] == [
        (override["id"], "subscription", subscription["id"])
    ]
    static = by_feature[seats["id"]]
    assert static.entitlement.static_values == ["gold"]
    assert [(s.entitlement_id, s.entity_type, s.entity_id) for s in static.sources] == [
        (tier["id"], "plan", plan["id"])
    ]

    only = a.sdk.subscriptions.get_subscription_entitlements(id=subscription["id"], feature_ids=[seats["id"]])
    assert [f.feature.id for f in only.features] == [seats["id"]]
    assert _status(lambda: b.sdk.subscriptions.get_subscription_entitlements(id=subscription["id"])) == 404


def test_customer_invoice_summary_per_currency(live: Live) -> None:
    a, b = live.a, live.b
    customer = a.created("/v1/customers", {"external_id": "acme", "name": "Acme"})
    other = a.created("/v1/customers", {"external_id": "other", "name": "Other"})
    past = datetime(2020, 1, 1, tzinfo=UTC)
    future = datetime(2999, 1, 1, tzinfo=UTC)
    money = {"amount_due": Decimal("100.10"), "total": Decimal("100.10")}
    # usd: one paid, one unpaid not yet due, one overdue; a draft and a voided one are not counted.
    live.invoice(a, customer["id"], **money, amount_paid=Decimal("100.10"), payment_status="SUCCEEDED")
    live.invoice(
        a,
        customer["id"],
        amount_due=Decimal("40.05"),
        amount_remaining=Decimal("40.05"),
        due_date=future,
        lines=[("USAGE", "25.05", {}), ("FIXED", "15", {})],
    )
    live.invoice(
        a,
        customer["id"],
        amount_due=Decimal("0.3"),
        amount_remaining=Decimal("0.3"),
        due_date=past,
        lines=[("USAGE", "0.1", {}), ("USAGE", "0.2", {})],
    )
    live.invoice(a, customer["id"], **money, amount_remaining=Decimal("100.10"), invoice_status="DRAFT")
    live.invoice(a, customer["id"], **money, amount_remaining=Decimal("100.10"), invoice_status="VOIDED")
    live.invoice(a, customer["id"], currency="eur", amount_due=Decimal("7"), amount_remaining=Decimal("7"))
    live.invoice(a, other["id"], **money, amount_remaining=Decimal("100.10"))

    summary = a.sdk.invoices.get_customer_invoice_summary(id=customer["id"])
    assert (summary.customer_id, summary.default_currency) == (customer["id"], "eur")
    by_currency = {s.currency: s for s in summary.summaries}
    assert list(by_currency) == ["eur", "usd"]
    usd = by_currency["usd"]
    assert (usd.total_invoice_count, usd.unpaid_invoice_count, usd.overdue_invoice_count) == (3, 2, 1)
    assert Decimal(usd.total_revenue_amount) == Decimal("140.45")
    assert Decimal(usd.total_unpaid_amount) == Decimal("40.35")
    assert Decimal(usd.total_overdue_amount) == Decimal("0.3")
    assert Decimal(usd.unpaid_usage_charges) == Decimal("25.35")  # exact: 25.05 + 0.1 + 0.2
    assert Decimal(usd.unpaid_fixed_charges) == Decimal("15")
    eur = by_currency["eur"]
    assert (eur.total_invoice_count, Decimal(eur.total_unpaid_amount), eur.overdue_invoice_count) == (1, 7, 0)

    empty = a.sdk.invoices.get_customer_invoice_summary(
        id=a.created("/v1/customers", {"external_id": "new", "name": "New"})["id"]
    )
    assert empty.summaries == [] and empty.default_currency is None
    assert _status(lambda: b.sdk.invoices.get_customer_invoice_summary(id=customer["id"])) == 404


def test_update_customer_by_query_id_or_external_id(live: Live) -> None:
    a, b = live.a, live.b
    customer = a.created("/v1/customers", {"external_id": "acme", "name": "Acme"})

    renamed = a.sdk.customers.update_customer(id=customer["id"], name="Acme Inc", email="billing@acme.test")
    assert (renamed.id, renamed.name, renamed.email) == (customer["id"], "Acme Inc", "billing@acme.test")
    by_external = a.sdk.customers.update_customer(external_customer_id="acme", address_city="Lyon")
    assert (by_external.id, by_external.address_city, by_external.name) == (
        customer["id"],
        "Lyon",
        "Acme Inc",
    )
    stored = a.http.get(f"/v1/customers/{customer['id']}").json()
    assert (stored["name"], stored["address_city"]) == ("Acme Inc", "Lyon")
    # The path route is kept.
    assert a.http.put(f"/v1/customers/{customer['id']}", json={"name": "Acme SA"}).json()["name"] == "Acme SA"

    assert _status(lambda: b.sdk.customers.update_customer(id=customer["id"], name="stolen")) == 404
    assert _status(lambda: b.sdk.customers.update_customer(external_customer_id="acme", name="stolen")) == 404
    assert a.http.get(f"/v1/customers/{customer['id']}").json()["name"] == "Acme SA"
    neither = a.http.put("/v1/customers", json={"name": "x"})
    assert neither.status_code == 400 and "query.id" in neither.text
