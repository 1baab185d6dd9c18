"""Nested lists are never cut at a page: a plan's prices and entitlements, a subscription's and an
invoice's line items, and a wallet's available credits all cover more than 1,000 children (the
largest page a list can ask for), on both backends. Balances are summed exactly in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from flexprice_pipelines.catalog import Repository
from flexprice_pipelines.catalog.models import (
    Entitlement,
    Feature,
    Invoice,
    InvoiceLineItem,
    Price,
    WalletTransaction,
)
from flexprice_pipelines.catalog.models.base import ScopedModel
from tests.api import factories
from tests.api.conftest import FROZEN_NOW, Tenant

CHILDREN = 1_001  # one more than MAX_LIMIT, the page size the old reads used


def _insert(t: Tenant, model: type[ScopedModel], rows: list[dict[str, Any]]) -> list[str]:
    """Rows of the tenant's scope in one bulk insert (a thousand ``Repository.create`` calls are slow)."""
    scoped = [
        {**row, "tenant_id": t.scope.tenant_id, "environment_id": t.scope.environment_id} for row in rows
    ]
    with t.app.state.database.session() as session:
        ids = list(session.scalars(insert(model).returning(model.id), scoped))
        session.commit()
    return ids


def _prices(t: Tenant, plan_id: str, count: int) -> None:
    """``count`` ADVANCE fixed prices of 30.00 usd on a plan."""
    fields = {
        **factories.fixed_price(),
        "amount": Decimal("30.00"),
        "entity_type": "PLAN",
        "entity_id": plan_id,
    }
    _insert(t, Price, [{**fields, "description": f"seat {index}"} for index in range(count)])


def test_a_plan_lists_all_its_prices_and_entitlements(tenant: Tenant) -> None:
    plan = factories.plan(tenant, prices=[], lookup_key="big")
    _prices(tenant, plan["id"], CHILDREN)
    features = _insert(
        tenant,
        Feature,
        [{"name": f"flag {i}", "lookup_key": f"flag-{i}", "type": "boolean"} for i in range(CHILDREN)],
    )
    _insert(
        tenant,
        Entitlement,
        [
            {"entity_type": "PLAN", "entity_id": plan["id"], "feature_id": f, "feature_type": "boolean"}
            for f in features
        ],
    )
    one = tenant.get(f"/v1/plans/{plan['id']}").json()
    (listed,) = tenant.get("/v1/plans", lookup_key="big").json()["items"]
    for got in (one, listed):
        assert len({p["id"] for p in got["prices"]}) == len(got["prices"]) == CHILDREN
        assert sorted(e["feature_id"] for e in got["entitlements"]) == sorted(features)


def test_a_subscription_copies_and_lists_every_plan_price(tenant: Tenant) -> None:
    # The unused-time credit of one 30.00 ADVANCE line cancelled now (the factory's plan has one).
    single = factories.subscription(tenant, start_date="2025-03-01T00:00:00Z")
    single_wallet = tenant.created("/v1/wallets", {"customer_id": single["customer_id"], "currency": "usd"})
    tenant.post(f"/v1/subscriptions/{single['id']}/cancel", {"cancellation_type": "immediate"})
    one_line = Decimal(tenant.get(f"/v1/wallets/{single_wallet['id']}/balance").json()["balance"])
    assert one_line > 0

    plan = factories.plan(tenant, prices=[])
    _prices(tenant, plan["id"], CHILDREN)
    customer = factories.customer(tenant)
    wallet = tenant.created("/v1/wallets", {"customer_id": customer["id"], "currency": "usd"})
    body = {
        "customer_id": customer["id"],
        "plan_id": plan["id"],
        "currency": "usd",
        "billing_period": "MONTHLY",
    }
    created = tenant.created("/v1/subscriptions", {**body, "start_date": "2025-03-01T00:00:00Z"})
    got = tenant.get(f"/v1/subscriptions/{created['id']}").json()
    listed = tenant.get("/v1/subscriptions", customer_id=customer["id"]).json()["items"]
    assert len(created["line_items"]) == len(got["line_items"]) == len(listed[0]["line_items"]) == CHILDREN
    assert len({item["price_id"] for item in got["line_items"]}) == CHILDREN
    # An immediate cancel credits the unused time of every ADVANCE line, not of the first 1,000.
    tenant.post(f"/v1/subscriptions/{created['id']}/cancel", {"cancellation_type": "immediate"})
    balance = tenant.get(f"/v1/wallets/{wallet['id']}/balance").json()
    assert Decimal(balance["balance"]) == CHILDREN * one_line


def test_an_invoice_lists_all_its_lines(tenant: Tenant) -> None:
    invoice = factories.invoice(tenant)
    with tenant.app.state.database.session() as session:
        row = Repository(session, tenant.scope, Invoice).get(invoice["id"])
        line = {"invoice_id": row.id, "customer_id": row.customer_id, "subscription_id": row.subscription_id}
    lines = [
        {
            **line,
            "display_name": f"line {i}",
            "amount": Decimal("0.01"),
            "quantity": Decimal(1),
            "currency": "usd",
        }
        for i in range(CHILDREN)
    ]
    _insert(tenant, InvoiceLineItem, lines)
    one = tenant.get(f"/v1/invoices/{invoice['id']}").json()
    listed = tenant.get("/v1/invoices", subscription_id=invoice["subscription_id"]).json()["items"]
    assert len(one["line_items"]) == len(listed[0]["line_items"]) == CHILDREN + 1
    assert tenant.post(f"/v1/invoices/{invoice['id']}/void", {}).status_code == 200
    voided = tenant.get(f"/v1/invoices/{invoice['id']}").json()
    assert voided["invoice_status"] == "VOIDED" and len(voided["line_items"]) == CHILDREN + 1


def _credits(wallet: dict[str, Any], credits: Decimal, expiry: datetime | None = None) -> dict[str, Any]:
    """A credit transaction as the ledger writes it (balances before/after are not what is tested)."""
    return {
        "wallet_id": wallet["id"],
        "customer_id": wallet["customer_id"],
        "type": "credit",
        "amount": credits,
        "credit_amount": credits,
        "credit_balance_before": Decimal(0),
        "credit_balance_after": Decimal(0),
        "credits_available": credits,
        "expiry_date": expiry,
        "currency": "usd",
        "transaction_reason": "PURCHASED_CREDIT_DIRECT",
    }


def test_wallet_available_credits_cover_every_top_up_exactly(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant)
    # 0.1 has no binary form: a SUM through REAL (SQLite's own) drifts away from 100.1; and the long
    # amount (as large and as fine as the API takes) has more digits than a double holds.
    amounts = [Decimal("0.1")] * CHILDREN + [Decimal("999999999999.123456789012")]
    unexpired = [_credits(wallet, amount) for amount in amounts]
    unexpired.append(_credits(wallet, Decimal(5), expiry=FROZEN_NOW + timedelta(seconds=1)))
    _insert(tenant, WalletTransaction, [*unexpired, _credits(wallet, Decimal(7), expiry=FROZEN_NOW)])
    balance = tenant.get(f"/v1/wallets/{wallet['id']}/balance").json()
    expected = sum(amounts, Decimal(0)) + 5  # the 7 credits expire at now: not usable
    assert balance["available_credits"] == str(expected) == "1000000000104.223456789012"
    # The ledger's own top-up adds to the same sum.
    tenant.post(f"/v1/wallets/{wallet['id']}/top-up", {"credits_to_add": "0.01"})
    after = tenant.get(f"/v1/wallets/{wallet['id']}/balance").json()
    assert after["available_credits"] == str(expected + Decimal("0.01"))
    assert after["credit_balance"] == "0.01"


def test_a_wallet_without_credits_has_none_available(tenant: Tenant) -> None:
    balance = tenant.get(f"/v1/wallets/{factories.wallet(tenant)['id']}/balance").json()
    assert (balance["credit_balance"], balance["available_credits"]) == ("0", "0")
