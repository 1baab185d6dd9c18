"""Flexprice-style prefixed identifiers (``cust_01J…``) that sort by creation time.

The part after the prefix is a ULID: 48 bits of milliseconds since the epoch and 80 random bits in
Crockford base32. Ids made in the same millisecond by this process increment the random part, so
they still sort in creation order (the ULID "monotonic" rule). Ids derived from a natural key are
``billing.ids.deterministic_id``.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

from flexprice_pipelines.billing.ids import encode_base32

_RANDOM_BITS = 80
_lock = threading.Lock()
_last: tuple[int, int] = (-1, 0)


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
    return encode_base32(millis, 10) + encode_base32(random_part, 16)


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A new id such as ``cust_01JG0Z…`` for a row created at ``at`` (default: now)."""
    return f"{prefix}_{new_ulid(at)}"
