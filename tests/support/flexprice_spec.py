"""Flexprice's own OpenAPI document, read beside the checkout (never committed: it is Flexprice's file).

The compatibility tests look for ``shared/flexprice/openapi.json`` in the checkout's parent folder (and
its ancestors, so a git worktree nested one level deeper finds it too), or at ``$FLEXPRICE_OPENAPI``.
Where it is absent they are skipped, saying where they looked.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


def spec_candidates() -> list[Path]:
    """Where the spec is looked for, first match wins."""
    found = [Path(os.environ["FLEXPRICE_OPENAPI"])] if os.environ.get("FLEXPRICE_OPENAPI") else []
    return found + [folder / "shared" / "flexprice" / "openapi.json" for folder in CHECKOUT.parents]


@cache
def _load() -> dict[str, Any] | None:
    for path in spec_candidates():
        if path.is_file():
            return dict(json.loads(path.read_text()))
    return None


def flexprice_spec() -> dict[str, Any]:
    """The parsed spec, or skip the calling test naming where it was looked for."""
    spec = _load()
    if spec is None:
        pytest.skip(f"Flexprice's OpenAPI document is not at any of {[str(p) for p in spec_candidates()]}")
    return spec
