"""System events and their fan-out: ``emit_system_event`` records an event once and queues one
delivery per enabled endpoint of the same tenant + environment that subscribed to its type.

Recording is a ledger write (it happens in the transaction that finalizes, voids or cancels);
sending the queued deliveries is ``integrations/webhooks/delivery.py``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.catalog import Repository, Scope
from flexprice_pipelines.catalog.models import (
    Customer,
    Invoice,
    InvoiceLineItem,
    Subscription,
    SystemEvent,
    WebhookDelivery,
    WebhookEndpoint,
)

# Flexprice's webhook event names (its ``types.WebhookEventName``): the ones we emit.
INVOICE_FINALIZED = "invoice.update.finalized"
INVOICE_VOIDED = "invoice.update.voided"
INVOICE_PAYMENT_STATUS_CHANGED = "invoice.update.payment"
SUBSCRIPTION_CANCELLED = "subscription.cancelled"
EVENT_TYPES = (INVOICE_FINALIZED, INVOICE_VOIDED, INVOICE_PAYMENT_STATUS_CHANGED, SUBSCRIPTION_CANCELLED)

# The names these events had before they took Flexprice's (catalog migration 0007 renames the
# subscriptions of stored endpoints; events recorded under them keep their name and body).
LEGACY_EVENT_NAMES = {
    "invoice.finalized": INVOICE_FINALIZED,
    "invoice.voided": INVOICE_VOIDED,
    "invoice.payment_status_changed": INVOICE_PAYMENT_STATUS_CHANGED,
    "subscription.cancelled": SUBSCRIPTION_CANCELLED,
}
# Per-invoice idempotency keys keep the old prefix (``invoice.finalized:<id>``): an invoice whose
# event was recorded before the rename is then still recognised, and never announced twice.
IDEMPOTENCY_PREFIX = {new: old for old, new in LEGACY_EVENT_NAMES.items()}


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

    What is stored, and sent as the request body, is Flexprice's webhook payload: ``payload`` (the
    entity part, e.g. ``{"invoice": {...}}`` from ``invoice_payload``) under its ``event_type``.

    Emitting the same event again (same ``idempotency_key``, by default the hash of type + payload)
    returns the first one and queues nothing: pipeline re-runs never notify twice. The caller commits.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown system event type {event_type!r}; expected one of {EVENT_TYPES}")
    if payload.get("event_type", event_type) != event_type:
        raise ValueError(f"payload event_type {payload['event_type']!r} is not {event_type!r}")
    body = json.loads(canonical_json({"event_type": event_type, **payload}))
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


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """Flexprice leaves unset fields out (``omitempty``) rather than sending null."""
    return {k: v for k, v in fields.items() if v is not None}


def _string_metadata(metadata: dict[str, Any] | None) -> dict[str, str]:
    """Flexprice's metadata is a string → string map: other values (a line's rating breakdown)
    travel as their compact JSON text."""
    return {
        str(k): v if isinstance(v, str) else canonical_json(v)
        for k, v in (metadata or {}).items()
        if v is not None
    }


def _audit(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "environment_id": row.environment_id,
        "status": row.status,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "created_by": row.created_by,
        "updated_by": row.updated_by,
    }


def customer_fields(customer: Customer) -> dict[str, Any]:
    """A customer as Flexprice's webhooks embed it (``CustomerResponse`` / ``webhookDto.Customer``)."""
    return _present(
        {
            **_audit(customer),
            "external_id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
            "address_line1": customer.address_line1,
            "address_line2": customer.address_line2,
            "address_city": customer.address_city,
            "address_state": customer.address_state,
            "address_postal_code": customer.address_postal_code,
            "address_country": customer.address_country,
            "metadata": _string_metadata(customer.metadata_),
        }
    )


def line_item_fields(line: InvoiceLineItem) -> dict[str, Any]:
    """An invoice line as Flexprice's ``InvoiceLineItemResponse``."""
    meta = line.metadata_ or {}
    return _present(
        {
            **_audit(line),
            "invoice_id": line.invoice_id,
            "customer_id": line.customer_id,
            "subscription_id": line.subscription_id,
            "entity_id": line.plan_id,
            "entity_type": "plan" if line.plan_id else None,
            "price_id": line.price_id,
            "price_type": line.price_type,
            "meter_id": line.meter_id,
            "display_name": line.display_name,
            "plan_display_name": line.plan_display_name,
            "meter_display_name": line.meter_display_name,
            "amount": line.amount,
            "quantity": line.quantity,
            "currency": line.currency,
            "period_start": line.period_start,
            "period_end": line.period_end,
            # What rating records in a line's metadata and Flexprice has as fields of its own.
            "subscription_line_item_id": _text(meta.get("subscription_line_item_id")),
            "prepaid_credits_applied": _text(meta.get("credits_applied")),
            "line_item_discount": _text(meta.get("discount")),
            "metadata": _string_metadata(meta),
        }
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def lines_by_invoice(
    session: Session, scope: Scope, invoice_ids: Sequence[str]
) -> dict[str, list[InvoiceLineItem]]:
    """The lines of each invoice of ``invoice_ids`` (in ``scope``), in id order."""
    found: dict[str, list[InvoiceLineItem]] = {i: [] for i in invoice_ids}
    if not invoice_ids:
        return found
    statement = (
        Repository(session, scope, InvoiceLineItem)
        .select()
        .where(InvoiceLineItem.invoice_id.in_(list(invoice_ids)))
        .order_by(InvoiceLineItem.id)
    )
    for line in session.scalars(statement):
        found[line.invoice_id].append(line)
    return found


def customers_by_id(session: Session, scope: Scope, customer_ids: Sequence[str]) -> dict[str, Customer]:
    """The customers of ``customer_ids`` in ``scope``, by id."""
    if not customer_ids:
        return {}
    statement = (
        Repository(session, scope, Customer).select().where(Customer.id.in_(sorted(set(customer_ids))))
    )
    return {c.id: c for c in session.scalars(statement)}


def invoice_payload(
    invoice: Invoice, lines: Sequence[InvoiceLineItem] = (), customer: Customer | None = None
) -> dict[str, Any]:
    """What ``invoice.update.*`` events carry: ``{"invoice": InvoiceResponse}``, as Flexprice's
    ``webhookDto.InvoiceWebhookPayload`` (money as decimal strings, unset fields left out)."""
    fields = _present(
        {
            **_audit(invoice),
            "customer_id": invoice.customer_id,
            "subscription_id": invoice.subscription_id,
            "invoice_type": invoice.invoice_type,
            "invoice_status": invoice.invoice_status,
            "payment_status": invoice.payment_status,
            "billing_reason": invoice.billing_reason,
            "currency": invoice.currency,
            "amount_due": invoice.amount_due,
            "amount_paid": invoice.amount_paid,
            "amount_remaining": invoice.amount_remaining,
            "subtotal": invoice.subtotal,
            "total_discount": invoice.total_discount,
            "total_prepaid_credits_applied": invoice.total_prepaid_credits_applied,
            "total_tax": invoice.total_tax,
            "total": invoice.total,
            "description": invoice.description,
            "billing_period": invoice.billing_period,
            "period_start": invoice.period_start,
            "period_end": invoice.period_end,
            "due_date": invoice.due_date,
            "paid_at": invoice.paid_at,
            "finalized_at": invoice.finalized_at,
            "voided_at": invoice.voided_at,
            "invoice_number": invoice.invoice_number,
            "invoice_pdf_url": invoice.invoice_pdf_url,
            "recalculated_invoice_id": invoice.recalculated_invoice_id,
            "idempotency_key": invoice.idempotency_key,
            "version": invoice.version,
            "metadata": _string_metadata(invoice.metadata_),
            "line_items": [line_item_fields(line) for line in lines],
            "customer": customer_fields(customer) if customer is not None else None,
        }
    )
    return {"invoice": fields}


def load_invoice_payload(session: Session, invoice: Invoice) -> dict[str, Any]:
    """``invoice_payload`` of ``invoice`` with its lines and customer read from its own scope."""
    scope = Scope(invoice.tenant_id, invoice.environment_id)
    lines = lines_by_invoice(session, scope, [invoice.id])[invoice.id]
    customer = customers_by_id(session, scope, [invoice.customer_id]).get(invoice.customer_id)
    return invoice_payload(invoice, lines, customer)


def subscription_payload(subscription: Subscription, customer: Customer | None = None) -> dict[str, Any]:
    """What ``subscription.*`` events carry: ``{"subscription": ...}``, as Flexprice's
    ``webhookDto.SubscriptionWebhookPayload``."""
    customer_part = None
    if customer is not None:
        # webhookDto.Customer has no audit columns besides the ids.
        customer_part = {
            k: v
            for k, v in customer_fields(customer).items()
            if k not in {"tenant_id", "status", "created_at", "updated_at", "created_by", "updated_by"}
        }
    fields = _present(
        {
            "id": subscription.id,
            "customer_id": subscription.customer_id,
            "plan_id": subscription.plan_id,
            "lookup_key": subscription.lookup_key,
            "subscription_status": subscription.subscription_status,
            "currency": subscription.currency,
            "start_date": subscription.start_date,
            "end_date": subscription.end_date,
            "current_period_start": subscription.current_period_start,
            "current_period_end": subscription.current_period_end,
            "cancelled_at": subscription.cancelled_at,
            "cancel_at": subscription.cancel_at,
            "cancel_at_period_end": subscription.cancel_at_period_end,
            "trial_start": subscription.trial_start,
            "trial_end": subscription.trial_end,
            "billing_cadence": subscription.billing_cadence,
            "billing_period": subscription.billing_period,
            "billing_period_count": subscription.billing_period_count,
            "pause_status": subscription.pause_status,
            # We have no parent/child or delegated subscriptions: every one stands alone.
            "subscription_type": "standalone",
            "metadata": _string_metadata(subscription.metadata_),
            "customer": customer_part,
        }
    )
    return {"subscription": fields}


def load_subscription_payload(session: Session, subscription: Subscription) -> dict[str, Any]:
    """``subscription_payload`` with the customer read from the subscription's own scope."""
    scope = Scope(subscription.tenant_id, subscription.environment_id)
    customer = customers_by_id(session, scope, [subscription.customer_id]).get(subscription.customer_id)
    return subscription_payload(subscription, customer)
