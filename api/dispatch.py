"""``LeanDispatch``: the app's outermost layer, sending a ``POST`` to a ``LeanRoute``'s exact path (the
entitlement checks) straight to that route's handler; every other request goes through the app's full
stack unchanged.

Starlette answers a request through ``ServerErrorMiddleware`` → FastAPI's telemetry and body-limit layers
→ the app's middleware → ``ExceptionMiddleware`` → an exit stack → the router's scan → the route's
request/response wrapper: two ``Request`` objects and a dozen coroutine frames before the handler, a
measurable share of a check that otherwise takes ~0.15 ms of CPU. A dispatched check keeps what those
layers guarantee, from the same code:

- **the app's own middleware** (``app.user_middleware``: ``SingleValuedHeaders``, ``JSONBodiesOnly``, and
  any added later), instantiated a second time around the handler, in the app's order: a repeated
  ``x-api-key`` is a 400 and a non-JSON body a 415 exactly as on any route. (So a middleware added to
  the app must keep no per-instance state that has to be shared between requests.)
- **the app's exception handlers** (``api/errors.py``), looked up by the exception's class (and an
  ``HTTPException``'s status) as ``ExceptionMiddleware`` does: 401, 400/422, 404 … with the app's body.
- **unhandled exceptions**: Starlette's own ``ServerErrorMiddleware`` with the app's ``Exception``
  handler, as the full stack has it: the 500 body, the log line, and the exception re-raised to the server.

What is dispatched is decided once, when the stack is built: a ``LeanRoute`` (no path parameters: its path
is a literal) for ``POST`` whose path the router would match first anyway. A request falls through to the
full stack when the route would not see it as it is: another method (405 as before), a ``root_path`` (a
mounted app or a proxy prefix: the router strips it), or FastAPI's telemetry on (``fastapi.telemetry`` in
the scope: spans and route names are the full stack's). The OpenAPI document is the router's: the
routes stay mounted there, and the router answers them too when they are not dispatched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette._utils import is_async_callable
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.routing import Match
from starlette.types import ASGIApp, ExceptionHandler, Receive, Scope, Send

from api.routing import LeanRoute


def dispatched_routes(app: Starlette) -> dict[str, LeanRoute]:
    """The ``LeanRoute``s a ``POST`` to their exact path reaches, by path: those the router matches first."""
    found: dict[str, LeanRoute] = {}
    if getattr(app, "max_body_size", None) is not None:  # FastAPI's app-wide limit is a layer we skip
        return found
    for route in app.router.routes:
        if not isinstance(route, LeanRoute) or "POST" not in (route.methods or ()):
            continue
        probe = {"type": "http", "method": "POST", "path": route.path, "root_path": "", "headers": []}
        first = next((r for r in app.router.routes if r.matches(probe)[0] == Match.FULL), None)
        if first is route:
            found[route.path] = route
    return found


class _LeanEndpoint:
    """The innermost layer of a dispatched request: the route's handler, its errors answered by the app's
    handlers (``ExceptionMiddleware``'s lookup); a class without a handler goes on to the 500 layer."""

    def __init__(self, routes: Mapping[str, LeanRoute], handlers: Mapping[Any, ExceptionHandler]) -> None:
        self.routes = routes
        # Built by ExceptionMiddleware itself: the app's handlers plus Starlette's defaults, split as it does.
        lookup = ExceptionMiddleware(self, handlers=handlers)
        self.exception_handlers = lookup._exception_handlers
        self.status_handlers = lookup._status_handlers

    def handler_for(self, exc: Exception) -> ExceptionHandler | None:
        if isinstance(exc, HTTPException) and exc.status_code in self.status_handlers:
            return self.status_handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes[scope["path"]]
        scope["route"] = route  # what the router would have set
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        request = Request(scope, receive, send)
        try:
            response = await route.handler(request)
        except Exception as exc:
            handler = self.handler_for(exc)
            if handler is None:
                raise
            if is_async_callable(handler):
                response = await handler(request, exc)  # type: ignore[assignment, arg-type]
            else:
                response = await run_in_threadpool(handler, request, exc)  # type: ignore[arg-type]
            exc.__traceback__ = None  # as Starlette does: a reused exception must not accumulate frames
        await response(scope, receive, send)


class LeanDispatch:
    """ASGI: a ``POST`` to a dispatched ``LeanRoute`` path through the app's middleware straight to the
    route's handler; anything else to ``stack``, the app's full middleware stack (see the module docstring)."""

    def __init__(self, app: Starlette, stack: ASGIApp) -> None:
        self.stack = stack
        self.routes = dispatched_routes(app)
        error_handler: ExceptionHandler | None = None
        handlers: dict[Any, ExceptionHandler] = {}
        for key, value in app.exception_handlers.items():  # split as Starlette's build_middleware_stack does
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        lean: ASGIApp = _LeanEndpoint(self.routes, handlers)
        for middleware in reversed(app.user_middleware):
            lean = middleware.cls(lean, *middleware.args, **middleware.kwargs)
        self.lean = ServerErrorMiddleware(lean, handler=error_handler, debug=app.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] in self.routes
            and not scope.get("root_path")
            and "fastapi.telemetry" not in scope
        ):
            await self.lean(scope, receive, send)
        else:
            await self.stack(scope, receive, send)
