"""``POST /v1/webhooks/stripe/{tenant_id}/{environment_id}``: Stripe payment events for one scope.

No API key: Stripe cannot send one. The ``Stripe-Signature`` HMAC with the scope's webhook secret
is the authentication; unsigned, wrongly signed or stale requests are a 400, a scope without a
Stripe webhook secret a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request
from pydantic import BaseModel

from api.deps import NowDep, SessionDep
from api.routing import DocumentedRoute
from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.catalog.db import SQLITE_IMMEDIATE
from flexprice_pipelines.integrations.stripe.connections import get_connection
from flexprice_pipelines.integrations.stripe.webhooks import WebhookRejected, apply_event, verify_event

router = APIRouter(prefix="/v1/webhooks/stripe", tags=["webhooks"], route_class=DocumentedRoute)

ScopeId = Annotated[str, Path(min_length=1, max_length=64)]


class StripeWebhookAck(BaseModel):
    event_id: str
    outcome: str  # applied | duplicate | ignored
    invoice_id: str | None = None


async def raw_body(request: Request) -> bytes:
    """The request body exactly as sent: the signature covers these bytes."""
    return await request.body()


@router.post(
    "/{tenant_id}/{environment_id}",
    response_model=StripeWebhookAck,
    responses={
        400: {"description": "Unsigned, wrongly signed or stale event."},
        404: {"description": "No Stripe webhook secret is configured for this tenant and environment."},
    },
)
def receive_stripe_event(
    tenant_id: ScopeId,
    environment_id: ScopeId,
    payload: Annotated[bytes, Depends(raw_body)],
    session: SessionDep,
    now: NowDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> StripeWebhookAck:
    """Verify a Stripe event and update the invoice's payment status (once per event id)."""
    scope = Scope(tenant_id, environment_id)
    connection = get_connection(session, scope)
    if connection is None or not connection.webhook_secret:
        raise HTTPException(404, "no Stripe webhook is configured for this tenant and environment")
    try:
        event = verify_event(payload, stripe_signature, connection.webhook_secret, now)
        session.rollback()  # end the read; the write transaction takes the lock up front on SQLite
        session.connection(execution_options={SQLITE_IMMEDIATE: True})  # type: ignore[misc]
        result = apply_event(session, scope, event, now)
    except WebhookRejected as exc:
        raise HTTPException(400, str(exc)) from exc
    session.commit()
    return StripeWebhookAck(
        event_id=result.event_id, outcome=result.outcome.value, invoice_id=result.invoice_id
    )
