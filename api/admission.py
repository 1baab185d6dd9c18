"""Admission control: a request's catalog session is admitted on the event loop, before any thread waits.

No request waits for a worker thread while worker threads wait for a pooled connection it holds.
Sync routes run in Starlette's threadpool (40 threads) and the catalog pool is smaller (5 + 10): when
threads blocked on the pool, requests that held a connection (an open read transaction) could not get
a thread to finish, and the app stalled until the pool timeout. So:

- a request's session is admitted on the event loop, by a semaphore sized to the pool less a small
  reserve (``RESERVED_CONNECTIONS``), before any thread is involved: a thread never waits long for a
  connection;
- the reserve serves API-key lookups on a cache miss (each in a session of its own, closed at once:
  ``api/deps.py``) and the health ping, so they never queue behind admitted requests;
- sessions connect lazily, on their first statement in the route's thread.

``SessionDep`` (``api/deps.py``) holds a slot for the whole request; ``SessionRunner`` holds one only
while its work runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Request
from sqlalchemy.pool import QueuePool

# Connections kept back from request sessions for API-key lookups on a cache miss (and the health ping).
RESERVED_CONNECTIONS = 2
_Slots = weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.Semaphore | None]


def session_slots(request: Request, find_pool: Callable[[], Any]) -> anyio.Semaphore | None:
    """The app's admission semaphore on this event loop, sized to the session's pool (None: the pool
    never blocks). One per loop: tests drive one app from several loops."""
    state = request.app.state
    slots: _Slots | None = getattr(state, "session_slots", None)
    if slots is None:
        slots = state.session_slots = weakref.WeakKeyDictionary()
    loop = asyncio.get_running_loop()
    if loop not in slots:
        pool = find_pool()
        overflow = getattr(pool, "_max_overflow", -1)
        if isinstance(pool, QueuePool) and overflow >= 0:
            capacity = max(1, pool.size() + overflow - RESERVED_CONNECTIONS)
            slots[loop] = anyio.Semaphore(capacity)
        else:
            slots[loop] = None
    return slots[loop]


@asynccontextmanager
async def admitted(request: Request, find_pool: Callable[[], Any]) -> AsyncIterator[None]:
    """Hold one of the app's session slots (waiting on the event loop) for the block."""
    slots = session_slots(request, find_pool)
    if slots is None:
        yield
        return
    async with slots:
        yield
