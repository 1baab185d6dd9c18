"""The one place that turns exceptions into JSON error responses.

Every error body has the same shape::

    {"error": {"code": "validation_error",
               "message": "2 invalid fields",
               "details": [{"field": "body.tiers.1.up_to", "message": "must not be negative"}]}}

``field`` is a dotted path: ``body.…`` for the JSON body, ``query.…``, ``path.…`` or ``header.…``
for parameters. Status codes: 400 malformed JSON or a refused value (``BadRequest``: a webhook URL
that is not a public destination), 401 missing or unknown API key, 404 unknown id
(also another tenant's — never revealed), 409 duplicate or state conflict, 422 invalid input,
500 only for bugs (logged with a traceback, never for bad input). Usage events (§1) answer 400 for
invalid events (details carry the batch ``index``), 413 for an oversize body and 503 when the event bus
did not acknowledge the write.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from flexprice_pipelines.billing.errors import BillingError
from flexprice_pipelines.billing.pricing import InvalidPriceDetails
from flexprice_pipelines.catalog.errors import (
    CatalogError,
    Conflict,
    InsufficientBalance,
    InvalidArgument,
    NotFound,
)
from flexprice_pipelines.events.bus import BusUnavailable
from flexprice_pipelines.events.schema import EventValidationError, PayloadTooLarge

log = logging.getLogger("api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "service_unavailable",
}


class Unauthorized(Exception):
    """No API key, or one that resolves to no tenant."""


class BadRequest(Exception):
    """A request refused for one field's value (400), e.g. a webhook URL that is not public."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ErrorDetail(BaseModel):
    """One offending input of an error response."""

    model_config = ConfigDict(extra="forbid")

    field: str | None = Field(description="Dotted path: `body.…`, `query.…`, `path.…`, `header.…`.")
    message: str
    index: int | None = Field(
        default=None, description="Usage events only: the event's position in the batch (null: the body)."
    )


@cache
def error_model(status: int) -> type[BaseModel]:
    """The documented body of an error response with ``status``: what ``error_body`` returns for it."""
    code = _HTTP_CODES[status]
    info = create_model(
        f"Error{status}Info",
        __config__=ConfigDict(extra="forbid"),
        code=(Literal[code], ...),  # type: ignore[arg-type]
        message=(str, ...),
        details=(list[ErrorDetail], ...),
    )
    return create_model(
        f"Error{status}",
        __config__=ConfigDict(extra="forbid", title=f"Error{status}"),
        __doc__=f"The error body of a {status} response (`code` is always `{code}`).",
        error=(info, ...),
    )


def error_body(status: int, message: str, details: Iterable[tuple[str | None, str]] = ()) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {
        "error": {
            "code": _HTTP_CODES.get(status, "internal_error" if status >= 500 else "error"),
            "message": message,
            "details": [{"field": field, "message": text} for field, text in details],
        }
    }


def _respond(status: int, message: str, details: Iterable[tuple[str | None, str]] = ()) -> JSONResponse:
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(error_body(status, message, details), status_code=status, headers=headers)


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return _respond(400, "request body is not valid JSON", [("body", "malformed JSON")])
    details = [(_dotted(err.get("loc", ())), str(err.get("msg", "invalid"))) for err in errors]
    noun = "field" if len(details) == 1 else "fields"
    return _respond(422, f"{len(details)} invalid {noun}", details)


async def _billing_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BillingError)
    if isinstance(exc, InvalidPriceDetails):
        return _respond(422, exc.message, exc.errors)
    return _respond(422, exc.message, [(exc.field, exc.message)])


async def _catalog_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CatalogError)
    if isinstance(exc, NotFound):
        return _respond(404, exc.message, [(exc.field, exc.message)] if exc.field else [])
    if isinstance(exc, Conflict):
        return _respond(409, exc.message, [(exc.field, exc.message)])
    if isinstance(exc, InvalidArgument | InsufficientBalance):
        return _respond(422, exc.message, [(exc.field, exc.message)])
    return _respond(422, exc.message, [(exc.field, exc.message)] if exc.field else [])


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value (a NUL byte, an out-of-range number): bad input, not a bug.
    log.info("database refused a value: %s", exc)
    return _respond(422, "a value cannot be stored (out of range or contains a NUL byte)")


async def _event_validation_error(_: Request, exc: Exception) -> JSONResponse:
    # Events answer 400 (docs/billing-semantics.md §1); each detail keeps its batch index, and its field names
    # the event as a body path (``events.3.timestamp``).
    assert isinstance(exc, EventValidationError)
    status = 413 if isinstance(exc, PayloadTooLarge) else 400
    fields = [e["field"] if e["index"] is None else f"events.{e['index']}.{e['field']}" for e in exc.errors]
    messages = [e["message"] for e in exc.errors]
    summary = (
        f"{fields[0]}: {messages[0]}"
        if len(fields) == 1
        else f"{len(fields)} errors in the request; nothing was accepted"
    )
    body = error_body(status, summary, zip(fields, messages, strict=True))
    for detail, error in zip(body["error"]["details"], exc.errors, strict=True):
        detail["index"] = error["index"]
    return JSONResponse(body, status_code=status)


async def _bus_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.warning("event bus unavailable: %s", exc)
    response = _respond(503, "the event bus is unavailable; nothing was accepted, retry the request")
    response.headers["Retry-After"] = "1"
    return response


async def _bad_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadRequest)
    return _respond(400, f"{exc.field}: {exc.message}", [(exc.field, exc.message)])


async def _unauthorized(_: Request, exc: Exception) -> JSONResponse:
    return _respond(401, str(exc) or "missing or invalid x-api-key header")


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = _respond(exc.status_code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(500, "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(BillingError, _billing_error)
    app.add_exception_handler(CatalogError, _catalog_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(EventValidationError, _event_validation_error)
    app.add_exception_handler(BusUnavailable, _bus_unavailable)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(BadRequest, _bad_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
