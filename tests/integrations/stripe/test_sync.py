"""``sync_invoices_to_stripe`` with the real SDK against the local stub: objects, amounts, exactly-once."""

from __future__ import annotations

import pytest
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Repository
from flexprice_pipelines.catalog.models import EntityIntegrationMapping
from flexprice_pipelines.integrations.stripe import keys
from flexprice_pipelines.integrations.stripe.sync import SyncOutcome, sync_invoices_to_stripe
from tests.integrations.stripe.conftest import NOW, Line, add_customer, add_invoice, make_client, new_scope
from tests.support.stripe_stub import Fault, StripeStub


def test_one_invoice_becomes_a_finalized_stripe_invoice(
    sessions: sessionmaker[Session], stub: StripeStub, client: stripe.StripeClient
) -> None:
    with sessions() as s:
        scope = new_scope(s)
        customer = add_customer(s, scope)
        invoice = add_invoice(
            s,
            scope,
            customer,
            [Line("30.00", discount="3.00"), Line("70.00", credits="20.00")],
            taxes=[("vat", "8.88")],
        )
        summary = sync_invoices_to_stripe(s, scope, [invoice], client, NOW)

    [result] = summary.results
    assert result.outcome is SyncOutcome.SYNCED, result.error
    assert result.stripe_total == 30_00 - 3_00 + 70_00 - 20_00 + 8_88
    [cus] = stub.objects("customers")
    assert cus["email"] == "c-1@example.test"
    assert cus["metadata"]["flexprice_customer_id"] == customer.id
    [inv] = stub.objects("invoices")
    assert inv["id"] == result.stripe_invoice_id
    assert inv["status"] == "open"
    assert inv["total"] == result.stripe_total
    assert inv["metadata"]["flexprice_invoice_id"] == invoice.id
    assert inv["metadata"]["flexprice_invoice_number"] == invoice.invoice_number
    items = stub.objects("invoice_items")
    assert sorted(i["amount"] for i in items) == [8_88, 27_00, 50_00]
    assert {i["invoice"] for i in items} == {inv["id"]}
    assert all(i["metadata"]["flexprice_invoice_id"] == invoice.id for i in items)
    line_ids = {i["metadata"].get("flexprice_line_item_id") for i in items} - {None}
    assert len(line_ids) == 2
    # Every mutating call carried a key derived from our ids.
    posted = [key for method, _, key, _ in stub.state.requests if method == "POST"]
    assert keys.customer_key(scope, customer.id) in posted
    assert keys.invoice_key(scope, invoice.id) in posted
    assert keys.finalize_key(scope, invoice.id) in posted
    assert all(k is not None and k.startswith(f"fp:{scope.tenant_id}:") for k in posted)


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [("jpy", "1024", 1024), ("kwd", "1.234", 1234), ("usd", "10.28", 1028)],
)
def test_amounts_use_the_currency_precision(
    sessions: sessionmaker[Session],
    stub: StripeStub,
    client: stripe.StripeClient,
    currency: str,
    amount: str,
    minor: int,
) -> None:
    with sessions() as s:
        scope = new_scope(s)
        invoice = add_invoice(s, scope, add_customer(s, scope), [Line(amount)], currency=currency)
        [result] = sync_invoices_to_stripe(s, scope, [invoice], client, NOW).results
    assert result.outcome is SyncOutcome.SYNCED, result.error
    [item] = stub.objects("invoice_items")
    assert (item["amount"], item["currency"]) == (minor, currency)


def test_a_rerun_creates_nothing_and_reports_already_synced(
    sessions: sessionmaker[Session], stub: StripeStub, client: stripe.StripeClient
) -> None:
    with sessions() as s:
        scope = new_scope(s)
        customer = add_customer(s, scope)
        invoices = [add_invoice(s, scope, customer, [Line("5.00"), Line("6.00")]) for _ in range(2)]
        first = sync_invoices_to_stripe(s, scope, invoices, client, NOW)
        calls = len(stub.state.requests)
        second = sync_invoices_to_stripe(s, scope, invoices, client, NOW)
    assert [r.outcome for r in first.results] == [SyncOutcome.SYNCED] * 2
    assert [r.outcome for r in second.results] == [SyncOutcome.ALREADY_SYNCED] * 2
    assert [r.stripe_invoice_id for r in second.results] == [r.stripe_invoice_id for r in first.results]
    assert len(stub.state.requests) == calls  # the mappings answer; Stripe is not asked again
    # The customer was created once for both invoices.
    assert (stub.count("customers"), stub.count("invoices"), stub.count("invoice_items")) == (1, 2, 4)


def test_only_finalized_invoices_are_sent(
    sessions: sessionmaker[Session], stub: StripeStub, client: stripe.StripeClient
) -> None:
    with sessions() as s:
        scope = new_scope(s)
        customer = add_customer(s, scope)
        draft = add_invoice(s, scope, customer, [Line("1.00")], status="DRAFT")
        voided = add_invoice(s, scope, customer, [Line("1.00")], status="VOIDED")
        summary = sync_invoices_to_stripe(s, scope, [draft, voided], client, NOW)
    assert [r.outcome for r in summary.results] == [SyncOutcome.SKIPPED] * 2
    assert stub.state.requests == []


def test_one_customers_failure_does_not_block_the_others(
    sessions: sessionmaker[Session], stub: StripeStub, client: stripe.StripeClient
) -> None:
    with sessions() as s:
        scope = new_scope(s)
        bad, good = add_customer(s, scope, "bad"), add_customer(s, scope, "good")
        invoices = [
            add_invoice(s, scope, bad, [Line("1.00")]),
            add_invoice(s, scope, good, [Line("2.00")]),
            add_invoice(s, scope, bad, [Line("3.00")]),
        ]
        stub.inject(
            Fault(
                path="/v1/customers",
                status=400,
                times=100,
                error_type="invalid_request_error",
                message="Invalid email address",
                when=lambda p: p.get("metadata", {}).get("flexprice_external_id") == "bad",
            )
        )
        summary = sync_invoices_to_stripe(s, scope, invoices, client, NOW)
    outcomes = [r.outcome for r in summary.results]
    assert outcomes == [SyncOutcome.FAILED, SyncOutcome.SYNCED, SyncOutcome.FAILED]
    assert "Invalid email address" in (summary.results[0].error or "")
    assert not summary.results[0].retryable
    # Stripe refused the customer once; its second invoice fails without another call.
    customer_posts = [r for r in stub.state.requests if r[1] == "/v1/customers"]
    assert len(customer_posts) == 2
    meta = summary.metadata()
    assert (meta["failed"], meta["synced"]) == (2, 1)
    assert meta["failed_invoice_ids"] == [invoices[0].id, invoices[2].id]


def test_a_server_error_is_reported_as_retryable(
    sessions: sessionmaker[Session], stub: StripeStub, client: stripe.StripeClient
) -> None:
    with sessions() as s:
        scope = new_scope(s)
        invoice = add_invoice(s, scope, add_customer(s, scope), [Line("1.00")])
        stub.inject(Fault(path="/v1/invoices", status=503))
        [failed] = sync_invoices_to_stripe(s, scope, [invoice], client, NOW).results
        [retried] = sync_invoices_to_stripe(s, scope, [invoice], client, NOW).results
    assert (failed.outcome, failed.retryable) == (SyncOutcome.FAILED, True)
    assert retried.outcome is SyncOutcome.SYNCED
    assert (stub.count("customers"), stub.count("invoices"), stub.count("invoice_items")) == (1, 1, 1)


def test_an_invoice_whose_items_do_not_add_up_is_refused(
    sessions: sessionmaker[Session], stub: StripeStub, client: stripe.StripeClient
) -> None:
    with sessions() as s:
        scope = new_scope(s)
        invoice = add_invoice(s, scope, add_customer(s, scope), [Line("1.00")])
        invoice.total = invoice.total + 1
        s.commit()
        [result] = sync_invoices_to_stripe(s, scope, [invoice], client, NOW).results
    assert result.outcome is SyncOutcome.FAILED
    assert "total" in (result.error or "")
    assert stub.state.requests == []


def _crash_then_rerun(
    sessions: sessionmaker[Session],
    stub: StripeStub,
    crash_at: int,
    lose_response: bool,
    forget_mappings: bool,
) -> None:
    stub.reset()
    client = make_client(stub)
    with sessions() as s:
        scope = new_scope(s)
        customer = add_customer(s, scope)
        invoice = add_invoice(
            s, scope, customer, [Line("1.00"), Line("2.00"), Line("3.00")], taxes=[("vat", "0.60")]
        )
        # 1 customer + 1 invoice + 4 items + 1 finalize = 7 POSTs; the crash hits the crash_at-th.
        stub.inject(Fault(skip=crash_at - 1, lose_response=lose_response, status=500))
        [crashed] = sync_invoices_to_stripe(s, scope, [invoice], client, NOW).results
        assert crashed.outcome is SyncOutcome.FAILED
        if forget_mappings:
            # Worst case: none of the progress reached our database.
            s.execute(
                delete(EntityIntegrationMapping).where(EntityIntegrationMapping.tenant_id == scope.tenant_id)
            )
            s.commit()
        [rerun] = sync_invoices_to_stripe(s, scope, [invoice], client, NOW).results
        assert rerun.outcome is SyncOutcome.SYNCED, rerun.error
        mapped = Repository(s, scope, EntityIntegrationMapping).list(limit=100).total
    assert (stub.count("customers"), stub.count("invoices"), stub.count("invoice_items")) == (1, 1, 4)
    [inv] = stub.objects("invoices")
    assert (inv["status"], inv["total"], inv["id"]) == ("open", 660, rerun.stripe_invoice_id)
    assert mapped == 1 + 1 + 4


@pytest.mark.parametrize("lose_response", [False, True], ids=["request-failed", "response-lost"])
def test_a_crash_half_way_then_a_rerun_never_duplicates(
    sessions: sessionmaker[Session], stub: StripeStub, lose_response: bool
) -> None:
    _crash_then_rerun(sessions, stub, crash_at=4, lose_response=lose_response, forget_mappings=False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(crash_at=st.integers(1, 7), lose_response=st.booleans(), forget_mappings=st.booleans())
def test_any_crash_point_converges_to_exactly_one_copy(
    sessions: sessionmaker[Session],
    stub: StripeStub,
    crash_at: int,
    lose_response: bool,
    forget_mappings: bool,
) -> None:
    _crash_then_rerun(sessions, stub, crash_at, lose_response, forget_mappings)
