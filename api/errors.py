"""The one place that turns exceptions into JSON error responses.

Every error body is Flexprice's flat ``errors.ErrorResponse``, plus the offending fields::

    {"code": "validation_error",
     "http_status_code": 400,
     "message": "2 invalid fields",
     "details": [{"field": "body.tiers.1.up_to", "message": "must not be negative"}]}

``code`` is one of Flexprice's ``errors.ErrorCode`` values and ``http_status_code`` repeats the
response status, so Flexprice's SDKs read ``message``, ``code`` and the status as they do from
Flexprice. ``details`` (ours; Flexprice's SDKs ignore it) names each offending input: ``field`` is a
dotted path, ``body.…`` for the JSON body, ``query.…``, ``path.…`` or ``header.…`` for parameters,
and for usage events ``index`` is the event's position in the batch.

Statuses and codes (``STATUS_CODES``), as Flexprice maps its errors:

- 400 ``validation_error``: invalid input of any kind (malformed JSON, a missing or invalid field, a
  refused value, a value the database cannot store, an invalid usage event, a wallet debit above the
  balance);
- 401 ``permission_denied``: missing, unknown or revoked API key; the body also carries
  ``"error": "<message>"``, the one field Flexprice's authentication answers with;
- 404 ``not_found``: unknown id (also another tenant's — never revealed), unknown route;
- 405 ``invalid_operation``: a method the route does not have;
- 409 ``already_exists``: a duplicate key; ``version_conflict``: a state that forbids the change
  (an already cancelled subscription, a paid invoice voided);
- 413 ``validation_error``: an oversize usage-event body; 415 ``validation_error``: a body not
  declared JSON;
- 500 ``internal_error``: only bugs (logged with a traceback, never for bad input);
- 503 ``service_unavailable``: the event bus did not acknowledge a write (``Retry-After: 1``).
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

STATUS_CODES: dict[int, tuple[str, ...]] = {
    400: ("validation_error",),
    401: ("permission_denied",),
    404: ("not_found",),
    405: ("invalid_operation",),
    409: ("already_exists", "version_conflict"),
    413: ("validation_error",),
    415: ("validation_error",),
    500: ("internal_error",),
    503: ("service_unavailable",),
}
"""Each status ``api/errors.py`` answers, with the Flexprice ``errors.ErrorCode`` values it carries."""


def error_code(status: int) -> str:
    """The default code of ``status`` (a status not in ``STATUS_CODES``: by its class)."""
    if status in STATUS_CODES:
        return STATUS_CODES[status][0]
    return "internal_error" if status >= 500 else "validation_error"


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
    codes = STATUS_CODES[status]
    fields: dict[str, Any] = {
        "code": (Literal[codes], Field(description="Flexprice's `errors.ErrorCode`.")),
        "http_status_code": (Literal[status], Field(description="The response's HTTP status.")),
        "message": (str, ...),
        "details": (list[ErrorDetail], Field(description="Every offending input (empty when none).")),
    }
    if status == 401:
        fields["error"] = (
            str,
            Field(description="The message again, as Flexprice's authentication sends it."),
        )
    shown = " or ".join(f"`{code}`" for code in codes)
    return create_model(
        f"Error{status}",
        __config__=ConfigDict(extra="forbid", title=f"Error{status}"),
        __doc__=f"The error body of a {status} response (Flexprice's `errors.ErrorResponse`; `code` {shown}).",
        **fields,
    )


def error_body(
    status: int,
    message: str,
    details: Iterable[tuple[str | None, str]] = (),
    *,
    code: str | None = None,
) -> dict[str, Any]:
    """The JSON body of every error response (Flexprice's flat ``errors.ErrorResponse`` plus ``details``)."""
    body: dict[str, Any] = {
        "code": code or error_code(status),
        "http_status_code": status,
        "message": message,
        "details": [{"field": field, "message": text} for field, text in details],
    }
    if status == 401:
        body["error"] = message
    return body


def _respond(
    status: int, message: str, details: Iterable[tuple[str | None, str]] = (), *, code: str | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(error_body(status, message, details, code=code), status_code=status, headers=headers)


def _summary(details: list[tuple[str | None, str]]) -> str:
    """The message of a validation error: its first field (an SDK shows only ``message``)."""
    field, text = details[0]
    first = f"{field}: {text}" if field else text
    if len(details) == 1:
        return first
    more = len(details) - 1
    return f"{first} (and {more} more invalid field{'s' if more > 1 else ''})"


def _conflict_code(exc: Conflict) -> str:
    # A state that forbids the change (``…_status``, a row still referenced) versus a duplicate key.
    state = (exc.field or "").endswith("_status") or "still referenced" in exc.message
    return "version_conflict" if state else "already_exists"


def _dotted(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return _respond(400, "request body is not valid JSON", [("body", "malformed JSON")])
    details: list[tuple[str | None, str]] = [
        (_dotted(err.get("loc", ())), str(err.get("msg", "invalid"))) for err in errors
    ]
    return _respond(400, _summary(details) if details else "invalid request", details)


async def _billing_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BillingError)
    if isinstance(exc, InvalidPriceDetails):
        return _respond(400, exc.message, exc.errors)
    return _respond(400, exc.message, [(exc.field, exc.message)])


async def _catalog_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CatalogError)
    if isinstance(exc, NotFound):
        return _respond(404, exc.message, [(exc.field, exc.message)] if exc.field else [])
    if isinstance(exc, Conflict):
        return _respond(409, exc.message, [(exc.field, exc.message)], code=_conflict_code(exc))
    if isinstance(exc, InvalidArgument | InsufficientBalance):
        return _respond(400, exc.message, [(exc.field, exc.message)])
    return _respond(400, exc.message, [(exc.field, exc.message)] if exc.field else [])


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value (a NUL byte, an out-of-range number): bad input, not a bug.
    log.info("database refused a value: %s", exc)
    return _respond(400, "a value cannot be stored (out of range or contains a NUL byte)")


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
    for detail, error in zip(body["details"], exc.errors, strict=True):
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
