"""Deterministic ids: the same natural key always gives the same prefixed id (``inv_…``, ``bw_…``).

Invoices, lines and usage windows are identified by a hash of what they are, so re-running a pipeline
step finds the row it wrote before. The encoding is the Crockford base32 of ULIDs
(``catalog.ids.new_id``), so both kinds of id look alike and fit the same columns.
"""

from __future__ import annotations

import hashlib

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def encode_base32(value: int, length: int) -> str:
    """``value`` as ``length`` Crockford base32 digits, most significant first."""
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


def deterministic_id(prefix: str, *natural_key: object) -> str:
    """The same id for the same natural key, e.g. an invoice id from (tenant, subscription, period).

    Callers derive ids this way so that re-running a pipeline step finds the row it wrote before.
    """
    digest = hashlib.sha256("\x1f".join(str(part) for part in natural_key).encode()).digest()
    return f"{prefix}_{encode_base32(int.from_bytes(digest[:17], 'big') >> 6, 26)}"
