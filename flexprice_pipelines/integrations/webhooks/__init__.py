"""Outbound system-event webhooks: tenant endpoints, Standard Webhooks signatures, retries with
exponential backoff and a log of every attempt (see ``integrations/README.md``).

The tables are catalog models (``catalog/models/webhooks.py``); events are recorded by
``ledger/events.py`` in the transaction that causes them; this package sends them."""

from __future__ import annotations

from flexprice_pipelines.catalog.models.webhooks import (
    SystemEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from flexprice_pipelines.integrations.webhooks.backoff import MAX_ATTEMPTS, next_attempt_at, retry_delay
from flexprice_pipelines.integrations.webhooks.delivery import (
    DeliverySummary,
    FailedDelivery,
    deliver_pending,
    message_body,
)
from flexprice_pipelines.integrations.webhooks.signing import generate_secret, sign, signature_headers

# Recording events is a ledger write; they are re-exported here for the webhook code that names them.
from flexprice_pipelines.ledger.events import (
    EVENT_TYPES,
    INVOICE_FINALIZED,
    INVOICE_PAYMENT_STATUS_CHANGED,
    INVOICE_VOIDED,
    LEGACY_EVENT_NAMES,
    SUBSCRIPTION_CANCELLED,
    emit_system_event,
    invoice_payload,
    load_invoice_payload,
    load_subscription_payload,
    subscription_payload,
)

__all__ = [
    "EVENT_TYPES",
    "INVOICE_FINALIZED",
    "INVOICE_PAYMENT_STATUS_CHANGED",
    "INVOICE_VOIDED",
    "LEGACY_EVENT_NAMES",
    "MAX_ATTEMPTS",
    "SUBSCRIPTION_CANCELLED",
    "DeliverySummary",
    "FailedDelivery",
    "SystemEvent",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "deliver_pending",
    "emit_system_event",
    "generate_secret",
    "invoice_payload",
    "load_invoice_payload",
    "load_subscription_payload",
    "message_body",
    "next_attempt_at",
    "retry_delay",
    "sign",
    "signature_headers",
    "subscription_payload",
]
