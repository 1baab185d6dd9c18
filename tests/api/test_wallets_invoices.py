"""Wallets (top-ups, idempotency, balances, transactions) and invoices (read, void)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.rating.assemble import assemble_invoices
from flexprice_pipelines.billing.rating.rate import UsageRow, rate_partition
from flexprice_pipelines.billing.rating.windows import plan_partition
from flexprice_pipelines.catalog import Repository
from flexprice_pipelines.catalog.models import Invoice, SystemEvent
from flexprice_pipelines.ledger.invoices import billed_usage, wallet_credit
from flexprice_pipelines.ledger.settle import settle_environment
from flexprice_pipelines.ledger.terms import EnvironmentPlan, load_environment_terms
from tests.api import factories
from tests.api.conftest import Tenant


def test_wallet_top_up_is_idempotent_and_converts_amounts(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant, conversion_rate="2", initial_credits_to_load="10")
    assert (wallet["credit_balance"], wallet["balance"]) == ("10", "20")
    path = f"/v1/wallets/{wallet['id']}/top-up"
    body = {"amount": "50", "idempotency_key": "k1"}  # 50 usd at 2 usd/credit = 25 credits
    first = tenant.post(path, body).json()
    again = tenant.post(path, body).json()
    assert first["wallet"]["credit_balance"] == again["wallet"]["credit_balance"] == "35"
    assert first["wallet_transaction"]["id"] == again["wallet_transaction"]["id"]
    assert (first["wallet_transaction"]["credit_amount"], first["wallet_transaction"]["amount"]) == (
        "25",
        "50",
    )
    transactions = tenant.get(f"/v1/wallets/{wallet['id']}/transactions").json()
    assert [t["credit_amount"] for t in transactions["items"]] == ["25", "10"]  # newest first
    assert transactions["pagination"]["total"] == 2


def test_wallet_balance_leaves_out_expired_credits(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant)
    path = f"/v1/wallets/{wallet['id']}/top-up"
    tenant.post(path, {"credits_to_add": "5", "expiry_date": "2025-03-11T00:00:00Z"})
    tenant.post(path, {"credits_to_add": "7"})
    past = tenant.post(path, {"credits_to_add": "1", "expiry_date": "2025-03-01T00:00:00Z"})
    assert past.status_code == 400 and past.json()["details"][0]["field"] == "body.expiry_date"
    balance = tenant.get(f"/v1/wallets/{wallet['id']}/balance").json()
    assert (balance["credit_balance"], balance["available_credits"]) == ("12", "12")
    missing = tenant.post(path, {})
    assert missing.status_code == 400 and missing.json()["details"][0]["field"] == "body.credits_to_add"


def test_one_active_wallet_per_customer_and_currency(tenant: Tenant) -> None:
    wallet = factories.wallet(tenant)
    response = tenant.post("/v1/wallets", {"customer_id": wallet["customer_id"], "currency": "USD"})
    assert response.status_code == 409
    assert (
        tenant.post("/v1/wallets", {"customer_id": wallet["customer_id"], "currency": "eur"}).status_code
        == 200  # Flexprice documents 200 for this create
    )
    assert tenant.get("/v1/wallets", customer_id=wallet["customer_id"]).json()["pagination"]["total"] == 2


def test_invoice_read_and_void(tenant: Tenant) -> None:
    invoice = factories.invoice(tenant)
    got = tenant.get(f"/v1/invoices/{invoice['id']}").json()
    assert (got["total"], got["invoice_status"], len(got["line_items"])) == ("30.00", "FINALIZED", 1)
    answered = tenant.post(f"/v1/invoices/{invoice['id']}/void", {"reason": "wrong usage"})
    assert (answered.status_code, answered.json()) == (200, {"message": "invoice voided successfully"})
    voided = tenant.get(f"/v1/invoices/{invoice['id']}").json()
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
    assert response.json()["details"][0]["field"] == "payment_status"


def _finalize_through_the_ledger(tenant: Tenant, at: datetime) -> Invoice:
    """Run the pipeline's finalization (``ledger.settle``) of April 2025 without Dagster: plan, rate one
    unit of usage per window, assemble with the wallet credit, settle. Returns the finalized invoice."""
    month = YearMonth(2025, 4)
    with tenant.app.state.database.session() as session:
        env = load_environment_terms(session, tenant.scope)
        plan = EnvironmentPlan(
            terms=env, plan=plan_partition(list(env.subscriptions), month, at, env.grace, env.max_past)
        )
        billed = billed_usage(session, tenant.scope, plan.plan)
        usage = {w.window_id: UsageRow(window_id=w.window_id, quantity=Decimal(1)) for w in plan.plan.windows}
        lines = rate_partition(plan.plan, plan.subscriptions, usage, billed.billed, billed.settled)
        credit = wallet_credit(session, tenant.scope, at)
        drafts = assemble_invoices(plan.plan, plan.subscriptions, lines, credit)
        summary = settle_environment(session, env, drafts, now=at)
        session.commit()
        assert summary.finalized == 1
        (invoice,) = Repository(session, tenant.scope, Invoice).list(invoice_status="FINALIZED").items
        return invoice


def _voided_events(tenant: Tenant, invoice_id: str) -> list[SystemEvent]:
    with tenant.app.state.database.session() as session:
        events = Repository(session, tenant.scope, SystemEvent).each(event_type="invoice.update.voided")
        return [e for e in events if e.payload["invoice"]["id"] == invoice_id]


def test_api_void_is_the_ledger_void(tenant: Tenant) -> None:
    """The API's void refunds the wallet debits of finalization and emits ``invoice.voided``, as a
    reissue's void does; a second void is refused (409) and changes nothing."""
    # 30.00 a month in advance + usage in arrear (first unit 50.00), from 2025-03-10 12:00.
    sub = factories.subscription(tenant)
    wallet = tenant.created(
        "/v1/wallets",
        {"customer_id": sub["customer_id"], "currency": "usd", "initial_credits_to_load": "100"},
    )
    # The 03-10 → 04-10 cycle invoice, past its grace; prepaid credit pays usage lines only (§7).
    invoice = _finalize_through_the_ledger(tenant, datetime(2025, 4, 11, tzinfo=UTC))
    assert invoice.total_prepaid_credits_applied == Decimal("50.00")
    balance = f"/v1/wallets/{wallet['id']}/balance"
    assert tenant.get(balance).json()["credit_balance"] == "50.00"

    assert tenant.post(f"/v1/invoices/{invoice.id}/void", {"reason": "wrong plan"}).status_code == 200
    voided = tenant.get(f"/v1/invoices/{invoice.id}").json()
    assert (voided["invoice_status"], voided["metadata"]["void_reason"]) == ("VOIDED", "wrong plan")
    assert tenant.get(balance).json()["credit_balance"] == "100.00"
    transactions = tenant.get(f"/v1/wallets/{wallet['id']}/transactions").json()["items"]
    refund = transactions[0]  # newest first
    assert (refund["type"], refund["credit_amount"], refund["transaction_reason"]) == (
        "credit",
        "50.00",
        "INVOICE_VOID_REFUND",
    )
    (event,) = _voided_events(tenant, invoice.id)
    assert event.idempotency_key == f"invoice.voided:{invoice.id}"
    assert (event.payload["invoice"]["invoice_status"], event.payload["invoice"]["voided_at"]) == (
        "VOIDED",
        "2025-03-10T12:00:00+00:00",
    )

    again = tenant.post(f"/v1/invoices/{invoice.id}/void", {"reason": "again"})
    assert again.status_code == 409
    assert again.json()["details"][0]["field"] == "invoice_status"
    assert tenant.get(balance).json()["credit_balance"] == "100.00"
    assert len(tenant.get(f"/v1/wallets/{wallet['id']}/transactions").json()["items"]) == len(transactions)
    assert len(_voided_events(tenant, invoice.id)) == 1
    got = tenant.get(f"/v1/invoices/{invoice.id}").json()
    assert got["metadata"]["void_reason"] == "wrong plan"
