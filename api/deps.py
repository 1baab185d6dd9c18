"""Typed dependencies: ``SessionDep`` (one catalog session per request), ``ScopeDep`` (x-api-key →
tenant + environment), ``NowDep`` (the request's clock; tests override ``now``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from api.errors import Unauthorized
from flexprice_pipelines.catalog import CatalogSession, Scope
from flexprice_pipelines.catalog.db import SQLITE_IMMEDIATE
from flexprice_pipelines.catalog.tenancy import resolve_api_key

api_key_header = APIKeyHeader(
    name="x-api-key", auto_error=False, description="A tenant API key (`flexprice tenants create`)."
)


def get_session(request: Request) -> Iterator[Session]:
    """A session from the app's factory; routes commit, anything uncommitted is rolled back."""
    with request.app.state.database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_scope(session: SessionDep, api_key: Annotated[str | None, Security(api_key_header)]) -> Scope:
    """The tenant + environment of the API key; a missing, unknown or revoked key is a 401."""
    if not api_key:
        raise Unauthorized("missing x-api-key header")
    # A NUL byte cannot be in a key we issued, and PostgreSQL refuses it in a query parameter.
    scope = None if "\x00" in api_key else resolve_api_key(session, api_key)
    if scope is None:
        raise Unauthorized("invalid or revoked API key")
    return scope


ScopeDep = Annotated[Scope, Depends(get_scope)]


def get_catalog(session: SessionDep, scope: ScopeDep) -> CatalogSession:
    """The request's session bound to its scope: ``catalog.repo(Customer)``."""
    return CatalogSession(session, scope)


CatalogDep = Annotated[CatalogSession, Depends(get_catalog)]


def now() -> datetime:
    """The current time, aware UTC (the API's one read of the wall clock)."""
    return datetime.now(UTC)


NowDep = Annotated[datetime, Depends(now)]


def get_write_catalog(session: SessionDep, scope: ScopeDep) -> CatalogSession:
    """Like ``CatalogDep``, for routes that write: the transaction takes the write lock up front.

    On SQLite a transaction that reads and then writes can fail with ``SQLITE_BUSY`` under
    concurrency; starting it with ``BEGIN IMMEDIATE`` makes writers queue instead.
    """
    session.rollback()  # end the read transaction of the API-key lookup
    session.connection(execution_options={SQLITE_IMMEDIATE: True})  # type: ignore[misc]
    return CatalogSession(session, scope)


WriteCatalogDep = Annotated[CatalogSession, Depends(get_write_catalog)]
