"""An independent Standard Webhooks verifier, written from the spec (not from our signer): what a
tenant's receiver would run. Returns the reason it refuses, or None for an authentic request."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

TOLERANCE_SECONDS = 5 * 60


def verification_error(secret: str, headers: Mapping[str, str], body: bytes, now_seconds: int) -> str | None:
    try:
        msg_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"]
    except KeyError as missing:
        return f"missing header {missing}"
    if not timestamp.isdigit():
        return "bad timestamp"
    if abs(now_seconds - int(timestamp)) > TOLERANCE_SECONDS:
        return "stale timestamp"
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(
        hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    )
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return None
    return "no matching signature"
