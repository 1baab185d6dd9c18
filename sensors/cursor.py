"""JSON sensor cursors: a versionless dict, empty when the sensor has never ticked."""

from __future__ import annotations

import json
from typing import Any


def load_cursor(raw: str | None) -> dict[str, Any]:
    """The cursor's dict (``{}`` for no cursor); a non-object cursor is a bug, not a fresh start."""
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"sensor cursor must be a JSON object, got {raw!r}")
    return value


def dump_cursor(value: dict[str, Any]) -> str:
    """Canonical JSON (sorted keys), so equal states give equal cursors."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
