"""Stripe webhook events: signature verification and payment-status updates, once per event id.

``verify_event`` checks the ``Stripe-Signature`` HMAC with the SDK (``WebhookSignature``) and the
timestamp against an injected clock (the SDK reads the wall clock and only rejects old events; we
reject both stale and future-dated ones). ``apply_event`` records the event id first — a redelivery
is a no-op — then moves ``payment_status``: ``invoice.paid`` → SUCCEEDED, ``invoice.payment_failed``
→ FAILED (never over SUCCEEDED: Stripe does not guarantee delivery order). The invoice is looked up
only inside the URL's tenant and environment, so another tenant's invoice can never be touched.
A change of ``payment_status`` emits the ``invoice.payment_status_changed`` system event, keyed by
the Stripe event id, in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import stripe
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.money import currency_precision, round_amount
from flexprice_pipelines.catalog.models import EntityIntegrationMapping, Invoice
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.integrations.stripe.connections import PROVIDER
from flexprice_pipelines.integrations.stripe.tables import webhook_events
from flexprice_pipelines.ledger.events import (
    INVOICE_PAYMENT_STATUS_CHANGED,
    emit_system_event,
    load_invoice_payload,
)

TOLERANCE_SECONDS = 300
PAID = "invoice.paid"
PAYMENT_FAILED = "invoice.payment_failed"


class WebhookRejected(Exception):
    """The request is not a genuine, fresh Stripe event for this endpoint (answered with 400)."""


class WebhookOutcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # an event type we do not handle, an invoice not ours, or an out-of-order failure


@dataclass(frozen=True, slots=True)
class WebhookResult:
    event_id: str
    outcome: WebhookOutcome
    invoice_id: str | None = None


def _timestamp(header: str) -> int:
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            return int(value)
    raise WebhookRejected("no timestamp in Stripe-Signature")


def verify_event(
    payload: bytes, header: str | None, secret: str, now: datetime, tolerance: int = TOLERANCE_SECONDS
) -> dict[str, Any]:
    """The event in ``payload`` if ``header`` signs it with ``secret`` within ``tolerance`` seconds of ``now``."""
    try:
        # tolerance=None: the SDK checks only the HMAC; freshness is checked below against ``now``.
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance=None)
        signed_at = _timestamp(header or "")
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise WebhookRejected(f"invalid Stripe-Signature: {exc}") from exc
    if abs(now.timestamp() - signed_at) > tolerance:
        raise WebhookRejected(f"Stripe-Signature timestamp is outside the {tolerance}s tolerance")
    try:
        event = json.loads(payload)
    except ValueError as exc:
        raise WebhookRejected("payload is not JSON") from exc
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise WebhookRejected("payload is not a Stripe event")
    return event


def apply_event(session: Session, scope: Scope, event: dict[str, Any], now: datetime) -> WebhookResult:
    """Apply a verified event to ``scope``'s invoices once per event id (the caller commits)."""
    event_id, event_type = event["id"], event["type"]
    try:
        with session.begin_nested():
            session.execute(
                webhook_events.insert().values(
                    tenant_id=scope.tenant_id,
                    environment_id=scope.environment_id,
                    provider_type=PROVIDER,
                    event_id=event_id,
                    event_type=event_type,
                    outcome="pending",
                    received_at=now,
                )
            )
    except IntegrityError:
        return WebhookResult(event_id, WebhookOutcome.DUPLICATE)
    result = _apply(session, scope, event_id, event_type, event["data"]["object"], now)
    session.execute(
        update(webhook_events)
        .where(
            webhook_events.c.tenant_id == scope.tenant_id,
            webhook_events.c.environment_id == scope.environment_id,
            webhook_events.c.provider_type == PROVIDER,
            webhook_events.c.event_id == event_id,
        )
        .values(outcome=result.outcome.value, invoice_id=result.invoice_id)
    )
    return result


def _apply(
    session: Session, scope: Scope, event_id: str, event_type: str, obj: dict[str, Any], now: datetime
) -> WebhookResult:
    if event_type not in (PAID, PAYMENT_FAILED):
        return WebhookResult(event_id, WebhookOutcome.IGNORED)
    invoice = _our_invoice(session, scope, obj)
    if invoice is None or str(obj.get("currency", "")).lower() != invoice.currency.lower():
        return WebhookResult(event_id, WebhookOutcome.IGNORED)
    previous = invoice.payment_status
    if event_type == PAYMENT_FAILED:
        if invoice.payment_status == "SUCCEEDED":
            return WebhookResult(event_id, WebhookOutcome.IGNORED, invoice.id)
        invoice.payment_status = "FAILED"
    else:
        paid = _from_minor_units(obj.get("amount_paid"), invoice.currency)
        paid_at = (obj.get("status_transitions") or {}).get("paid_at")
        invoice.payment_status = "SUCCEEDED"
        invoice.amount_paid = paid
        # Rounded to the currency's scale: the event payload shows "0.00", not "0".
        invoice.amount_remaining = round_amount(max(Decimal(0), invoice.amount_due - paid), invoice.currency)
        invoice.paid_at = datetime.fromtimestamp(int(paid_at), UTC) if paid_at else now
    session.flush()
    if invoice.payment_status != previous:
        # Keyed by the Stripe event: a second event that changes the status again notifies again,
        # while the same event can only get here once (its id is recorded first).
        emit_system_event(
            session,
            scope,
            INVOICE_PAYMENT_STATUS_CHANGED,
            load_invoice_payload(session, invoice),
            now,
            # Hashed: Stripe event ids may be up to 255 characters, the key column holds 128.
            idempotency_key=f"stripe:{hashlib.sha256(event_id.encode()).hexdigest()}",
        )
    return WebhookResult(event_id, WebhookOutcome.APPLIED, invoice.id)


def _from_minor_units(value: object, currency: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WebhookRejected("amount_paid must be an integer")
    return Decimal(value).scaleb(-currency_precision(currency))


def _our_invoice(session: Session, scope: Scope, obj: dict[str, Any]) -> Invoice | None:
    """Our invoice for a Stripe invoice: by the sync's mapping, else by the metadata id — in ``scope`` only."""
    invoices = Repository(session, scope, Invoice)
    stripe_id = obj.get("id")
    if isinstance(stripe_id, str):
        mapping = Repository(session, scope, EntityIntegrationMapping).find_one(
            entity_type="invoice", provider_type=PROVIDER, provider_entity_id=stripe_id
        )
        if mapping is not None:
            return invoices.find_one(id=mapping.entity_id)
    ours = (obj.get("metadata") or {}).get("flexprice_invoice_id")
    if not isinstance(ours, str):
        return None
    invoice = invoices.find_one(id=ours)
    if invoice is None:
        return None
    # An invoice synced to another Stripe invoice is not the one this event is about.
    other = Repository(session, scope, EntityIntegrationMapping).find_one(
        entity_type="invoice", entity_id=invoice.id, provider_type=PROVIDER
    )
    return invoice if other is None else None
