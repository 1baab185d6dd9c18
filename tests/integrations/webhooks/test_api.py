"""``/v1/webhooks/endpoints`` and the ``subscription.cancelled`` event the API emits."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from flexprice_pipelines.integrations.webhooks import EVENT_TYPES, SystemEvent, deliver_pending
from tests.api import factories
from tests.api.conftest import FROZEN_NOW, Tenant
from tests.integrations.webhooks.conftest import LOOPBACK
from tests.integrations.webhooks.receiver import Receiver
from tests.integrations.webhooks.verifier import verification_error

PATH = "/v1/webhooks/endpoints"


def test_the_api_offers_exactly_the_system_event_types() -> None:
    from api.routers.webhook_endpoints import EventType

    assert set(EventType.__args__) == set(EVENT_TYPES)


def test_create_shows_the_secret_once_then_read_update_delete(tenant: Tenant) -> None:
    body = {
        "url": "https://billing.example.com/hooks",
        "enabled_events": ["invoice.update.voided", "invoice.update.voided"],
    }
    created = tenant.created(PATH, body)
    assert created["secret"].startswith("whsec_")
    assert created["enabled_events"] == ["invoice.update.voided"] and created["endpoint_status"] == "enabled"

    fetched = tenant.get(f"{PATH}/{created['id']}").json()
    assert "secret" not in fetched and fetched["url"] == body["url"]
    assert [e["id"] for e in tenant.get(PATH).json()["items"]] == [created["id"]]

    updated = tenant.put(f"{PATH}/{created['id']}", {"endpoint_status": "disabled"}).json()
    assert updated["endpoint_status"] == "disabled" and updated["url"] == body["url"]
    assert tenant.get(PATH, endpoint_status="enabled").json()["items"] == []

    assert tenant.delete(f"{PATH}/{created['id']}").status_code == 204
    assert tenant.get(f"{PATH}/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com", "enabled_events": ["invoice.update.finalized"]}, "url"),
        ({"url": "not a url", "enabled_events": ["invoice.update.finalized"]}, "url"),
        ({"url": "https://example.com", "enabled_events": []}, "enabled_events"),
        ({"url": "https://example.com", "enabled_events": ["invoice.paid"]}, "enabled_events"),
        # The names these events had before they took Flexprice's (stored ones were migrated).
        ({"url": "https://example.com", "enabled_events": ["invoice.finalized"]}, "enabled_events"),
        (
            {"url": "https://example.com", "enabled_events": ["invoice.payment_status_changed"]},
            "enabled_events",
        ),
        # A Flexprice event we do not emit yet is refused rather than accepted and never sent.
        ({"url": "https://example.com", "enabled_events": ["subscription.created"]}, "enabled_events"),
        (
            {"url": "https://example.com", "enabled_events": ["invoice.update.finalized"], "secret": "x"},
            "secret",
        ),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(tenant: Tenant, body: dict[str, object], field: str) -> None:
    response = tenant.post(PATH, body)
    assert response.status_code == 400, response.text
    assert any(field in d["field"] for d in response.json()["details"])


def test_update_validates_too(tenant: Tenant) -> None:
    endpoint = factories.webhook_endpoint(tenant)
    response = tenant.put(f"{PATH}/{endpoint['id']}", {"endpoint_status": "paused"})
    assert response.status_code == 400


@pytest.mark.usefixtures("loopback_endpoints")
def test_cancelling_a_subscription_notifies_the_tenants_endpoint(
    tenant: Tenant, other_tenant: Tenant, receiver: Receiver, http: httpx.Client
) -> None:
    endpoint = tenant.created(PATH, {"url": receiver.url, "enabled_events": ["subscription.cancelled"]})
    tenant.created(
        PATH, {"url": receiver.url + "/unsubscribed", "enabled_events": ["invoice.update.finalized"]}
    )
    other_tenant.created(PATH, {"url": receiver.url + "/other", "enabled_events": ["subscription.cancelled"]})
    sub = factories.subscription(tenant)

    response = tenant.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "end_of_period"})
    assert response.status_code == 200, response.text

    with tenant.app.state.database.session() as session:
        events = session.query(SystemEvent).filter_by(tenant_id=tenant.scope.tenant_id).all()
        summary = deliver_pending(
            session, http, FROZEN_NOW, tenant_id=tenant.scope.tenant_id, destinations=LOOPBACK
        )
        session.commit()
    assert [e.event_type for e in events] == ["subscription.cancelled"]
    assert summary.delivered == 1
    [request] = receiver.requests
    assert request.path == "/hooks"
    assert (
        verification_error(endpoint["secret"], request.headers, request.body, int(FROZEN_NOW.timestamp()))
        is None
    )
    body = json.loads(request.body)
    assert set(body) == {"event_type", "subscription"} and body["event_type"] == "subscription.cancelled"
    data = body["subscription"]
    assert data["id"] == sub["id"] and data["cancel_at_period_end"] is True
    assert data["cancel_at"] == sub["current_period_end"].replace("Z", "+00:00")
    assert data["customer"]["id"] == sub["customer_id"] == data["customer_id"]

    attempts = tenant.get(f"{PATH}/{endpoint['id']}/attempts").json()
    assert [(a["attempt"], a["status_code"]) for a in attempts["items"]] == [(1, 204)]
    assert attempts["items"][0]["delivery_id"] == request.headers["webhook-id"]
    # Turning the scheduled cancel into an immediate one is a new event, not a duplicate.
    now_cancel = tenant.post(f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_type": "immediate"})
    assert now_cancel.status_code == 200, now_cancel.text
    with tenant.app.state.database.session() as session:
        statuses = [
            e.payload["subscription"]["subscription_status"]
            for e in session.query(SystemEvent).filter_by(tenant_id=tenant.scope.tenant_id).all()
        ]
    assert sorted(statuses) == ["active", "cancelled"]


def test_a_failed_cancel_emits_nothing(tenant: Tenant) -> None:
    sub = factories.subscription(tenant)
    late = (FROZEN_NOW - timedelta(days=1)).isoformat()
    body = {"cancellation_type": "scheduled_date", "cancel_at": late}
    assert tenant.post(f"/v1/subscriptions/{sub['id']}/cancel", body).status_code == 400
    with tenant.app.state.database.session() as session:
        assert session.query(SystemEvent).filter_by(tenant_id=tenant.scope.tenant_id).count() == 0
