"""Turns on the embedded DuckDB file: one process at a time, and the sink steps aside for anyone waiting.

DuckDB lets one process open a file for writing; a second one is refused at once ("Could not set lock on
file"), and DuckDB's lock has no queue. Left to retry on their own, a billing run loses every race against a
sink draining a backlog (the sink re-opens the file within milliseconds of closing it), and dbt, which does
not retry at all, fails outright. So every process of the embedded setup that opens the file — the sink,
billing steps and their dbt subprocess, sensors, checks, ``flexprice docs``, the demo — first takes a turn:

- ``<file>.turn``: an exclusive ``flock`` held for the whole time the process has the DuckDB file open.
  The holder writes who it is into the file, so a waiter can say what it waits for.
- ``<file>.waiting``: a shared ``flock`` held by every process waiting for a turn, except the sink. The sink
  tests it between batches (``wanted()``) and gives the file back; when it wants the file again it lets the
  waiters go first, for at most ``POLITE_FOR`` seconds, so that a stream of runs cannot starve it either.

The kernel drops ``flock`` locks when a process dies, so a crash leaves nothing to clean up. Within one
process the turn is shared: threads (and nested calls) that need the file while the process holds it join
the turn — DuckDB lets connections of one process share the file — and it is released with the last of them.
ClickHouse has no such rule and takes no turn.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("flexprice.warehouse")

TURN_TIMEOUT = 600.0
"""Seconds a run waits for its turn before ``WarehouseBusy`` (the longest a dbt build may hold the file)."""
POLITE_FOR = 30.0
"""Seconds the sink lets waiting runs go first before it competes for the file like anyone else."""
PROGRESS_EVERY = 10.0
"""Seconds between two "still waiting" messages of a waiter."""
_POLL = 0.02


class WarehouseBusy(RuntimeError):
    """The DuckDB file stayed taken for longer than the wait allowed."""


class _ProcessTurn:
    """This process's share of one file's turn: the lock descriptor and how many holders use it."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.holders = 0
        self.acquiring = False
        self.fd: int | None = None


_TURNS: dict[str, _ProcessTurn] = {}
_TURNS_LOCK = threading.Lock()


def _process_turn(path: str) -> _ProcessTurn:
    with _TURNS_LOCK:
        return _TURNS.setdefault(path, _ProcessTurn())


def _describe() -> str:
    return (
        f"pid {os.getpid()} ({' '.join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))[:160]})"
    )


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Turns:
    """The turn protocol on the DuckDB file at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(Path(path).resolve())
        self.turn_path = f"{self.path}.turn"
        self.waiting_path = f"{self.path}.waiting"
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    def holder(self) -> str:
        """Who holds (or last held) the turn, as its holder wrote it."""
        try:
            return Path(self.turn_path).read_text().strip() or "another process"
        except OSError:
            return "another process"

    def wanted(self) -> bool:
        """Whether a process is waiting for the turn (the sink asks between batches)."""
        fd = os.open(self.waiting_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if _try_lock(fd, fcntl.LOCK_EX):
                fcntl.flock(fd, fcntl.LOCK_UN)
                return False
            return True
        finally:
            os.close(fd)

    @contextmanager
    def turn(
        self,
        *,
        yielding: bool = False,
        timeout: float | None = TURN_TIMEOUT,
        progress: Callable[[str], None] | None = None,
    ) -> Iterator[None]:
        """Hold the turn for the block (joining this process's turn if it already holds one).

        ``yielding`` is the sink's way: it does not announce itself as waiting, lets announced waiters go
        first for up to ``POLITE_FOR`` seconds, and waits without a bound (``timeout`` is ignored). Others
        wait at most ``timeout`` seconds, saying every ``PROGRESS_EVERY`` seconds what they wait for, and then
        raise ``WarehouseBusy``.
        """
        shared = _process_turn(self.path)
        with shared.cond:
            while shared.acquiring:
                shared.cond.wait()
            if shared.holders:
                shared.holders += 1
                first = False
            else:
                shared.acquiring = True
                first = True
        if first:
            try:
                fd = self._acquire(yielding, None if yielding else timeout, progress or log.warning)
            except BaseException:
                with shared.cond:
                    shared.acquiring = False
                    shared.cond.notify_all()
                raise
            with shared.cond:
                shared.fd, shared.holders, shared.acquiring = fd, 1, False
                shared.cond.notify_all()
        try:
            yield
        finally:
            with shared.cond:
                shared.holders -= 1
                if not shared.holders and shared.fd is not None:
                    fcntl.flock(shared.fd, fcntl.LOCK_UN)
                    os.close(shared.fd)
                    shared.fd = None

    def _acquire(self, yielding: bool, timeout: float | None, progress: Callable[[str], None]) -> int:
        fd = os.open(self.turn_path, os.O_RDWR | os.O_CREAT, 0o644)
        announced: int | None = None
        try:
            if not yielding:
                announced = os.open(self.waiting_path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(announced, fcntl.LOCK_SH)
            started = time.monotonic()
            next_report = started + PROGRESS_EVERY
            while True:
                now = time.monotonic()
                polite = yielding and now - started < POLITE_FOR and self.wanted()
                if not polite and _try_lock(fd, fcntl.LOCK_EX):
                    break
                if timeout is not None and now - started >= timeout:
                    raise WarehouseBusy(
                        f"{self.path} stayed busy for {timeout:.0f}s (held by {self.holder()}); "
                        "the holder is still working or stuck — see README 'DuckDB and its single writer'"
                    )
                if now >= next_report:
                    progress(
                        f"waiting {now - started:.0f}s for the warehouse {self.path}: held by {self.holder()}"
                    )
                    next_report = now + PROGRESS_EVERY
                time.sleep(_POLL)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{_describe()} since {time.strftime('%H:%M:%S')}\n".encode(), 0)
            return fd
        except BaseException:
            os.close(fd)
            raise
        finally:
            if announced is not None:
                os.close(announced)
