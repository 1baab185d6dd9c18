"""The drainer: sends every due webhook delivery, logs each attempt and schedules retries.

It spans tenants, so it does not go through a scoped ``Repository``; instead every row it touches is
joined on ``(id, tenant_id, environment_id)``, and a delivery row only ever exists for an endpoint of
its event's own scope (``ledger.events.emit_system_event``) — an endpoint never sees another tenant's event.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.catalog.models.webhooks import (
    SystemEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from flexprice_pipelines.integrations.destinations import (
    DestinationPolicy,
    DestinationRefused,
    pinned_request,
)
from flexprice_pipelines.integrations.webhooks.backoff import next_attempt_at
from flexprice_pipelines.integrations.webhooks.signing import signature_headers
from flexprice_pipelines.ledger.events import canonical_json

DEFAULT_TIMEOUT = 10.0
BATCH_SIZE = 200
_DRAIN_BYTES = 64 * 1024


@dataclass(frozen=True)
class FailedDelivery:
    """A delivery that used up its attempts."""

    delivery_id: str
    tenant_id: str
    endpoint_id: str
    event_type: str
    attempts: int
    status_code: int | None
    error: str | None


@dataclass
class DeliverySummary:
    """What one ``deliver_pending`` call did; ``failed`` lists deliveries that gave up."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: list[FailedDelivery] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def message_body(event: SystemEvent) -> bytes:
    """The request body of an event: Flexprice's webhook payload as recorded, e.g.
    ``{"event_type": "invoice.update.finalized", "invoice": {...}}`` (no further envelope; which
    delivery it is travels in the ``webhook-id`` header).

    Built from stored columns only, so every retry sends identical bytes. An event recorded before
    payloads took Flexprice's shape (no ``event_type`` in it) keeps the envelope it was first sent
    in, ``{"type", "timestamp", "data", "event_id"}``, so its retries still match their signatures.
    """
    payload = event.payload
    if isinstance(payload, dict) and "event_type" in payload:
        return canonical_json(payload).encode()
    envelope = {
        "type": event.event_type,
        "timestamp": event.occurred_at,
        "data": payload,
        "event_id": event.id,
    }
    return canonical_json(envelope).encode()


def _reason(exc: httpx.HTTPError) -> str:
    """A fixed phrase for a failed request: the exception text can carry what the remote sent."""
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused"
            if isinstance(cause, ssl.SSLError):
                return "TLS error"
            cause = cause.__cause__ or cause.__context__
        return "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return "protocol error"
    return "request failed"


def _send(
    client: httpx.Client,
    policy: DestinationPolicy,
    url: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
) -> _Outcome:
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        # Resolved and checked once; the request goes to that very address (no second lookup).
        pinned_url, host, extensions = pinned_request(policy.resolve(url))
    except DestinationRefused as refused:
        return _Outcome(None, refused.reason, elapsed())
    request = client.build_request(
        "POST", pinned_url, content=body, headers={**headers, **host}, timeout=timeout, extensions=extensions
    )
    try:
        # Streamed and closed unread: only the status code is kept, never the body or headers.
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            drained = 0  # a short answer is read off so the connection can be reused
            for chunk in response.iter_raw():
                drained += len(chunk)
                if drained > _DRAIN_BYTES:
                    break
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return _Outcome(None, _reason(exc), elapsed())
    if 200 <= response.status_code < 300:
        return _Outcome(response.status_code, None, elapsed())
    return _Outcome(response.status_code, f"HTTP {response.status_code}", elapsed())


def _due(
    session: Session, now: datetime, limit: int, tenant_id: str | None
) -> Sequence[tuple[WebhookDelivery, WebhookEndpoint, SystemEvent]]:
    statement = (
        select(WebhookDelivery, WebhookEndpoint, SystemEvent)
        .join(
            WebhookEndpoint,
            (WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            & (WebhookEndpoint.tenant_id == WebhookDelivery.tenant_id)
            & (WebhookEndpoint.environment_id == WebhookDelivery.environment_id),
        )
        .join(
            SystemEvent,
            (SystemEvent.id == WebhookDelivery.event_id)
            & (SystemEvent.tenant_id == WebhookDelivery.tenant_id)
            & (SystemEvent.environment_id == WebhookDelivery.environment_id),
        )
        .where(
            WebhookDelivery.delivery_status == "pending",
            WebhookDelivery.status != "deleted",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.endpoint_status == "enabled",
            WebhookEndpoint.status != "deleted",
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        # Two drainers on PostgreSQL split the work instead of sending twice (ignored on SQLite,
        # where the write transaction already serializes them).
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    )
    if tenant_id is not None:
        statement = statement.where(WebhookDelivery.tenant_id == tenant_id)
    return [tuple(row) for row in session.execute(statement).all()]  # type: ignore[misc]


def _record(
    session: Session, delivery: WebhookDelivery, outcome: _Outcome, now: datetime, summary: DeliverySummary
) -> None:
    attempt = delivery.attempts + 1
    retry_at = None if outcome.ok else next_attempt_at(delivery.id, attempt, now)
    delivery.attempts = attempt
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.next_attempt_at = retry_at
    if outcome.ok:
        delivery.delivery_status = "delivered"
        delivery.delivered_at = now
        summary.delivered += 1
    elif retry_at is None:
        delivery.delivery_status = "failed"
        summary.failed.append(
            FailedDelivery(
                delivery.id,
                delivery.tenant_id,
                delivery.endpoint_id,
                delivery.event_type,
                attempt,
                outcome.status_code,
                outcome.error,
            )
        )
    else:
        summary.retrying += 1
    session.add(
        WebhookDeliveryAttempt(
            id=deterministic_id("whatt", delivery.id, attempt),
            tenant_id=delivery.tenant_id,
            environment_id=delivery.environment_id,
            delivery_id=delivery.id,
            event_id=delivery.event_id,
            endpoint_id=delivery.endpoint_id,
            attempt=attempt,
            attempted_at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            next_attempt_at=retry_at,
            delivered_at=now if outcome.ok else None,
        )
    )


def tenants_with_due_deliveries(session: Session, now: datetime) -> list[str]:
    """Tenants with a pending delivery due at ``now`` to an enabled endpoint (what ``deliver_pending`` sends);
    the webhook schedule (``defs/integrations/webhooks.py``) launches one run for each."""
    statement = (
        select(WebhookDelivery.tenant_id)
        .join(
            WebhookEndpoint,
            (WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            & (WebhookEndpoint.tenant_id == WebhookDelivery.tenant_id)
            & (WebhookEndpoint.environment_id == WebhookDelivery.environment_id),
        )
        .where(
            WebhookDelivery.delivery_status == "pending",
            WebhookDelivery.status != "deleted",
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.endpoint_status == "enabled",
            WebhookEndpoint.status != "deleted",
        )
        .distinct()
        .order_by(WebhookDelivery.tenant_id)
    )
    return list(session.scalars(statement))


def delivery_client() -> httpx.Client:
    """The HTTP client deliveries go out on. Proxy settings in the environment are ignored: a proxy
    would connect wherever it resolves the name, undoing the check pinned to the address."""
    return httpx.Client(trust_env=False)


def deliver_pending(
    session: Session,
    http_client: httpx.Client,
    now: datetime,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = 8,
    batch_size: int = BATCH_SIZE,
    tenant_id: str | None = None,
    destinations: DestinationPolicy | None = None,
) -> DeliverySummary:
    """Send every delivery due at ``now`` (signed, ``webhook-timestamp`` = ``now``) and log each attempt.

    A 2xx marks the delivery delivered; any other status, a timeout or a connection error schedules
    the next attempt with exponential backoff (``backoff.next_attempt_at``) until ``MAX_ATTEMPTS``,
    then marks it failed. Requests go out ``concurrency`` at a time; the database is written from
    this thread only. ``tenant_id`` confines the run to one tenant (a pipeline partition); by default
    every tenant's due deliveries go out. Flushes per batch; the caller commits.

    Every send goes only to a public address (``destinations``; loopback only when it allows it):
    the URL is resolved and checked at each attempt and the request pinned to the checked address,
    redirects are not followed, and an attempt records the status code and a fixed reason
    (``HTTP 500``, ``timed out``, ``destination not public`` …), never what the endpoint answered.
    """
    policy = destinations or DestinationPolicy()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    summary = DeliverySummary()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        while True:
            batch = _due(session, now, batch_size, tenant_id)
            requests = []
            for delivery, endpoint, event in batch:
                body = message_body(event)
                headers = signature_headers(endpoint.secret, delivery.id, now, body)
                requests.append((endpoint.url, headers, body))
            outcomes = pool.map(lambda r: _send(http_client, policy, r[0], r[1], r[2], timeout), requests)
            for (delivery, _endpoint, _event), outcome in zip(batch, outcomes, strict=True):
                _record(session, delivery, outcome, now, summary)
            summary.attempted += len(batch)
            session.flush()
            if len(batch) < batch_size:
                return summary
