"""System events and their fan-out: ``emit_system_event`` records an event once and queues one
delivery per enabled endpoint of the same tenant + environment that subscribed to its type.

Recording is a ledger write (it happens in the transaction that finalizes, voids or cancels);
sending the queued deliveries is ``integrations/webhooks/delivery.py``."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import (
    Invoice,
    Subscription,
    SystemEvent,
    WebhookDelivery,
    WebhookEndpoint,
)

INVOICE_FINALIZED = "invoice.finalized"
INVOICE_VOIDED = "invoice.voided"
INVOICE_PAYMENT_STATUS_CHANGED = "invoice.payment_status_changed"
SUBSCRIPTION_CANCELLED = "subscription.cancelled"
EVENT_TYPES = (INVOICE_FINALIZED, INVOICE_VOIDED, INVOICE_PAYMENT_STATUS_CHANGED, SUBSCRIPTION_CANCELLED)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # money leaves as a plain decimal string, scale kept
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("event payload datetimes must be timezone-aware")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in an event payload")


def canonical_json(value: Any) -> str:
    """Sorted, compact JSON with decimals as strings and aware datetimes as ISO 8601."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_value, ensure_ascii=False)


def emit_system_event(
    session: Session,
    scope: Scope,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    idempotency_key: str | None = None,
) -> SystemEvent:
    """Record ``event_type`` with ``payload`` for ``scope`` and queue its deliveries (due at ``now``).

    Emitting the same event again (same ``idempotency_key``, by default the hash of type + payload)
    returns the first one and queues nothing: pipeline re-runs never notify twice. The caller commits.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown system event type {event_type!r}; expected one of {EVENT_TYPES}")
    body = json.loads(canonical_json(payload))
    key = idempotency_key or hashlib.sha256(f"{event_type}\n{canonical_json(body)}".encode()).hexdigest()
    events = Repository(session, scope, SystemEvent)
    existing = events.find_one(idempotency_key=key)
    if existing is not None:
        return existing
    event = events.create(
        id=deterministic_id("evt", scope.tenant_id, scope.environment_id, key),
        event_type=event_type,
        payload=body,
        occurred_at=now,
        idempotency_key=key,
    )
    # The endpoints come from a scoped query and the event was just created in this scope, so the
    # repository's per-row reference checks would only repeat what is already known.
    session.add_all(
        WebhookDelivery(
            id=deterministic_id("msg", event.id, endpoint.id),
            tenant_id=scope.tenant_id,
            environment_id=scope.environment_id,
            event_id=event.id,
            endpoint_id=endpoint.id,
            event_type=event_type,
            delivery_status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        for endpoint in subscribed_endpoints(session, scope, event_type)
    )
    session.flush()
    return event


def subscribed_endpoints(session: Session, scope: Scope, event_type: str) -> list[WebhookEndpoint]:
    """Enabled endpoints of ``scope`` whose ``enabled_events`` include ``event_type``."""
    statement = (
        Repository(session, scope, WebhookEndpoint)
        .select()
        .where(WebhookEndpoint.endpoint_status == "enabled")
    )
    return [
        e
        for e in session.scalars(statement.order_by(WebhookEndpoint.id))
        if event_type in (e.enabled_events or [])
    ]


def invoice_payload(invoice: Invoice) -> dict[str, Any]:
    """What ``invoice.*`` events carry: Flexprice's invoice field names, money as decimal strings."""
    return {
        "invoice_id": invoice.id,
        "customer_id": invoice.customer_id,
        "subscription_id": invoice.subscription_id,
        "invoice_number": invoice.invoice_number,
        "invoice_status": invoice.invoice_status,
        "payment_status": invoice.payment_status,
        "billing_reason": invoice.billing_reason,
        "currency": invoice.currency,
        "subtotal": invoice.subtotal,
        "total": invoice.total,
        "amount_due": invoice.amount_due,
        "amount_paid": invoice.amount_paid,
        "amount_remaining": invoice.amount_remaining,
        "period_start": invoice.period_start,
        "period_end": invoice.period_end,
        "finalized_at": invoice.finalized_at,
        "voided_at": invoice.voided_at,
    }


def subscription_payload(subscription: Subscription) -> dict[str, Any]:
    """What ``subscription.cancelled`` carries."""
    return {
        "subscription_id": subscription.id,
        "customer_id": subscription.customer_id,
        "plan_id": subscription.plan_id,
        "subscription_status": subscription.subscription_status,
        "currency": subscription.currency,
        "cancel_at": subscription.cancel_at,
        "cancelled_at": subscription.cancelled_at,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "current_period_start": subscription.current_period_start,
        "current_period_end": subscription.current_period_end,
    }
