"""The worked example in billing/README.md runs and its assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "flexprice_pipelines" / "billing" / "README.md"


def _worked_example() -> str:
    text = README.read_text()
    section = text.split("## Worked example", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the worked example's python block is missing"
    return match.group(1)


def test_worked_example_runs_and_asserts() -> None:
    code = _worked_example()
    assert code.count("assert ") >= 4, "the example must check its own figures"
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})


def test_worked_example_detects_a_wrong_figure() -> None:
    broken = _worked_example().replace('Decimal("78.78")', 'Decimal("78.79")')
    try:
        exec(compile(broken, str(README), "exec"), {"__name__": "readme_example"})
    except AssertionError:
        return
    raise AssertionError("a wrong total in the example went unnoticed")
