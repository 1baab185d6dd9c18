"""The documented shapes of ``POST /v1/events`` and ``POST /v1/events/bulk`` (Flexprice's event request).

The routes read and check the body themselves (``flexprice_pipelines.events.schema``), so these schemas
only document it: the JSON Schema goes into the OpenAPI document through ``openapi_extra`` (so /docs shows
an example and schemathesis generates bodies), and the response models describe the 202 answers.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flexprice_pipelines.events.schema import MAX_BATCH

EXAMPLE_EVENT: dict[str, Any] = {
    "event_id": "evt_2024_03_20_0001",
    "event_name": "api_call",
    "external_customer_id": "customer-42",
    "timestamp": "2024-03-20T15:04:05Z",
    "source": "gateway",
    "properties": {"tokens": 1250, "model": "gpt-4o", "region": "eu"},
}

# The optional fields take null as "absent", as the events module reads them (and Flexprice does).
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "IngestEventRequest",
    "required": ["event_name", "external_customer_id"],
    "properties": {
        "event_id": {
            "type": ["string", "null"],
            "description": "Idempotency key: re-sending an id replaces the earlier version. Assigned if absent.",
        },
        "event_name": {
            "type": "string",
            "pattern": r"\S",
            "description": "Trimmed (not blank); matched against meters.",
        },
        "external_customer_id": {"type": "string", "pattern": r"\S", "description": "Not blank."},
        "customer_id": {"type": ["string", "null"]},
        "timestamp": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "RFC 3339 with an offset; defaults to receipt time. The tenant's policy bounds it "
            "(default 35 days back, 5 minutes ahead).",
        },
        "source": {"type": ["string", "null"]},
        "properties": {
            "type": ["object", "null"],
            "additionalProperties": True,
            "description": "Free-form; numbers are kept exactly (never floats).",
        },
    },
    "example": EXAMPLE_EVENT,
}

BULK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "BulkIngestEventRequest",
    "required": ["events"],
    "properties": {
        "events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": EVENT_SCHEMA},
    },
    "example": {"events": [EXAMPLE_EVENT, {**EXAMPLE_EVENT, "event_id": "evt_2024_03_20_0002"}]},
}


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": schema["example"]}},
        }
    }


class EventAccepted(BaseModel):
    """202 of ``POST /v1/events``: the event is durable on the bus."""

    event_id: str = Field(description="The client's id, or the one the server assigned.")
    message: str = "Event accepted for processing"


class BulkEventsAccepted(BaseModel):
    """202 of ``POST /v1/events/bulk``: every event is durable on the bus.

    Flexprice's shape, a string map with only ``message`` (its SDK reads the body as ``Dict[str, str]``):
    no ids are returned, so a client that needs them sends its own ``event_id`` on each event."""

    message: str = "Events accepted for processing"
