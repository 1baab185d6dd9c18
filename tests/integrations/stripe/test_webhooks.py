"""``POST /v1/webhooks/stripe/{tenant_id}/{environment_id}``: signatures, payment status, once per event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import stripe
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.deps import now
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import Invoice
from flexprice_pipelines.integrations.stripe.sync import sync_invoices_to_stripe
from flexprice_pipelines.integrations.stripe.tables import webhook_events
from flexprice_pipelines.settings import Settings
from tests.integrations.stripe.conftest import NOW, Line, add_customer, add_invoice, new_scope
from tests.support.stripe_stub import StripeStub

SECRET_A = "whsec_tenant_a"
SECRET_B = "whsec_tenant_b"


@pytest.fixture(scope="module")
def api(database_url: str) -> Iterator[TestClient]:
    app: FastAPI = create_app(Settings(database_url=database_url, home=Path("/nonexistent")))
    app.dependency_overrides[now] = lambda: NOW
    with TestClient(app) as test_client:
        yield test_client


def _event(event_id: str, event_type: str, obj: dict[str, Any]) -> bytes:
    body = {"id": event_id, "object": "event", "type": event_type, "data": {"object": obj}}
    return json.dumps(body).encode()


def _invoice_object(invoice: Invoice, amount_paid: int = 0, stripe_id: str = "in_unknown") -> dict[str, Any]:
    return {
        "id": stripe_id,
        "object": "invoice",
        "currency": invoice.currency,
        "amount_paid": amount_paid,
        "status_transitions": {"paid_at": int((NOW - timedelta(minutes=5)).timestamp())},
        "metadata": {"flexprice_invoice_id": invoice.id},
    }


def _post(api: TestClient, scope: Scope, payload: bytes, secret: str | None, at_offset: int = 0) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        ts = int(NOW.timestamp()) + at_offset
        headers["Stripe-Signature"] = stripe.WebhookSignature.generate_signature_header(
            payload.decode(), secret, timestamp=ts
        )
    return api.post(
        f"/v1/webhooks/stripe/{scope.tenant_id}/{scope.environment_id}", content=payload, headers=headers
    )


def _reload(sessions: sessionmaker[Session], scope: Scope, invoice_id: str) -> Invoice:
    with sessions() as s:
        return Repository(s, scope, Invoice).get(invoice_id)


@pytest.fixture
def setup(sessions: sessionmaker[Session]) -> tuple[Scope, Invoice]:
    with sessions() as s:
        scope = new_scope(s, "tenant-a", webhook_secret=SECRET_A)
        invoice = add_invoice(s, scope, add_customer(s, scope), [Line("100.00")])
    return scope, invoice


def test_invoice_paid_marks_the_payment_succeeded(
    api: TestClient, sessions: sessionmaker[Session], setup: tuple[Scope, Invoice]
) -> None:
    scope, invoice = setup
    response = _post(
        api, scope, _event("evt_paid", "invoice.paid", _invoice_object(invoice, 100_00)), SECRET_A
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"event_id": "evt_paid", "outcome": "applied", "invoice_id": invoice.id}
    stored = _reload(sessions, scope, invoice.id)
    assert stored.payment_status == "SUCCEEDED"
    assert (stored.amount_paid, stored.amount_remaining) == (Decimal("100.00"), Decimal(0))
    assert stored.paid_at == NOW - timedelta(minutes=5)


def test_a_zero_decimal_currency_is_paid_in_whole_units(
    api: TestClient, sessions: sessionmaker[Session], stub: StripeStub
) -> None:
    with sessions() as s:
        scope = new_scope(s, "tenant-jpy", webhook_secret=SECRET_A)
        invoice = add_invoice(s, scope, add_customer(s, scope), [Line("1024")], currency="jpy")
    response = _post(api, scope, _event("evt_jpy", "invoice.paid", _invoice_object(invoice, 1000)), SECRET_A)
    assert response.json()["outcome"] == "applied"
    stored = _reload(sessions, scope, invoice.id)
    assert (stored.amount_paid, stored.amount_remaining) == (Decimal(1000), Decimal(24))


def test_payment_failed_marks_the_payment_failed_but_never_undoes_a_success(
    api: TestClient, sessions: sessionmaker[Session], setup: tuple[Scope, Invoice]
) -> None:
    scope, invoice = setup
    failed = _post(api, scope, _event("evt_f1", "invoice.payment_failed", _invoice_object(invoice)), SECRET_A)
    assert failed.json()["outcome"] == "applied"
    assert _reload(sessions, scope, invoice.id).payment_status == "FAILED"
    _post(api, scope, _event("evt_p", "invoice.paid", _invoice_object(invoice, 100_00)), SECRET_A)
    late = _post(api, scope, _event("evt_f2", "invoice.payment_failed", _invoice_object(invoice)), SECRET_A)
    assert late.json()["outcome"] == "ignored"
    assert _reload(sessions, scope, invoice.id).payment_status == "SUCCEEDED"


def test_a_redelivered_event_is_applied_once(
    api: TestClient, sessions: sessionmaker[Session], setup: tuple[Scope, Invoice]
) -> None:
    scope, invoice = setup
    payload = _event("evt_once", "invoice.payment_failed", _invoice_object(invoice))
    assert _post(api, scope, payload, SECRET_A).json()["outcome"] == "applied"
    with sessions() as s:  # someone resets the status; a redelivery must not fail it again
        Repository(s, scope, Invoice).update(invoice.id, payment_status="PENDING")
        s.commit()
    again = _post(api, scope, payload, SECRET_A)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert _reload(sessions, scope, invoice.id).payment_status == "PENDING"
    with sessions() as s:
        rows = s.scalar(
            select(func.count()).where(
                webhook_events.c.tenant_id == scope.tenant_id, webhook_events.c.event_id == "evt_once"
            )
        )
    assert rows == 1


def test_the_invoice_is_found_through_the_sync_mapping(
    api: TestClient, sessions: sessionmaker[Session], stub: StripeStub, client: stripe.StripeClient
) -> None:
    with sessions() as s:
        scope = new_scope(s, "tenant-synced", webhook_secret=SECRET_A)
        invoice = add_invoice(s, scope, add_customer(s, scope), [Line("12.00")])
        [synced] = sync_invoices_to_stripe(s, scope, [invoice], client, NOW).results
    obj = {**stub.objects("invoices")[0], "amount_paid": 12_00, "metadata": {}}
    response = _post(api, scope, _event("evt_mapped", "invoice.paid", obj), SECRET_A)
    assert response.json() == {"event_id": "evt_mapped", "outcome": "applied", "invoice_id": invoice.id}
    assert obj["id"] == synced.stripe_invoice_id
    assert _reload(sessions, scope, invoice.id).payment_status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("secret", "offset", "tamper"),
    [
        (None, 0, False),  # unsigned
        ("whsec_wrong", 0, False),  # another secret
        (SECRET_A, -301, False),  # stale
        (SECRET_A, 301, False),  # from the future
        (SECRET_A, 0, True),  # body changed after signing
    ],
    ids=["unsigned", "wrong-secret", "stale", "future", "tampered"],
)
def test_unverified_requests_are_rejected(
    api: TestClient,
    sessions: sessionmaker[Session],
    setup: tuple[Scope, Invoice],
    secret: str | None,
    offset: int,
    tamper: bool,
) -> None:
    scope, invoice = setup
    payload = _event("evt_bad", "invoice.paid", _invoice_object(invoice, 100_00))
    headers = {}
    if secret is not None:
        headers["Stripe-Signature"] = stripe.WebhookSignature.generate_signature_header(
            payload.decode(), secret, timestamp=int(NOW.timestamp()) + offset
        )
    body = payload.replace(b"10000", b"99999") if tamper else payload
    response = api.post(
        f"/v1/webhooks/stripe/{scope.tenant_id}/{scope.environment_id}", content=body, headers=headers
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "validation_error"
    assert _reload(sessions, scope, invoice.id).payment_status == "PENDING"
    # A rejected request does not burn the event id: the genuine delivery still applies.
    assert _post(api, scope, payload, SECRET_A).json()["outcome"] == "applied"


def test_a_signature_inside_the_tolerance_is_accepted(api: TestClient, setup: tuple[Scope, Invoice]) -> None:
    scope, invoice = setup
    payload = _event("evt_old_ok", "invoice.paid", _invoice_object(invoice, 100_00))
    assert _post(api, scope, payload, SECRET_A, at_offset=-299).json()["outcome"] == "applied"


def test_another_tenants_invoice_is_never_updated(
    api: TestClient, sessions: sessionmaker[Session], setup: tuple[Scope, Invoice]
) -> None:
    scope_a, invoice_a = setup
    with sessions() as s:
        scope_b = new_scope(s, "tenant-b", webhook_secret=SECRET_B)
    # Tenant B's own, correctly signed event names tenant A's invoice.
    payload = _event("evt_cross", "invoice.paid", _invoice_object(invoice_a, 100_00))
    response = _post(api, scope_b, payload, SECRET_B)
    assert response.status_code == 200
    assert response.json() == {"event_id": "evt_cross", "outcome": "ignored", "invoice_id": None}
    assert _reload(sessions, scope_a, invoice_a.id).payment_status == "PENDING"
    # Tenant A's signature does not open tenant B's endpoint.
    assert _post(api, scope_b, _event("evt_x", "invoice.paid", {}), SECRET_A).status_code == 400


def test_an_unconfigured_scope_is_not_found(api: TestClient, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        scope = new_scope(s, "no-webhook", webhook_secret=None)
    payload = _event("evt_1", "invoice.paid", {})
    assert _post(api, scope, payload, SECRET_A).status_code == 404
    assert _post(api, Scope("tenant_nope", "env_nope"), payload, SECRET_A).status_code == 404


def test_unhandled_event_types_are_acknowledged_and_ignored(
    api: TestClient, setup: tuple[Scope, Invoice]
) -> None:
    scope, _ = setup
    payload = _event("evt_other", "customer.created", {"id": "cus_1", "object": "customer"})
    response = _post(api, scope, payload, SECRET_A)
    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
