"""Our answers in Flexprice's shapes, read by Flexprice's own SDK (``flexprice`` 2.1.43) from a real
server: deletes answer 200 with ``{"message"}`` (customers and tax rates 204, tax associations the
association), ``void_invoice`` with no body, bulk ingest ``{"message"}``, invoice metadata as a string
map, and the wrapped top-up, pause, resume and cancel answers."""

from __future__ import annotations

# ruff: noqa: F811  (the fixtures imported above are test parameters)
from decimal import Decimal
from typing import Any

import pytest

from tests.api.live_sdk import Live, Side, live, live_server, when  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.timeout(180)]

METER = {"event_name": "api_call", "name": "API calls", "aggregation": {"type": "COUNT"}}
FIXED = {
    "type": "FIXED",
    "billing_model": "FLAT_FEE",
    "amount": "30.00",
    "currency": "usd",
    "billing_period": "MONTHLY",
    "invoice_cadence": "ADVANCE",
}


def _plan(side: Side, **extra: Any) -> dict[str, Any]:
    return side.created("/v1/plans", {"name": "Pro", "prices": [FIXED], **extra})


def _subscription(side: Side, plan_id: str | None = None) -> dict[str, Any]:
    customer = side.created("/v1/customers", {"external_id": "acme", "name": "Acme"})
    body = {
        "customer_id": customer["id"],
        "plan_id": plan_id or _plan(side)["id"],
        "currency": "usd",
        "billing_period": "MONTHLY",
    }
    return side.created("/v1/subscriptions", body)


def test_deletes_answer_flexprices_200_bodies_through_the_sdk(live: Live) -> None:
    a, b = live.a, live.b
    meter = a.created("/v1/meters", METER)
    feature = a.created("/v1/features", {"name": "Calls", "type": "metered", "meter_id": meter["id"]})
    plan = _plan(a)
    price = a.created("/v1/prices", {**FIXED, "entity_type": "PLAN", "entity_id": plan["id"]})
    entitlement = a.created(
        "/v1/entitlements", {"entity_id": plan["id"], "feature_id": feature["id"], "usage_limit": 10}
    )
    grant = a.created(
        "/v1/creditgrants",
        {"name": "Welcome", "scope": "PLAN", "plan_id": plan["id"], "credits": "100", "currency": "usd"},
    )
    coupon = a.created("/v1/coupons", {"name": "Launch", "type": "percentage", "percentage_off": "10"})

    # Another tenant's ids are unknown to it: 404, and nothing of a's is deleted.
    for path in (f"/v1/prices/{price['id']}", f"/v1/plans/{plan['id']}", f"/v1/coupons/{coupon['id']}"):
        assert b.http.delete(path).status_code == 404

    assert a.sdk.prices.delete_price(id=price["id"]).message == "price deleted successfully"
    assert a.sdk.entitlements.delete_entitlement(id=entitlement["id"]).message == (
        "entitlement deleted successfully"
    )
    assert (
        a.sdk.credit_grants.delete_credit_grant(id=grant["id"]).message == "credit grant deleted successfully"
    )
    assert a.sdk.plans.delete_plan(id=plan["id"]).message == "plan deleted successfully"
    assert a.sdk.features.delete_feature(id=feature["id"]).message == "feature deleted successfully"
    assert a.sdk.coupons.delete_coupon(id=coupon["id"]) == {"message": "Coupon deleted successfully"}
    deleted_meter = a.http.delete(f"/v1/meters/{meter['id']}")
    assert (deleted_meter.status_code, deleted_meter.json()) == (
        200,
        {"message": "Meter deleted successfully"},
    )
    made = {"prices": price, "entitlements": entitlement, "creditgrants": grant, "plans": plan}
    made.update({"features": feature, "coupons": coupon, "meters": meter})
    for path, row in made.items():
        assert a.http.get(f"/v1/{path}/{row['id']}").status_code == 404, path

    # Flexprice answers 204 for customers and tax rates; the SDK takes that.
    customer = a.created("/v1/customers", {"external_id": "gone", "name": "Gone"})
    assert a.sdk.customers.delete_customer(id=customer["id"]) is None
    assert a.http.get(f"/v1/customers/{customer['id']}").status_code == 404
    rate = a.created(
        "/v1/taxes/rates",
        {"name": "VAT", "code": "VAT20", "tax_rate_type": "percentage", "percentage_value": "20"},
    )
    assert a.http.delete(f"/v1/taxes/rates/{rate['id']}").status_code == 204


def test_a_tax_association_delete_answers_the_association(live: Live) -> None:
    a, b = live.a, live.b
    customer = a.created("/v1/customers", {"external_id": "taxed", "name": "Taxed"})
    rate = a.created(
        "/v1/taxes/rates",
        {"name": "VAT", "code": "VAT20", "tax_rate_type": "percentage", "percentage_value": "20"},
    )
    association = a.created(
        "/v1/taxes/associations",
        {"tax_rate_id": rate["id"], "entity_type": "CUSTOMER", "entity_id": customer["id"]},
    )
    assert b.http.delete(f"/v1/taxes/associations/{association['id']}").status_code == 404
    answered = a.sdk.tax_associations.delete_tax_association(id=association["id"])
    assert (answered.id, answered.tax_rate_id, answered.status) == (association["id"], rate["id"], "deleted")
    assert a.http.get(f"/v1/taxes/associations/{association['id']}").status_code == 404


def test_void_invoice_takes_no_body_and_answers_flexprices_message(live: Live) -> None:
    a, b = live.a, live.b
    customer = a.created("/v1/customers", {"external_id": "void", "name": "Void"})
    invoice_id = live.invoice(
        a, customer["id"], amount_due=Decimal("30"), amount_remaining=Decimal("30"), total=Decimal("30")
    )
    assert b.http.post(f"/v1/invoices/{invoice_id}/void").status_code == 404

    answered = a.sdk.invoices.void_invoice(id=invoice_id)  # the SDK sends no body at all
    assert answered.message == "invoice voided successfully"
    invoice = a.http.get(f"/v1/invoices/{invoice_id}").json()
    assert invoice["invoice_status"] == "VOIDED" and invoice["voided_at"] is not None
    # Voiding twice is still a conflict; a body with a reason is still taken.
    again = a.http.post(f"/v1/invoices/{invoice_id}/void", json={"reason": "duplicate"})
    assert again.status_code == 409
    other = live.invoice(a, customer["id"])
    with_reason = a.http.post(f"/v1/invoices/{other}/void", json={"reason": "duplicate"})
    assert with_reason.status_code == 200 and with_reason.json() == {"message": "invoice voided successfully"}


def test_invoice_metadata_is_a_string_map(live: Live) -> None:
    a = live.a
    customer = a.created("/v1/customers", {"external_id": "meta", "name": "Meta"})
    stored = {
        "tiers": [1, "2"],
        "note": "plain",
        "gone": None,
        "count": 3,
        "flag": True,
        "nested": {"k": [None]},
    }
    invoice_id = live.invoice(a, customer["id"], metadata={"run": 7}, lines=[("USAGE", "12.50", stored)])
    body = a.http.get(f"/v1/invoices/{invoice_id}").json()
    assert body["metadata"] == {"run": "7"}
    assert body["line_items"][0]["metadata"] == {
        "tiers": '[1,"2"]',
        "note": "plain",
        "count": "3",
        "flag": "true",
        "nested": '{"k":[null]}',
    }
    sdk_invoice = a.sdk.invoices.get_invoice(id=invoice_id)
    assert sdk_invoice.line_items[0].metadata["tiers"] == '[1,"2"]'


def test_bulk_ingest_answers_a_string_map(live: Live) -> None:
    a = live.a
    events = [
        {"event_id": f"bulk-{i}", "event_name": "api_call", "external_customer_id": "acme"} for i in range(3)
    ]
    answered = a.sdk.events.ingest_events_bulk(events=events)
    assert answered == {"message": "Events accepted for processing"}


def test_top_up_answers_wallet_and_transaction(live: Live) -> None:
    a, b = live.a, live.b
    customer = a.created("/v1/customers", {"external_id": "wallet", "name": "Wallet"})
    wallet = a.created(
        "/v1/wallets", {"customer_id": customer["id"], "currency": "usd", "conversion_rate": "2"}
    )
    assert b.http.post(f"/v1/wallets/{wallet['id']}/top-up", json={"credits_to_add": "5"}).status_code == 404

    answered = a.sdk.wallets.top_up_wallet(
        id=wallet["id"],
        transaction_reason="PURCHASED_CREDIT_DIRECT",
        credits_to_add="25",
        idempotency_key="t-1",
    )
    assert answered.wallet.id == wallet["id"] and Decimal(answered.wallet.credit_balance) == 25
    assert Decimal(answered.wallet.balance) == 50  # 25 credits at 2 per credit
    transaction = answered.wallet_transaction
    assert (transaction.wallet_id, transaction.type, Decimal(transaction.credit_amount)) == (
        wallet["id"],
        "credit",
        25,
    )
    # The same key again adds nothing and answers the first transaction.
    again = a.http.post(
        f"/v1/wallets/{wallet['id']}/top-up", json={"credits_to_add": "25", "idempotency_key": "t-1"}
    ).json()
    assert again["wallet_transaction"]["id"] == transaction.id and again["wallet"]["credit_balance"] == "25"
    assert again["invoice_id"] is None


def test_pause_and_resume_answer_subscription_and_pause(live: Live) -> None:
    a, b = live.a, live.b
    subscription = _subscription(a)
    assert b.http.post(f"/v1/subscriptions/{subscription['id']}/pause", json={}).status_code == 404

    paused = a.sdk.subscriptions.pause_subscription(id=subscription["id"], reason="holiday")
    assert (
        paused.subscription.id == subscription["id"] and paused.subscription.subscription_status == "paused"
    )
    assert (paused.pause.subscription_id, paused.pause.pause_status, paused.pause.reason) == (
        subscription["id"],
        "active",
        "holiday",
    )
    resumed = a.sdk.subscriptions.resume_subscription(id=subscription["id"])
    assert resumed.subscription.subscription_status == "active" and resumed.pause.id == paused.pause.id
    assert resumed.pause.pause_status == "completed" and resumed.pause.resumed_at is not None


def test_cancel_answers_flexprices_cancel_response(live: Live) -> None:
    a, b = live.a, live.b
    subscription = _subscription(a)
    wallet = a.created("/v1/wallets", {"customer_id": subscription["customer_id"], "currency": "usd"})
    assert (
        b.http.post(
            f"/v1/subscriptions/{subscription['id']}/cancel", json={"cancellation_type": "immediate"}
        ).status_code
        == 404
    )

    answered = a.sdk.subscriptions.cancel_subscription(
        id=subscription["id"], cancellation_type="immediate", reason="too expensive"
    )
    assert (answered.subscription_id, answered.cancellation_type, answered.status, answered.reason) == (
        subscription["id"],
        "immediate",
        "cancelled",
        "too expensive",
    )
    assert answered.effective_date is not None and answered.processed_at is not None
    # The unused share of the ADVANCE fixed charge went to the wallet: the answer says how much.
    credit = Decimal(answered.total_credit_amount)
    balance = Decimal(a.http.get(f"/v1/wallets/{wallet['id']}").json()["balance"])
    assert credit == balance and credit > 0

    later = _subscription_for(a, subscription["customer_id"])
    scheduled = a.http.post(
        f"/v1/subscriptions/{later['id']}/cancel", json={"cancellation_type": "end_of_period"}
    ).json()
    assert scheduled["status"] == "active" and scheduled["total_credit_amount"] == "0"
    assert when(scheduled["effective_date"]) == when(later["current_period_end"])


def _subscription_for(side: Side, customer_id: str) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "plan_id": _plan(side)["id"],
        "currency": "usd",
        "billing_period": "MONTHLY",
    }
    return side.created("/v1/subscriptions", body)
