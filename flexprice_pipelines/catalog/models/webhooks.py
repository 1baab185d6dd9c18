"""Tables of outbound webhooks: tenant endpoints, system events, one delivery per (event, endpoint)
and every attempt made for it. Created by catalog migration ``0003_webhooks``; secrets encrypted since ``0005``.

They are catalog tables (the ledger records ``system_events`` and their deliveries in the transaction that
finalizes or voids an invoice); sending them is ``integrations/webhooks/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    Metadata,
    ScopedModel,
    metadata_column,
    ref,
    scope_index,
    unique_in_scope,
)
from flexprice_pipelines.catalog.secrets import EncryptedText


class WebhookEndpoint(ScopedModel):
    """A URL a tenant wants system events at, with its Standard Webhooks signing secret."""

    __tablename__ = "webhook_endpoints"
    __id_prefix__ = "whep"
    __entity_name__ = "webhook endpoint"
    __table_args__ = (scope_index("webhook_endpoints"),)

    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    # whsec_<base64 key>, stored as a Fernet token (migration 0005): the drainer must read it to sign.
    secret: Mapped[str] = mapped_column(EncryptedText())
    enabled_events: Mapped[list[Any]]
    endpoint_status: Mapped[str] = mapped_column(String(20), default="enabled")  # enabled | disabled
    metadata_: Metadata = metadata_column()


class SystemEvent(ScopedModel):
    """Something that happened to a tenant's billing objects (``invoice.update.finalized`` …, Flexprice's names), emitted once
    per ``idempotency_key``."""

    __tablename__ = "system_events"
    __id_prefix__ = "evt"
    __entity_name__ = "system event"
    __table_args__ = (scope_index("system_events"), unique_in_scope("system_events", "idempotency_key"))

    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    idempotency_key: Mapped[str] = mapped_column(String(128))


class WebhookDelivery(ScopedModel):
    """The state of one event's delivery to one endpoint; its id is the ``webhook-id`` header, so a
    receiver sees the same id on every retry."""

    __tablename__ = "webhook_deliveries"
    __id_prefix__ = "msg"
    __entity_name__ = "webhook delivery"
    __table_args__ = (
        scope_index("webhook_deliveries"),
        unique_in_scope("webhook_deliveries", "event_id", "endpoint_id"),
        # The drainer's query spans tenants: due pending deliveries, oldest first.
        Index("ix_webhook_deliveries_due", "delivery_status", "next_attempt_at"),
    )

    event_id: Mapped[str] = mapped_column(String(64), ref("system_events"))
    endpoint_id: Mapped[str] = mapped_column(String(64), ref("webhook_endpoints"))
    event_type: Mapped[str] = mapped_column(String(60))
    delivery_status: Mapped[str] = mapped_column(
        String(20), default="pending"
    )  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookDeliveryAttempt(ScopedModel):
    """One HTTP attempt of a delivery, kept as the delivery log."""

    __tablename__ = "webhook_delivery_attempts"
    __id_prefix__ = "whatt"
    __entity_name__ = "webhook delivery attempt"
    __table_args__ = (
        scope_index("webhook_delivery_attempts"),
        unique_in_scope("webhook_delivery_attempts", "delivery_id", "attempt"),
        Index("ix_webhook_delivery_attempts_endpoint", "tenant_id", "environment_id", "endpoint_id"),
    )

    delivery_id: Mapped[str] = mapped_column(String(64), ref("webhook_deliveries"))
    event_id: Mapped[str] = mapped_column(String(64), ref("system_events"))
    endpoint_id: Mapped[str] = mapped_column(String(64), ref("webhook_endpoints"))
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


WEBHOOK_MODELS = (WebhookEndpoint, SystemEvent, WebhookDelivery, WebhookDeliveryAttempt)
