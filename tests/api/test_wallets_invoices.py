"""Wallets (top-ups, idempotency, balances, transactions) and invoices (read, void)."""

from __future__ import annotations

from tests.api import factories
from tests.api.conftest import Tenant


def test_wallet_top_up_is_idempotent_and_converts_amounts(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant, conversion_rate="2", initial_credits_to_load="10")
    assert (wallet["credit_balance"], wallet["balance"]) == ("10", "20")
    path = f"/v1/wallets/{wallet['id']}/top-up"
    body = {"amount": "50", "idempotency_key": "k1"}  # 50 usd at 2 usd/credit = 25 credits
    first = tenant.post(path, body).json()
    again = tenant.post(path, body).json()
    assert first["credit_balance"] == again["credit_balance"] == "35"
    transactions = tenant.get(f"/v1/wallets/{wallet['id']}/transactions").json()
    assert [t["credit_amount"] for t in transactions["items"]] == ["25", "10"]  # newest first
    assert transactions["pagination"]["total"] == 2


def test_wallet_balance_leaves_out_expired_credits(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant)
    path = f"/v1/wallets/{wallet['id']}/top-up"
    tenant.post(path, {"credits_to_add": "5", "expiry_date": "2025-03-11T00:00:00Z"})
    tenant.post(path, {"credits_to_add": "7"})
    past = tenant.post(path, {"credits_to_add": "1", "expiry_date": "2025-03-01T00:00:00Z"})
    assert past.status_code == 422 and past.json()["error"]["details"][0]["field"] == "body.expiry_date"
    balance = tenant.get(f"/v1/wallets/{wallet['id']}/balance").json()
    assert (balance["credit_balance"], balance["available_credits"]) == ("12", "12")
    missing = tenant.post(path, {})
    assert (
        missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "body.credits_to_add"
    )


def test_one_active_wallet_per_customer_and_currency(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant)
    response = tenant.post("/v1/wallets", {"customer_id": wallet["customer_id"], "currency": "USD"})
    assert response.status_code == 409
    assert (
        tenant.post("/v1/wallets", {"customer_id": wallet["customer_id"], "currency": "eur"}).status_code
        == 201
    )
    assert tenant.get("/v1/wallets", customer_id=wallet["customer_id"]).json()["pagination"]["total"] == 2


def test_invoice_read_and_void(tenant: Tenant) -> None:
    invoice = factories.invoice(tenant)
    got = tenant.get(f"/v1/invoices/{invoice['id']}").json()
    assert (got["total"], got["invoice_status"], len(got["line_items"])) == ("30.00", "FINALIZED", 1)
    voided = tenant.post(f"/v1/invoices/{invoice['id']}/void", {"reason": "wrong usage"}).json()
    assert voided["invoice_status"] == "VOIDED" and voided["voided_at"] == "2025-03-10T12:00:00Z"
    assert voided["metadata"] == {"void_reason": "wrong usage"}
    assert tenant.post(f"/v1/invoices/{invoice['id']}/void", {}).status_code == 409
    listed = tenant.get(
        "/v1/invoices", subscription_id=invoice["subscription_id"], invoice_status="VOIDED"
    ).json()
    assert [i["id"] for i in listed["items"]] == [invoice["id"]]


def test_paid_invoice_cannot_be_voided(tenant: Tenant) -> None:
    invoice = factories.invoice(tenant, payment_status="SUCCEEDED")
    response = tenant.post(f"/v1/invoices/{invoice['id']}/void", {})
    assert response.status_code == 409
    assert response.json()["error"]["details"][0]["field"] == "payment_status"
