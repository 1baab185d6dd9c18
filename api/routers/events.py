"""``POST /v1/events`` and ``POST /v1/events/bulk``: usage events onto the bus (docs/billing-semantics.md §1).

A thin layer over ``IngestService``. The body is read as raw bytes (refused past ``MAX_BODY_BYTES`` before
it is parsed) and checked by the events module in plain code, with JSON numbers kept exact; there is no
pydantic body model on this hot path, only a documented schema. 202 means the bus acknowledged every event
of the request; the tenant and environment always come from the API key, never from the body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.deps import NowDep, ScopeDep, SessionDep
from api.routing import DocumentedRoute
from api.schemas.events import (
    BULK_SCHEMA,
    EVENT_SCHEMA,
    BulkEventsAccepted,
    EventAccepted,
    request_body,
)
from flexprice_pipelines.catalog.models import TenantSettings
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.schema import (
    MAX_BODY_BYTES,
    EventValidationError,
    PayloadTooLarge,
    TenantScope,
    TimestampPolicy,
    parse_bulk_body,
    parse_single_body,
)

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=DocumentedRoute)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "description": "Malformed JSON or invalid events; `details` lists every `{index, field, message}`."
    },
    401: {"description": "Missing or unknown `x-api-key`."},
    413: {"description": f"Body larger than {MAX_BODY_BYTES} bytes."},
    415: {"description": "The body is declared as something other than JSON (`Content-Type`)."},
    503: {
        "description": "The event bus did not acknowledge the write; nothing was accepted. Retry.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}},
    },
}


def get_ingest_service(request: Request) -> IngestService:
    """The app's ingest service over the bus its settings name (built by the lifespan, ``api/clients.py``).

    Tests may install their own as ``app.state.ingest_service``.
    """
    service: IngestService = request.app.state.ingest_service
    return service


IngestDep = Annotated[IngestService, Depends(get_ingest_service)]


def get_policy(session: SessionDep, scope: ScopeDep) -> TimestampPolicy:
    """The tenant's timestamp policy (§1), read from its settings; the defaults if it has none."""
    row = session.execute(
        select(TenantSettings.event_max_past_days, TenantSettings.event_max_future_minutes).where(
            TenantSettings.tenant_id == scope.tenant_id,
            TenantSettings.environment_id == scope.environment_id,
        )
    ).first()
    session.rollback()  # release the read transaction: nothing else of the catalog is needed
    if row is None:
        return TimestampPolicy()
    return TimestampPolicy(max_past=timedelta(days=row[0]), max_future=timedelta(minutes=row[1]))


PolicyDep = Annotated[TimestampPolicy, Depends(get_policy)]


async def read_body(request: Request) -> bytes:
    """The raw body, refused with ``PayloadTooLarge`` as soon as it (or its declared length) passes the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large(int(declared))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large(size, at_least=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, *, at_least: bool = False) -> PayloadTooLarge:
    amount = f"more than {MAX_BODY_BYTES}" if at_least else str(size)
    message = f"body is {amount} bytes; the limit is {MAX_BODY_BYTES}"
    return PayloadTooLarge([{"index": None, "field": "body", "message": message}])


def _accept(
    service: IngestService,
    parse: Callable[[bytes], list[Any]],
    body: bytes,
    scope: TenantScope,
    now: datetime,
    policy: TimestampPolicy,
) -> list[str]:
    # Parsing, checking and the bus write in one worker thread: the event loop stays free while the
    # outbox fsyncs or Kafka acknowledges.
    return service.ingest(scope, parse(body), now, policy=policy)


def _json(document: dict[str, Any]) -> Response:
    return Response(
        orjson.dumps(document), status_code=status.HTTP_202_ACCEPTED, media_type="application/json"
    )


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventAccepted,
    responses=_ERRORS,
    openapi_extra=request_body(EVENT_SCHEMA),
)
async def ingest_event(
    request: Request, scope: ScopeDep, policy: PolicyDep, now: NowDep, service: IngestDep
) -> Response:
    """Ingest one event (Flexprice shape). 202 once the bus holds it durably; 503 if the bus is down."""
    body = await read_body(request)
    tenant = TenantScope(scope.tenant_id, scope.environment_id)
    try:
        [event_id] = await run_in_threadpool(_accept, service, parse_single_body, body, tenant, now, policy)
    except EventValidationError as exc:
        # One event: name its fields plainly (``timestamp``), not as ``events.0.timestamp``.
        raise type(exc)([{**error, "index": None} for error in exc.errors]) from None
    return _json({"event_id": event_id, "message": "Event accepted for processing"})


@router.post(
    "/bulk",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BulkEventsAccepted,
    responses=_ERRORS,
    openapi_extra=request_body(BULK_SCHEMA),
)
async def ingest_events_bulk(
    request: Request, scope: ScopeDep, policy: PolicyDep, now: NowDep, service: IngestDep
) -> Response:
    """Ingest 1–1000 events as one batch: all of them are accepted, or none (400 lists every bad index/field)."""
    body = await read_body(request)
    tenant = TenantScope(scope.tenant_id, scope.environment_id)
    await run_in_threadpool(_accept, service, parse_bulk_body, body, tenant, now, policy)
    return _json({"message": "Events accepted for processing"})
