"""The `flexprice` command: every listed sub-command loads, and start-up imports none of them."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from flexprice_pipelines import cli


def test_help_lists_every_command_without_importing_them() -> None:
    # A fresh interpreter: the test process has long since imported Dagster.
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from flexprice_pipelines.cli import COMMANDS, app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "missing = [name for name in COMMANDS if name not in result.output]\n"
        "heavy = sorted(m for m in ('dagster', 'dagster_dbt', 'duckdb', 'fastapi', 'sqlalchemy') if m in sys.modules)\n"
        "print(missing, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_each_listed_command_loads_with_its_help(name: str) -> None:
    command = cli._load(name)
    assert callable(command.main)
    assert command.name == name
    result = CliRunner().invoke(cli.app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli.app, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
