"""``create_app(settings)``: the FastAPI application (served by ``flexprice api``).

No module-level engine or client: the lifespan opens the catalog database named by the settings and
builds the shared clients (``api/clients.py``), so tests and processes build as many independent apps
as they like.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from api.clients import close_clients, open_clients
from api.content_type import JSONBodiesOnly
from api.dispatch import LeanDispatch
from api.errors import install_error_handlers
from api.headers import SingleValuedHeaders
from api.routers import CHECK_ROUTES, ROUTERS
from api.routing import without_fastapi_422
from flexprice_pipelines import __version__
from flexprice_pipelines.catalog import db, secrets
from flexprice_pipelines.settings import Settings

DESCRIPTION = """\
Flexprice-compatible catalog API: meters, features, plans and prices, customers, subscriptions,
coupons, taxes, wallets, credit grants and invoices.

* Authenticate with the `x-api-key` header (`flexprice tenants create` prints a key).
* Money is sent as decimal strings (`"12.50"`) or JSON numbers and always returned as strings.
* Lists take `limit` / `offset` and answer `{"items": [...], "pagination": {"total", "limit", "offset"}}`.
* Errors answer Flexprice's flat `{"code", "http_status_code", "message"}` plus
  `"details": [{"field", "message"}]` naming each offending input; invalid input is a 400
  (`validation_error`). Unknown request fields are ignored, as Flexprice does.
"""


class Database:
    """The catalog engine and session factory of one app, opened by the lifespan."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    def open(self) -> None:
        if self._engine is None:
            self._engine = db.make_engine(self.url)
            self._factory = db.session_factory(self._engine)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = self._factory = None

    def session(self) -> Session:
        self.open()
        assert self._factory is not None
        return self._factory()

    def ping(self) -> bool:
        with self.session() as session:
            return session.execute(text("select 1")).scalar() == 1


_FROZEN = False


def _freeze_startup_objects() -> None:
    """Move what exists once the first app has started (modules, routes, schemas: ~165,000 objects that
    live as long as the process) out of the collector's view, once per process. Otherwise every full
    collection walks them all: ~115 ms on a 2-core machine, paid by whichever request triggers it."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()


class API(FastAPI):
    """The FastAPI app fronted by ``LeanDispatch`` (``api/dispatch.py``): a ``POST`` to an entitlement
    check's exact path goes through the app's middleware straight to its ``LeanRoute`` handler, without
    Starlette's exception layer, router scan and request wrapper; everything else takes the full stack."""

    def build_middleware_stack(self) -> ASGIApp:
        return LeanDispatch(self, super().build_middleware_stack())


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for the catalog named by ``settings`` (default: read from ``FLEXPRICE_*``)."""
    settings = settings or Settings()
    secrets.configure(settings)  # stored secrets are encrypted with this app's keys
    database = Database(settings.resolved_database_url)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        database.open()
        clients = open_clients(application.state)
        _freeze_startup_objects()
        try:
            yield
        finally:
            close_clients(application.state, clients)
            database.close()

    app = API(
        title="Flexprice Pipelines API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.database = database
    app.state.settings = settings  # the lifespan builds the shared clients from it
    install_error_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_fastapi_422(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    # The entitlement checks, the latency-critical routes, are the app's own: matched first (before the
    # /docs routes too), without the dispatch layer an included router adds to every request (``LeanRoute``);
    # ``API`` sends a POST to their exact paths to them ahead of the rest of the stack (``api/dispatch.py``).
    app.router.routes[:0] = CHECK_ROUTES
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(JSONBodiesOnly)  # before any route: a non-JSON body is 415
    app.add_middleware(SingleValuedHeaders)  # outermost: a repeated x-api-key never reaches a route
    return app


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document, without opening a database."""
    return create_app(Settings(database_url="sqlite://")).openapi()
