"""Outbound system-event webhooks: tenant endpoints, Standard Webhooks signatures, retries with
exponential backoff and a log of every attempt (see ``integrations/README.md``)."""

from __future__ import annotations

from flexprice_pipelines.integrations.webhooks.backoff import MAX_ATTEMPTS, next_attempt_at, retry_delay
from flexprice_pipelines.integrations.webhooks.delivery import (
    DeliverySummary,
    FailedDelivery,
    deliver_pending,
)
from flexprice_pipelines.integrations.webhooks.events import (
    EVENT_TYPES,
    INVOICE_FINALIZED,
    INVOICE_PAYMENT_STATUS_CHANGED,
    INVOICE_VOIDED,
    SUBSCRIPTION_CANCELLED,
    emit_system_event,
    invoice_payload,
    message_body,
    subscription_payload,
)
from flexprice_pipelines.integrations.webhooks.models import (
    SystemEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from flexprice_pipelines.integrations.webhooks.signing import generate_secret, sign, signature_headers

__all__ = [
    "EVENT_TYPES",
    "INVOICE_FINALIZED",
    "INVOICE_PAYMENT_STATUS_CHANGED",
    "INVOICE_VOIDED",
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
    "message_body",
    "next_attempt_at",
    "retry_delay",
    "sign",
    "signature_headers",
    "subscription_payload",
]
