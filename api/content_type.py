"""Every request body is JSON: a body sent as another media type is refused with 415, on every route.

Without this, routes disagreed: ``POST /v1/events`` read a ``text/plain`` (or undeclared) body as JSON and
accepted it, the pydantic-bodied routes answered 422 ("Input should be a valid dictionary"), as FastAPI
does not read an undeclared body as JSON either. Now a body must be declared ``application/json`` or
``application/<x>+json`` (parameters such as ``; charset=utf-8`` are fine); requests without a body pass.
Stripe's webhook is exempt: Stripe, not our client, picks its headers, and the route authenticates the raw
bytes by their signature (400 when it does not verify), whatever they are declared as.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_EXEMPT_PREFIXES = ("/v1/webhooks/stripe/",)


def is_json_media_type(content_type: str) -> bool:
    """Whether a ``Content-Type`` value names JSON (``application/json`` or ``application/<x>+json``)."""
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _has_body(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length")
    if length is not None:
        return length.strip() not in (b"", b"0")
    return b"transfer-encoding" in headers


class JSONBodiesOnly:
    """ASGI middleware: 415 for a request whose body is declared as anything but JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _WITH_BODY
            and not scope["path"].startswith(_EXEMPT_PREFIXES)
        ):
            headers = dict(scope["headers"])
            declared = headers.get(b"content-type", b"").decode("latin-1")
            if _has_body(headers) and not is_json_media_type(declared):
                problem = (
                    f"{declared!r} is not JSON" if declared else "missing; the body must be declared JSON"
                )
                body = error_body(
                    415,
                    "request bodies must be JSON (Content-Type: application/json)",
                    [("header.content-type", problem)],
                )
                await JSONResponse(body, status_code=415)(scope, receive, send)
                return
        await self.app(scope, receive, send)
