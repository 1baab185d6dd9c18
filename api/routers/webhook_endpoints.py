"""``/v1/webhooks/endpoints``: where a tenant wants its system events, and what was sent there.

The signing secret (``whsec_…``) is shown once, in the create response; receivers verify
deliveries with it (Standard Webhooks / svix-compatible headers). It is stored encrypted and no
other route returns it.

A URL must name a public destination: create and update answer 400 naming ``url`` for loopback,
private, link-local and other non-public addresses in any spelling, special-use or single-label
names, trailing-dot names and credentials in the URL (``integrations/destinations.py``); the
drainer checks again after resolving the name at each send. Attempts show the status code and a
fixed reason, never the endpoint's answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, status
from pydantic import AfterValidator, AnyHttpUrl, ConfigDict, Field, UrlConstraints
from sqlalchemy import func, select

from api.crud import PageDep, filters, page_of
from api.deps import CatalogDep, WriteCatalogDep
from api.errors import BadRequest
from api.routing import domain_router
from api.schemas.common import (
    AuditPublic,
    Id,
    InputModel,
    ListResponse,
    LongText,
    Metadata,
    MetadataOut,
    PublicModel,
    metadata_out,
)
from flexprice_pipelines.catalog import Page
from flexprice_pipelines.integrations.destinations import DestinationPolicy, DestinationRefused
from flexprice_pipelines.integrations.webhooks import (
    EVENT_TYPES,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    generate_secret,
)

router = domain_router("/v1/webhooks/endpoints", "webhooks")
EndpointId = Annotated[Id, Path(description="Webhook endpoint id (whep_…).")]
# Flexprice's names for the events we emit; its other event names are refused (422 naming
# ``enabled_events``) until we emit them, rather than accepted and never sent.
EventType = Literal[
    "invoice.update.finalized", "invoice.update.voided", "invoice.update.payment", "subscription.cancelled"
]
EndpointStatus = Literal["enabled", "disabled"]


def _no_nul(url: AnyHttpUrl) -> AnyHttpUrl:
    if "\x00" in str(url):
        raise ValueError("must not contain NUL characters")
    return url


Url = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000), AfterValidator(_no_nul)]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]


class WebhookEndpointCreate(InputModel):
    url: Url
    enabled_events: Events = Field(description=f"Any of {', '.join(EVENT_TYPES)}.")
    description: LongText | None = None
    metadata: Metadata = Field(default_factory=dict)

    # Our own route (Flexprice has no endpoints API), so its unknown fields are refused, not ignored: a
    # client sending ``secret`` must not believe it chose one.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://billing.example.com/hooks", "enabled_events": ["invoice.update.finalized"]}
            ]
        },
    )


class WebhookEndpointUpdate(InputModel):
    model_config = ConfigDict(extra="forbid")  # our own route, as the create

    url: Url | None = None
    enabled_events: Events | None = None
    endpoint_status: EndpointStatus | None = None
    description: LongText | None = None
    metadata: Metadata | None = None


class WebhookEndpointPublic(AuditPublic):
    url: str
    enabled_events: list[str]
    endpoint_status: str
    description: str | None
    metadata: MetadataOut = metadata_out()


class WebhookEndpointCreated(WebhookEndpointPublic):
    secret: str = Field(description="whsec_… — shown only here; verify webhook-signature with it.")


class DeliveryAttemptPublic(PublicModel):
    id: str
    delivery_id: str = Field(description="Also the webhook-id header the receiver saw.")
    event_id: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None = Field(
        description="Why the attempt failed, a fixed phrase: `HTTP <status>`, `timed out`, "
        "`connection refused`, `destination not public` … (never the endpoint's answer)."
    )
    duration_ms: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None


def _unique(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


def destination_policy(request: Request) -> DestinationPolicy:
    """Where endpoints may point: public addresses (loopback too under ``webhooks_allow_loopback``)."""
    return DestinationPolicy(allow_loopback=request.app.state.settings.webhooks_allow_loopback)


PolicyDep = Annotated[DestinationPolicy, Depends(destination_policy)]
_URL_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"description": "`url` is not a public http(s) destination; `details` names `body.url`."}
}


def _public_url(url: object, policy: DestinationPolicy) -> str:
    text = str(url)
    try:
        policy.check_url(text)
    except DestinationRefused as refused:
        raise BadRequest("body.url", refused.reason) from None
    return text


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=WebhookEndpointCreated, responses=_URL_REFUSED
)
def create_webhook_endpoint(
    body: WebhookEndpointCreate, catalog: WriteCatalogDep, policy: PolicyDep
) -> WebhookEndpointCreated:
    """Register a public URL for the chosen system events; the response carries the signing secret."""
    endpoint = catalog.repo(WebhookEndpoint).create(
        url=_public_url(body.url, policy),
        enabled_events=_unique(list(body.enabled_events)),
        description=body.description,
        metadata=body.metadata,
        secret=generate_secret(),
    )
    catalog.commit()
    return WebhookEndpointCreated.model_validate(endpoint)


@router.get("", response_model=ListResponse[WebhookEndpointPublic])
def list_webhook_endpoints(
    catalog: CatalogDep,
    page: PageDep,
    endpoint_status: Annotated[EndpointStatus | None, Query()] = None,
) -> ListResponse[WebhookEndpointPublic]:
    """Webhook endpoints, oldest first."""
    chosen = filters(endpoint_status=endpoint_status)
    return page_of(
        WebhookEndpointPublic,
        catalog.repo(WebhookEndpoint).list(limit=page.limit, offset=page.offset, **chosen),
    )


@router.get("/{id}", response_model=WebhookEndpointPublic)
def get_webhook_endpoint(id: EndpointId, catalog: CatalogDep) -> WebhookEndpoint:
    """One webhook endpoint (without its secret)."""
    return catalog.repo(WebhookEndpoint).get(id)


@router.put("/{id}", response_model=WebhookEndpointPublic, responses=_URL_REFUSED)
def update_webhook_endpoint(
    id: EndpointId, body: WebhookEndpointUpdate, catalog: WriteCatalogDep, policy: PolicyDep
) -> WebhookEndpoint:
    """Change the URL (public only), the events, or disable it (a disabled endpoint keeps its deliveries pending)."""
    changes = body.set_fields()
    if "url" in changes:
        changes["url"] = _public_url(changes["url"], policy)
    if "enabled_events" in changes:
        changes["enabled_events"] = _unique(list(changes["enabled_events"]))
    endpoint = catalog.repo(WebhookEndpoint).update(id, **changes)
    catalog.commit()
    return endpoint


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook_endpoint(id: EndpointId, catalog: WriteCatalogDep) -> None:
    """Soft-delete an endpoint; nothing more is sent to it."""
    catalog.repo(WebhookEndpoint).delete(id)
    catalog.commit()


@router.get("/{id}/attempts", response_model=ListResponse[DeliveryAttemptPublic])
def list_delivery_attempts(
    id: EndpointId,
    catalog: CatalogDep,
    page: PageDep,
    delivery_id: Annotated[Id | None, Query(description="Only this delivery (webhook-id).")] = None,
) -> ListResponse[DeliveryAttemptPublic]:
    """Every attempt made to deliver to this endpoint, oldest first: status code, reason, next retry."""
    endpoint = catalog.repo(WebhookEndpoint).get(id)
    attempts = catalog.repo(WebhookDeliveryAttempt)
    statement = attempts.select().where(WebhookDeliveryAttempt.endpoint_id == endpoint.id)
    if delivery_id is not None:
        statement = statement.where(WebhookDeliveryAttempt.delivery_id == delivery_id)
    total = catalog.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    # Attempt ids are hashes, not time-sortable: order by when they happened.
    ordered = statement.order_by(
        WebhookDeliveryAttempt.attempted_at,
        WebhookDeliveryAttempt.delivery_id,
        WebhookDeliveryAttempt.attempt,
    )
    rows = catalog.session.scalars(ordered.limit(page.limit).offset(page.offset)).all()
    return page_of(DeliveryAttemptPublic, Page(list(rows), total, page.limit, page.offset))
