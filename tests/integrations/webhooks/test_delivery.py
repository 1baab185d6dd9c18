"""Delivery end to end against a local receiver: signatures, retries with backoff, the attempt log,
idempotent webhook ids and tenant isolation, on the migrated catalog (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.integrations.webhooks import (
    INVOICE_FINALIZED,
    INVOICE_VOIDED,
    MAX_ATTEMPTS,
    SystemEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    deliver_pending,
    emit_system_event,
    generate_secret,
)
from tests.integrations.webhooks.conftest import LOOPBACK
from tests.integrations.webhooks.receiver import Receiver
from tests.integrations.webhooks.verifier import verification_error

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
PAYLOAD = {"invoice": {"id": "inv_1", "total": Decimal("30.00"), "currency": "usd", "finalized_at": NOW}}


@contextmanager
def session_of(app: FastAPI) -> Iterator[Session]:
    with app.state.database.session() as session:
        yield session
        session.commit()


def new_scope(app: FastAPI, name: str = "hooks") -> Scope:
    with session_of(app) as session:
        tenant, env, _ = create_tenant(session, name)
    return Scope(tenant.id, env.id)


def add_endpoint(app: FastAPI, scope: Scope, url: str, events: list[str], **extra: Any) -> WebhookEndpoint:
    with session_of(app) as session:
        return Repository(session, scope, WebhookEndpoint).create(
            url=url, enabled_events=events, secret=generate_secret(), **extra
        )


def emit(app: FastAPI, scope: Scope, event_type: str = INVOICE_FINALIZED, payload: Any = None) -> str:
    with session_of(app) as session:
        return emit_system_event(session, scope, event_type, payload or PAYLOAD, NOW).id


def deliver(app: FastAPI, http: httpx.Client, at: datetime, scope: Scope | None, **kw: Any) -> Any:
    with session_of(app) as session:
        tenant_id = scope.tenant_id if scope else None
        return deliver_pending(session, http, at, tenant_id=tenant_id, **{"destinations": LOOPBACK, **kw})


def deliveries(app: FastAPI, scope: Scope) -> list[WebhookDelivery]:
    with session_of(app) as session:
        return Repository(session, scope, WebhookDelivery).list(limit=100).items


def attempts(app: FastAPI, scope: Scope) -> list[WebhookDeliveryAttempt]:
    with session_of(app) as session:
        rows = Repository(session, scope, WebhookDeliveryAttempt).select()
        return list(session.scalars(rows.order_by(WebhookDeliveryAttempt.attempt)).all())


def test_an_event_is_delivered_signed_and_logged(
    app: FastAPI, http: httpx.Client, receiver: Receiver
) -> None:
    scope = new_scope(app)
    endpoint = add_endpoint(app, scope, receiver.url, [INVOICE_FINALIZED])
    event_id = emit(app, scope)

    summary = deliver(app, http, NOW, scope)

    assert (summary.attempted, summary.delivered, summary.retrying, summary.failed) == (1, 1, 0, [])
    [request] = receiver.requests
    assert verification_error(endpoint.secret, request.headers, request.body, int(NOW.timestamp())) is None
    assert verification_error(generate_secret(), request.headers, request.body, int(NOW.timestamp()))
    # Flexprice's payload is the whole body: {event_type, invoice}, no further envelope.
    assert json.loads(request.body) == {
        "event_type": "invoice.update.finalized",
        "invoice": {
            "id": "inv_1",
            "total": "30.00",
            "currency": "usd",
            "finalized_at": "2025-03-10T12:00:00+00:00",
        },
    }
    with session_of(app) as session:
        assert Repository(session, scope, SystemEvent).get(event_id).payload == json.loads(request.body)
    [delivery] = deliveries(app, scope)
    assert request.headers["webhook-id"] == delivery.id
    assert (delivery.delivery_status, delivery.attempts, delivery.delivered_at) == ("delivered", 1, NOW)
    [attempt] = attempts(app, scope)
    assert (attempt.attempt, attempt.status_code, attempt.error, attempt.delivered_at) == (1, 204, None, NOW)
    assert deliver(app, http, NOW + timedelta(days=1), scope).attempted == 0  # delivered means done


def test_failures_retry_with_backoff_under_the_same_webhook_id(
    app: FastAPI, http: httpx.Client, receiver: Receiver
) -> None:
    scope = new_scope(app)
    endpoint = add_endpoint(app, scope, receiver.url, [INVOICE_FINALIZED])
    emit(app, scope)
    receiver.script(500, 429, (204, 1.0), 200)

    moments = [NOW]
    for _ in range(4):
        summary = deliver(app, http, moments[-1], scope, timeout=0.3)
        assert summary.attempted == 1
        [delivery] = deliveries(app, scope)
        if delivery.next_attempt_at is not None:
            # Not due a moment earlier: the backoff is respected.
            early = delivery.next_attempt_at - timedelta(seconds=1)
            assert deliver(app, http, early, scope).attempted == 0
            moments.append(delivery.next_attempt_at)

    assert summary.delivered == 1
    logged = attempts(app, scope)
    assert [a.attempt for a in logged] == [1, 2, 3, 4]
    assert [a.status_code for a in logged] == [500, 429, None, 200]
    assert [a.error for a in logged] == ["HTTP 500", "HTTP 429", "timed out", None]
    assert [a.attempted_at for a in logged] == moments
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert timedelta(seconds=30) <= gaps[0] <= timedelta(seconds=37.5)
    assert timedelta(seconds=60) <= gaps[1] <= timedelta(seconds=75)
    assert timedelta(seconds=120) <= gaps[2] <= timedelta(seconds=150)
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    bodies = {r.body for r in receiver.requests}
    assert len(ids) == 1 and len(bodies) == 1
    # Each attempt is signed at its own send time, and verifies at that time.
    for request, at in zip(receiver.requests, moments, strict=True):
        assert request.headers["webhook-timestamp"] == str(int(at.timestamp()))
        assert verification_error(endpoint.secret, request.headers, request.body, int(at.timestamp())) is None


def test_a_delivery_gives_up_after_max_attempts(app: FastAPI, http: httpx.Client, receiver: Receiver) -> None:
    scope = new_scope(app)
    add_endpoint(app, scope, receiver.url, [INVOICE_FINALIZED])
    emit(app, scope)
    receiver.default = 503

    at: datetime | None = NOW
    summaries = []
    while at is not None:
        summaries.append(deliver(app, http, at, scope))
        at = deliveries(app, scope)[0].next_attempt_at

    assert len(receiver.requests) == MAX_ATTEMPTS == len(summaries)
    [delivery] = deliveries(app, scope)
    assert (delivery.delivery_status, delivery.attempts, delivery.last_status_code) == ("failed", 8, 503)
    [failure] = summaries[-1].failed
    assert (failure.delivery_id, failure.attempts, failure.status_code) == (delivery.id, 8, 503)
    assert all(s.retrying == 1 for s in summaries[:-1])
    assert len(attempts(app, scope)) == MAX_ATTEMPTS
    assert deliver(app, http, NOW + timedelta(days=30), scope).attempted == 0


def test_an_unreachable_endpoint_is_retried_not_raised(app: FastAPI, http: httpx.Client) -> None:
    scope = new_scope(app)
    add_endpoint(app, scope, "http://127.0.0.1:9/closed", [INVOICE_FINALIZED])
    emit(app, scope)
    summary = deliver(app, http, NOW, scope, timeout=1.0)
    assert (summary.attempted, summary.retrying) == (1, 1)
    [attempt] = attempts(app, scope)
    assert attempt.status_code is None and attempt.error == "connection refused"


def test_endpoints_only_receive_their_own_tenants_events(
    app: FastAPI, http: httpx.Client, receiver: Receiver, other_receiver: Receiver
) -> None:
    mine, theirs = new_scope(app, "a"), new_scope(app, "b")
    add_endpoint(app, mine, receiver.url, [INVOICE_FINALIZED])
    add_endpoint(app, theirs, other_receiver.url, [INVOICE_FINALIZED])
    emit(app, mine, payload={"invoice": {"id": "inv_mine"}})
    emit(app, theirs, payload={"invoice": {"id": "inv_theirs"}})

    deliver(app, http, NOW, None, timeout=1.0)  # one drain across every tenant

    assert [json.loads(r.body)["invoice"]["id"] for r in receiver.requests] == ["inv_mine"]
    assert [json.loads(r.body)["invoice"]["id"] for r in other_receiver.requests] == ["inv_theirs"]
    with session_of(app) as session:
        rows = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.tenant_id.in_([mine.tenant_id, theirs.tenant_id]))
        ).all()
        endpoints = {e.id: e.tenant_id for e in session.scalars(select(WebhookEndpoint)).all()}
    assert len(rows) == 2 and all(endpoints[row.endpoint_id] == row.tenant_id for row in rows)


def test_emitting_twice_is_one_event_and_fan_out_follows_subscriptions(
    app: FastAPI, http: httpx.Client, receiver: Receiver, other_receiver: Receiver
) -> None:
    scope = new_scope(app)
    subscribed = add_endpoint(app, scope, receiver.url, [INVOICE_FINALIZED, INVOICE_VOIDED])
    add_endpoint(app, scope, other_receiver.url, [INVOICE_VOIDED])
    add_endpoint(app, scope, other_receiver.url, [INVOICE_FINALIZED], endpoint_status="disabled")

    first, again = emit(app, scope), emit(app, scope)
    changed = emit(app, scope, payload={"invoice": {**PAYLOAD["invoice"], "total": Decimal("31.00")}})

    assert first == again != changed
    rows = deliveries(app, scope)
    assert len(rows) == 2 and {r.endpoint_id for r in rows} == {subscribed.id}
    deliver(app, http, NOW, scope)
    assert len(receiver.requests) == 2 and other_receiver.requests == []
    with session_of(app) as session, pytest.raises(ValueError, match="unknown system event"):
        emit_system_event(session, scope, "invoice.exploded", {}, NOW)
    with session_of(app) as session, pytest.raises(ValueError, match=r"is not 'invoice\.update\.voided'"):
        emit_system_event(session, scope, INVOICE_VOIDED, {"event_type": INVOICE_FINALIZED}, NOW)


def test_an_event_recorded_before_the_rename_is_retried_in_its_first_envelope(
    app: FastAPI, http: httpx.Client, receiver: Receiver
) -> None:
    """A delivery queued under the old names and body keeps sending the bytes its first attempt sent."""
    scope = new_scope(app)
    endpoint = add_endpoint(app, scope, receiver.url, ["invoice.finalized"])
    with session_of(app) as session:
        event = Repository(session, scope, SystemEvent).create(
            event_type="invoice.finalized",
            payload={"invoice_id": "inv_old"},
            occurred_at=NOW,
            idempotency_key="k",
        )
        session.add(
            WebhookDelivery(
                id="msg_legacy", tenant_id=scope.tenant_id, environment_id=scope.environment_id, event_id=event.id,
                endpoint_id=endpoint.id, event_type="invoice.finalized", delivery_status="pending", attempts=0,
                next_attempt_at=NOW,
            )
        )  # fmt: skip
        event_id = event.id

    assert deliver(app, http, NOW, scope).delivered == 1
    [request] = receiver.requests
    assert verification_error(endpoint.secret, request.headers, request.body, int(NOW.timestamp())) is None
    assert json.loads(request.body) == {
        "type": "invoice.finalized",
        "timestamp": "2025-03-10T12:00:00+00:00",
        "data": {"invoice_id": "inv_old"},
        "event_id": event_id,
    }
