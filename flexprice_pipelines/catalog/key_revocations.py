"""Revoked API keys stop working on the very next request of every API process.

API processes cache key → scope (``api/deps.py``) so that a request costs no catalog query. A
revocation moves a *generation* that every process compares, on every request, with the one its
cache entries were resolved under; a cheap check, and no query:

- **SQLite** (the embedded default, one host): a 16-byte file next to the catalog
  (``catalog.db-apikeys``), rewritten in place with new random bytes once the revoking transaction
  has committed. API processes map it into memory; the check is a 16-byte read.
- **PostgreSQL** (production, any number of hosts): the revoking transaction sends
  ``NOTIFY flexprice_api_keys`` (delivered only if it commits). Each API process LISTENs on one
  connection of its own, in a thread that moves the generation and acknowledges on
  ``flexprice_api_keys_ack``; the check is an attribute read. The revoker counts the listeners
  (``pg_stat_activity.application_name = 'flexprice-api-keys'``) before committing and, after the
  commit, waits for every acknowledgement: when ``revoke_api_key``'s commit returns, every API process
  has dropped its cached scopes. Should one not answer, the commit returns after ``CACHE_TTL_SECONDS``
  + 1 s, when no cached scope read before it can be left. While a process's LISTEN connection is down
  (starting, lost, reconnecting) its generation changes at every check: it serves nothing from the
  cache and looks every key up in the catalog.
- An in-memory SQLite catalog lives in one process: a counter in that process.

``announce_key_change(session)`` is the sending half; call it in any transaction that makes a key
stop resolving (``tenancy.revoke_api_key`` does). ``watch_key_changes(url)`` is the receiving half.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.db import normalize_url

CHANNEL = "flexprice_api_keys"
ACK_CHANNEL = "flexprice_api_keys_ack"
LISTENER_NAME = "flexprice-api-keys"
# How long an API process trusts a cached scope without any signal (api/deps.py uses it).
CACHE_TTL_SECONDS = 5.0
GENERATION_SUFFIX = "-apikeys"
_SIZE = 16
_RECONNECT_SECONDS = 1.0


class KeyWatch(Protocol):
    """The receiving half: ``generation()`` changes whenever a key may have stopped resolving."""

    def generation(self) -> object: ...

    def close(self) -> None: ...


def generation_file(url: str | URL) -> Path | None:
    """The generation file of a SQLite catalog file; None for PostgreSQL and in-memory SQLite."""
    parsed = make_url(normalize_url(str(url))) if isinstance(url, str) else url
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(f"{parsed.database}{GENERATION_SUFFIX}")


# -- sending ------------------------------------------------------------------------------------------


class _ProcessCounter:
    value = 0


def _bump(path: Path | None) -> None:
    if path is None:
        _ProcessCounter.value += 1
        return
    # Written in place, never replaced: API processes keep the file mapped.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, os.urandom(_SIZE), 0)
    finally:
        os.close(fd)


class _Acknowledgements:
    """The revoker's side on PostgreSQL: before the commit, count the API processes listening and
    listen for their acknowledgements; after it, wait until each has dropped its cached scopes."""

    def __init__(self, session: Session, url: URL) -> None:
        import psycopg

        self.token = secrets.token_hex(16)
        args, kwargs = _connect_args(url)
        self._conn = psycopg.connect(*args, **kwargs)
        self._conn.execute(f"LISTEN {ACK_CHANNEL}")
        row = self._conn.execute(
            "select count(*) from pg_stat_activity where application_name = %s and datname = current_database()",
            (LISTENER_NAME,),
        ).fetchone()
        self.expected = int(row[0]) if row else 0
        event.listen(session, "after_commit", self.wait, once=True)
        event.listen(session, "after_rollback", self.discard, once=True)

    def wait(self, _session: Session) -> None:
        """Until every listener counted has acknowledged, or the cache TTL has passed (after which no
        process can still hold a scope read before the commit)."""
        deadline = time.monotonic() + CACHE_TTL_SECONDS + 1
        acknowledged = 0
        try:
            while acknowledged < self.expected and (left := deadline - time.monotonic()) > 0:
                for notify in self._conn.notifies(timeout=left, stop_after=1):
                    acknowledged += notify.payload == self.token
        except Exception:  # acknowledgements lost: only the TTL still proves the key is gone everywhere
            time.sleep(max(0.0, deadline - time.monotonic()))
        finally:
            self.discard()

    def discard(self, *_: object) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


def announce_key_change(session: Session) -> None:
    """Tell every API process that a key changed, once ``session``'s transaction commits.

    On PostgreSQL the commit returns only when every API process listening has dropped its cached
    scopes (or, should one not answer, after the cache TTL): when it returns, the key is refused
    everywhere.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        acknowledgements = _Acknowledgements(session, bind.engine.url)
        session.execute(
            text("select pg_notify(:channel, :token)"), {"channel": CHANNEL, "token": acknowledgements.token}
        )
        return
    path = generation_file(bind.engine.url)
    # After the commit, not before: a process that re-read the key in between would cache it again.
    event.listen(session, "after_commit", lambda _session: _bump(path), once=True)


# -- receiving ----------------------------------------------------------------------------------------


class _ProcessWatch:
    def generation(self) -> object:
        return _ProcessCounter.value

    def close(self) -> None:
        pass


class _FileWatch:
    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.pwrite(fd, os.urandom(_SIZE), 0)
            self._map = mmap.mmap(fd, _SIZE, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)

    def generation(self) -> object:
        return self._map[:_SIZE]

    def close(self) -> None:
        self._map.close()


def _connect_args(url: URL) -> tuple[list[Any], dict[str, Any]]:
    args, kwargs = url.get_dialect()().create_connect_args(url)
    # Keepalives: a silently dead server is noticed (and the cache bypassed) within ~20 s.
    options = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 2}
    return list(args), {"connect_timeout": 5, **options, **kwargs, "autocommit": True}


class _ListenWatch:
    """LISTENs on a connection of its own, in a thread that also (re)connects and acknowledges."""

    def __init__(self, url: URL) -> None:
        self._args, self._kwargs = _connect_args(url)
        self._kwargs["application_name"] = LISTENER_NAME
        self._lock = threading.Lock()
        self._generation = 0
        self._listening = False
        self._closed = threading.Event()
        threading.Thread(target=self._run, name=LISTENER_NAME, daemon=True).start()

    def generation(self) -> object:
        if self._listening:
            return self._generation
        with self._lock:  # not listening: no cached entry may be trusted
            self._generation += 1
            return self._generation

    def _moved(self, listening: bool) -> None:
        with self._lock:
            self._generation += 1
            self._listening = listening

    def _run(self) -> None:
        import psycopg

        while not self._closed.is_set():
            try:
                conn = psycopg.connect(*self._args, **self._kwargs)
            except Exception:
                self._closed.wait(_RECONNECT_SECONDS)
                continue
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                self._moved(listening=True)  # anything revoked while we were not listening
                while not self._closed.is_set():
                    tokens = [n.payload for n in conn.notifies(timeout=1.0, stop_after=1)]
                    if tokens:
                        self._moved(listening=True)
                        for token in filter(None, tokens):  # the revoker waits for these
                            conn.execute("select pg_notify(%s, %s)", (ACK_CHANNEL, token))
            except Exception:
                if not self._closed.is_set():
                    self._closed.wait(_RECONNECT_SECONDS)
            finally:
                self._moved(listening=False)
                with contextlib.suppress(Exception):
                    conn.close()

    def close(self) -> None:
        self._closed.set()


def watch_key_changes(url: str) -> KeyWatch:
    """The receiving half for the catalog at ``url`` (one per API process; close it on shutdown)."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "postgresql":
        return _ListenWatch(parsed)
    path = generation_file(parsed)
    return _ProcessWatch() if path is None else _FileWatch(path)
