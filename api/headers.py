"""Request headers that must be sent once: a second copy is refused with 400, never guessed.

Starlette answers the first of repeated headers, and a proxy in front may have looked at another:
two ``x-api-key`` headers could authenticate as one tenant upstream and as another here, two
``content-type`` headers could be validated as one type and parsed as another. So any request
repeating a header we read is refused, before routing, naming the header.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body

# Every request header the API reads (a Stripe webhook carries its own signature header).
SINGLE_VALUED = frozenset({b"x-api-key", b"content-type", b"content-length", b"stripe-signature"})


def repeated_header(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The first single-valued header that appears more than once, else None (ASGI names are lower-case)."""
    read = [name for name, _ in headers if name in SINGLE_VALUED]
    if len(read) == len(set(read)):  # the hot path: one pass, no per-header branching in Python
        return None
    seen: set[bytes] = set()
    for name in read:
        if name in seen:
            return name.decode()
        seen.add(name)
    return None


class SingleValuedHeaders:
    """ASGI middleware: 400 ``bad_request`` naming ``header.<name>`` for a repeated single-valued header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = repeated_header(scope["headers"]) if scope["type"] == "http" else None
        if name is None:
            await self.app(scope, receive, send)
            return
        message = f"the {name} header was sent more than once; send it once"
        response = JSONResponse(error_body(400, message, [(f"header.{name}", "must be sent once")]), 400)
        await response(scope, receive, send)
