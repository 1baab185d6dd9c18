"""Running the real dbt project in-process against a DuckDB file or the chdb HTTP front."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dbt.cli.main import dbtRunner, dbtRunnerResult

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class DbtProject:
    """The project under one target; each target keeps its own target/log dirs (no shared partial parse)."""

    def __init__(self, target: str, env: Mapping[str, str], work_dir: Path) -> None:
        self.target = target
        self.env = dict(env)
        self.target_path = work_dir / f"target_{target}"
        self.log_path = work_dir / f"logs_{target}"

    def invoke(self, *args: str, vars: Mapping[str, Any] | None = None) -> dbtRunnerResult:
        """Run one dbt command; raise with the failing nodes if it did not succeed."""
        argv = [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target",
            self.target,
            "--target-path",
            str(self.target_path),
            "--log-path",
            str(self.log_path),
            "--quiet",
        ]
        if vars:
            argv += ["--vars", json.dumps(dict(vars))]
        with _environment(self.env):
            result = dbtRunner().invoke(argv)
        if not result.success:
            raise AssertionError(f"dbt {' '.join(args)} failed: {_failures(result)}")
        return result


def _failures(result: dbtRunnerResult) -> str:
    if result.exception is not None:
        return repr(result.exception)
    messages: Sequence[str] = [
        f"{r.node.name}: {r.message}"
        for r in getattr(result.result, "results", [])
        if r.status not in {"success", "pass"}
    ]
    return "; ".join(messages)
