"""Typed dependencies: ``SessionDep`` (one catalog session per request), ``ScopeDep`` (x-api-key →
tenant + environment), ``NowDep`` (the request's clock; tests override ``now``).

Sessions are admitted by ``api/admission.py`` before any worker thread is involved. The API key is
resolved from the app's ``ApiKeyCache`` (built by the lifespan, ``api/app.py``); on a miss, in a session
of its own, closed at once (the admission reserve), so key lookups never hold a connection across
threads. A revocation empties the cache of every API process before their next request
(``catalog/key_revocations.py``: a mapped generation file on SQLite, LISTEN/NOTIFY on PostgreSQL); no
catalog query per request for that. Sessions connect lazily, on their first statement in the route's
thread.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.admission import admitted
from api.errors import Unauthorized
from flexprice_pipelines.catalog import CatalogSession, Scope
from flexprice_pipelines.catalog.db import SQLITE_IMMEDIATE
from flexprice_pipelines.catalog.key_revocations import CACHE_TTL_SECONDS, KeyWatch, watch_key_changes
from flexprice_pipelines.catalog.tenancy import hash_api_key, resolve_api_key

# Revocations reach the cache at once (``KeyWatch``); this bounds only changes made around
# ``revoke_api_key``, such as a tenant archived by hand in SQL: a cached scope is re-read this often.
API_KEY_TTL_SECONDS = CACHE_TTL_SECONDS

api_key_header = APIKeyHeader(
    name="x-api-key", auto_error=False, description="A tenant API key (`flexprice tenants create`)."
)


class ApiKeyCache:
    """Scopes of recently seen API keys (by hash), each kept ``ttl`` seconds; unknown keys are not cached.

    Entries belong to one revocation generation of ``watch``: when it moves, they are all dropped, and
    a scope read under an older generation is not stored (it may predate the revocation).
    """

    def __init__(
        self, watch: KeyWatch | None = None, ttl: float = API_KEY_TTL_SECONDS, max_entries: int = 10_000
    ) -> None:
        self.watch = watch or watch_key_changes("sqlite://")
        self.ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, Scope]] = {}
        self._generation: object = None

    def generation(self) -> object:
        """The current revocation generation; entries of an older one are dropped."""
        generation = self.watch.generation()
        if generation != self._generation:
            self._entries.clear()
            self._generation = generation
        return generation

    def get(self, digest: str) -> Scope | None:
        """The cached scope of a key hash, or None when absent or expired."""
        hit = self._entries.get(digest)
        if hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1]

    def put(self, digest: str, scope: Scope, generation: object) -> None:
        """Remember ``scope``, read under ``generation``, for ``ttl`` seconds (unless a revocation came since)."""
        if generation != self.generation():
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[digest] = (time.monotonic() + self.ttl, scope)

    def close(self) -> None:
        self.watch.close()


def api_key_cache(request: Request) -> ApiKeyCache:
    """The app's cache (built by its lifespan; tests may install their own on ``app.state``)."""
    cache: ApiKeyCache = request.app.state.api_key_cache
    return cache


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session from the app's factory; routes commit, anything uncommitted is rolled back.

    Admission waits on the event loop (``api/admission.py``). Creating a session does no I/O, so
    it happens here; closing one that still holds a connection rolls back, in a thread under a
    limiter of its own so that it never queues behind a busy threadpool.
    """
    session: Session = request.app.state.database.session()
    async with admitted(request, lambda: session.get_bind().pool):  # type: ignore[union-attr]
        try:
            yield session
        finally:
            if session.in_transaction():
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))
            else:
                session.close()


SessionDep = Annotated[Session, Depends(get_session)]


T = TypeVar("T")


def _in_session(database: Any, work: Callable[..., T], args: tuple[Any, ...]) -> T:
    with database.session() as session:
        return work(session, *args)


def _pool(database: Any) -> Any:
    with database.session() as probe:  # no I/O: a session only names its engine
        return probe.get_bind().pool


class SessionRunner:
    """Runs ``work(session, *args)`` in one worker-thread call with a session opened and closed there
    (admitted like ``SessionDep``): the hot read routes hold a connection only while they read. With
    ``api_inline_checks`` (the SQLite default) it runs on the event loop instead."""

    def __init__(self, request: Request) -> None:
        self._request = request

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work``'s result; its exceptions propagate (and map to error responses as usual)."""
        database = self._request.app.state.database
        if self._request.app.state.settings.resolved_api_inline_checks:
            # on the event loop: a SQLite read is ~70 µs, less than the thread hop it would replace
            return _in_session(database, work, args)
        async with admitted(self._request, lambda: _pool(database)):
            return await run_in_threadpool(_in_session, database, work, args)


def _resolve(database: Any, api_key: str) -> Scope | None:
    with database.session() as session:
        return resolve_api_key(session, api_key)


async def resolve_scope(request: Request, api_key: str | None) -> Scope:
    """The tenant + environment of ``api_key`` (cached until revoked), else ``Unauthorized``."""
    if not api_key:
        raise Unauthorized("missing x-api-key header")
    # A NUL byte cannot be in a key we issued, and PostgreSQL refuses it in a query parameter.
    if "\x00" in api_key:
        raise Unauthorized("invalid or revoked API key")
    cache = api_key_cache(request)
    digest = hash_api_key(api_key)
    generation = cache.generation()  # before the lookup: a revocation during it must win
    scope = cache.get(digest)
    if scope is None:
        scope = await run_in_threadpool(_resolve, request.app.state.database, api_key)
        if scope is None:
            raise Unauthorized("invalid or revoked API key")
        cache.put(digest, scope, generation)
    return scope


async def get_scope(request: Request, api_key: Annotated[str | None, Security(api_key_header)]) -> Scope:
    """The tenant + environment of the API key; a missing, unknown or revoked key is a 401."""
    return await resolve_scope(request, api_key)


ScopeDep = Annotated[Scope, Depends(get_scope)]


async def get_catalog(session: SessionDep, scope: ScopeDep) -> CatalogSession:
    """The request's session bound to its scope: ``catalog.repo(Customer)``."""
    return CatalogSession(session, scope)


CatalogDep = Annotated[CatalogSession, Depends(get_catalog)]


async def now() -> datetime:
    """The current time, aware UTC (the API's one read of the wall clock)."""
    return datetime.now(UTC)


NowDep = Annotated[datetime, Depends(now)]


def _immediate(session: Session) -> None:
    # Runs before the route's first statement: the route's transaction then begins with BEGIN IMMEDIATE.
    session.rollback()
    bind = session.get_bind()
    session.bind = bind.execution_options(**{SQLITE_IMMEDIATE: True})


async def get_write_catalog(session: SessionDep, scope: ScopeDep) -> CatalogSession:
    """Like ``CatalogDep``, for routes that write: the transaction takes the write lock up front.

    On SQLite a transaction that reads and then writes can fail with ``SQLITE_BUSY`` under
    concurrency; starting it with ``BEGIN IMMEDIATE`` makes writers queue instead. The lock is taken
    by the route's first statement, in its worker thread, never while waiting for one.
    """
    if session.in_transaction():  # another dependency read through the session: end that first
        await anyio.to_thread.run_sync(_immediate, session, limiter=anyio.CapacityLimiter(1))
    else:
        _immediate(session)
    return CatalogSession(session, scope)


WriteCatalogDep = Annotated[CatalogSession, Depends(get_write_catalog)]
