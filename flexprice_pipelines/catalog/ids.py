"""Flexprice-style prefixed identifiers (``cust_01J…``) that sort by creation time.

The part after the prefix is a ULID: 48 bits of milliseconds since the epoch and 80 random bits in
Crockford base32. Ids made in the same millisecond by this process increment the random part, so
they still sort in creation order (the ULID "monotonic" rule).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from datetime import UTC, datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last: tuple[int, int] = (-1, 0)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def new_ulid(at: datetime | None = None) -> str:
    """A 26-character ULID for ``at`` (default: now); monotonic within this process."""
    global _last
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("ids need an aware datetime")
    millis = int(moment.timestamp() * 1000)
    with _lock:
        last_millis, last_random = _last
        if millis == last_millis and last_random + 1 < 1 << _RANDOM_BITS:
            random_part = last_random + 1
        else:
            random_part = secrets.randbits(_RANDOM_BITS)
        _last = (millis, random_part)
    return _encode(millis, 10) + _encode(random_part, 16)


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A new id such as ``cust_01JG0Z…`` for a row created at ``at`` (default: now)."""
    return f"{prefix}_{new_ulid(at)}"


def deterministic_id(prefix: str, *natural_key: object) -> str:
    """The same id for the same natural key, e.g. an invoice id from (tenant, subscription, period).

    Callers derive ids this way so that re-running a pipeline step finds the row it wrote before.
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in natural_key).encode()).digest()
    return f"{prefix}_{_encode(int.from_bytes(digest[:17], 'big') >> 6, 26)}"
