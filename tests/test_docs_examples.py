"""docs/billing-semantics.md's worked figures are computed by the code they document, on every test run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_worked_figure_matches_the_code() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "billing_semantics_examples.py")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    match = re.search(r"^(\d+) figures match docs/billing-semantics.md$", done.stdout, re.MULTILINE)
    assert match, done.stdout[-2000:]
    assert int(match.group(1)) >= 100
