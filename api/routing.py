"""Request bodies parsed with JSON numbers as ``Decimal``, so money never passes through a float.

``{"amount": 0.1}`` arrives as ``Decimal("0.1")``, not ``0.1000000000000000055…``. ``NaN``,
``Infinity`` and undecodable bytes are malformed JSON (400), never a server error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute


def _no_constants(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def parse_json(body: bytes) -> Any:
    """Strict JSON with floats as ``Decimal``; every failure is a ``JSONDecodeError``."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_no_constants)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise json.JSONDecodeError(f"undecodable body: {type(exc).__name__}", "", 0) from exc


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class DecimalRoute(APIRoute):
    """An ``APIRoute`` whose handler sees ``DecimalJSONRequest``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(DecimalJSONRequest(request.scope, request.receive))

        return route


def domain_router(prefix: str, tag: str) -> APIRouter:
    """A router for one domain: Decimal-safe bodies, one OpenAPI tag."""
    return APIRouter(prefix=prefix, tags=[tag], route_class=DecimalRoute)
