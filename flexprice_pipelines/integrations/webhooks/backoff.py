"""When a failed webhook delivery is tried again: exponential backoff with bounded jitter."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
# Jitter adds up to this share of the delay, so endpoints that failed together do not retry together.
JITTER = 0.25


def _unit_jitter(message_id: str, attempt: int) -> float:
    # Derived from the message, not a random source: a replayed run schedules the same retries.
    digest = hashlib.sha256(f"{message_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def retry_delay(message_id: str, attempt: int) -> timedelta:
    """The wait after failed attempt ``attempt`` (1-based): ``min(30 s·2^(n-1), 6 h)`` plus up to 25 %."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    base: timedelta = min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)
    return base * (1 + JITTER * _unit_jitter(message_id, attempt))


def next_attempt_at(message_id: str, attempt: int, failed_at: datetime) -> datetime | None:
    """When to try again after failed attempt ``attempt``, or None once ``MAX_ATTEMPTS`` are spent."""
    if attempt >= MAX_ATTEMPTS:
        return None
    return failed_at + retry_delay(message_id, attempt)
