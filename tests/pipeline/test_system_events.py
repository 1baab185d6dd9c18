"""``invoice.finalized`` / ``invoice.voided`` system events written by the billing pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.integrations.webhooks import SystemEvent, WebhookDelivery, WebhookEndpoint
from tests.pipeline.conftest import (
    Billing,
    daily_usage_plan,
    invoice_by_reason,
    monthly_usage_plan,
    utc,
    worked_example_events,
)

FEB_1 = utc(2026, 2, 1)
REISSUE = {"ops": {"invoices": {"config": {"reissue": True, "reason": "late January events"}}}}


def _events(b: Billing, scope: Scope, event_type: str | None = None) -> list[SystemEvent]:
    with b.session() as session:
        statement = Repository(session, scope, SystemEvent).select().order_by(SystemEvent.id)
        if event_type is not None:
            statement = statement.where(SystemEvent.event_type == event_type)
        return list(session.scalars(statement))


def _deliveries(b: Billing, scope: Scope) -> list[tuple[str, str]]:
    with b.session() as session:
        statement = Repository(session, scope, WebhookDelivery).select().order_by(WebhookDelivery.id)
        return [(d.event_id, d.event_type) for d in session.scalars(statement)]


def _endpoint(b: Billing, scope: Scope) -> Any:
    return b.create(
        scope,
        WebhookEndpoint,
        url="https://hooks.example.test/billing",
        secret="whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ=",
        enabled_events=["invoice.update.finalized", "invoice.update.voided"],
    )


def _snapshot(b: Billing, scope: Scope) -> list[tuple[str, str, dict[str, Any], datetime]]:
    return [(e.id, e.event_type, e.payload, e.occurred_at) for e in _events(b, scope)]


def test_wallet_path_finalization_emits_once_in_its_own_scope(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    other = billing.tenant("globex")
    monthly_usage_plan(billing, scope)  # prepaid wallet: the per-invoice finalization path
    worked_example_events(billing, scope)
    endpoint = _endpoint(billing, scope)
    _endpoint(billing, other)

    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 1)).success  # still in grace: a draft
    assert _events(billing, scope) == []

    finalized_at = utc(2026, 2, 1, 3)
    assert billing.bill(scope, "2026-02", finalized_at).success
    invoice = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)
    events = _events(billing, scope)
    assert [(e.event_type, e.payload["invoice"]["id"]) for e in events] == [
        ("invoice.update.finalized", invoice.id)
    ]
    event = events[0]
    assert (event.tenant_id, event.environment_id) == (scope.tenant_id, scope.environment_id)
    assert event.idempotency_key == f"invoice.finalized:{invoice.id}"
    assert event.occurred_at == finalized_at
    assert event.payload["invoice"]["invoice_number"] == "INV-202602-00001"
    assert event.payload["invoice"]["invoice_status"] == "FINALIZED"
    assert event.payload["invoice"]["total"] == "51.92"  # after the 25.00 of prepaid credit
    assert event.payload["invoice"]["finalized_at"] == finalized_at.isoformat()
    assert _deliveries(billing, scope) == [(event.id, "invoice.update.finalized")]
    with billing.session() as session:
        queued = session.scalars(Repository(session, scope, WebhookDelivery).select()).one()
        assert queued.endpoint_id == endpoint.id  # this tenant's endpoint, not the other tenant's
    assert _events(billing, other) == [] and _deliveries(billing, other) == []

    before = (_snapshot(billing, scope), _deliveries(billing, scope))
    for now in (utc(2026, 2, 2), utc(2026, 2, 9)):
        assert billing.bill(scope, "2026-02", now).success
    assert (_snapshot(billing, scope), _deliveries(billing, scope)) == before


def test_bulk_path_emits_one_event_per_finalized_invoice_and_none_for_skipped(billing: Billing) -> None:
    scope = billing.tenant("daily-co")
    other = billing.tenant("globex")
    ids = daily_usage_plan(billing, scope, start=FEB_1)  # no wallet: the bulk path
    daily_usage_plan(billing, other, external_id="daily", start=FEB_1)
    # Usage on Feb 2 and Feb 4 only: Feb 1 and Feb 3 have a zero subtotal and settle as SKIPPED.
    billing.events(scope, [("daily", "api_call", utc(2026, 2, day, 12), {}) for day in (2, 4, 4)])

    assert billing.bill(scope, "2026-02", utc(2026, 2, 5, 3)).success
    invoices = billing.invoices(scope, subscription_id=ids["subscription"])
    finalized = sorted(i.id for i in invoices if i.invoice_status == "FINALIZED")
    skipped = [i.id for i in invoices if i.invoice_status == "SKIPPED"]
    assert len(finalized) == 2 and len(skipped) == 2

    events = _events(billing, scope)
    assert all(e.event_type == "invoice.update.finalized" for e in events)
    assert sorted(e.payload["invoice"]["id"] for e in events) == finalized
    numbers = {e.payload["invoice"]["id"]: e.payload["invoice"]["invoice_number"] for e in events}
    assert numbers == {i.id: i.invoice_number for i in invoices if i.invoice_status == "FINALIZED"}
    assert all(e.payload["invoice"]["invoice_status"] == "FINALIZED" for e in events)
    assert {(e.tenant_id, e.environment_id) for e in events} == {(scope.tenant_id, scope.environment_id)}

    before = _snapshot(billing, scope)
    assert billing.bill(scope, "2026-02", utc(2026, 2, 6)).success  # Feb 5 ends in grace: a draft
    assert _snapshot(billing, scope) == before
    assert _events(billing, other) == []

    # The other tenant's own finalization stays in its own scope.
    billing.events(other, [("daily", "api_call", utc(2026, 2, 1, 9), {})])
    assert billing.bill(other, "2026-02", utc(2026, 2, 2, 3)).success
    theirs = _events(billing, other)
    assert len(theirs) == 1
    assert (theirs[0].tenant_id, theirs[0].environment_id) == (other.tenant_id, other.environment_id)
    assert _snapshot(billing, scope) == before


def test_reissue_emits_exactly_one_voided_event(billing: Billing) -> None:
    scope = billing.tenant("acme-corp")
    other = billing.tenant("globex")
    monthly_usage_plan(billing, scope)
    worked_example_events(billing, scope)
    _endpoint(billing, scope)
    assert billing.bill(scope, "2026-02", utc(2026, 2, 1, 3)).success
    original = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)

    billing.events(
        scope,
        [("acme", "api_call", utc(2026, 1, 31, 20, i % 60), {}) for i in range(500)],
        ingested_at=utc(2026, 2, 3),
    )
    reissued_at = utc(2026, 2, 5)
    for _ in range(2):  # the second reissue finds nothing left to change
        assert billing.bill(scope, "2026-02", reissued_at, run_config=REISSUE).success
    replacement = invoice_by_reason(billing, scope, "SUBSCRIPTION_CYCLE", FEB_1)

    voided = _events(billing, scope, "invoice.update.voided")
    assert len(voided) == 1
    assert voided[0].idempotency_key == f"invoice.voided:{original.id}"
    assert voided[0].occurred_at == reissued_at
    assert (voided[0].payload["invoice"]["id"], voided[0].payload["invoice"]["invoice_status"]) == (
        original.id,
        "VOIDED",
    )
    assert voided[0].payload["invoice"]["voided_at"] == reissued_at.isoformat()
    assert voided[0].payload["invoice"]["invoice_number"] == "INV-202602-00001"

    finalized = {e.payload["invoice"]["id"]: e for e in _events(billing, scope, "invoice.update.finalized")}
    assert set(finalized) == {original.id, replacement.id}
    assert finalized[replacement.id].payload["invoice"]["invoice_number"] == "INV-202602-00002"
    assert sorted(t for _, t in _deliveries(billing, scope)) == [
        "invoice.update.finalized",
        "invoice.update.finalized",
        "invoice.update.voided",
    ]
    assert _events(billing, other) == []
