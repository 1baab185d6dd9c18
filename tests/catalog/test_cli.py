from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from flexprice_pipelines.catalog.tenancy import resolve_api_key
from flexprice_pipelines.cli import app

runner = CliRunner()


def _env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"FLEXPRICE_HOME": str(tmp_path / "home"), "FLEXPRICE_DATABASE_URL": database_url}


def test_init_tenants_and_api_keys(database_url: str, factory: sessionmaker[Session], tmp_path: Path) -> None:
    env = _env(database_url, tmp_path)
    result = runner.invoke(app, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "home").is_dir()

    result = runner.invoke(app, ["tenants", "create", "Cli Corp", "--json"], env=env)
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    with factory() as session:
        scope = resolve_api_key(session, created["api_key"])
    assert scope is not None and scope.tenant_id == created["tenant_id"]

    result = runner.invoke(app, ["api-keys", "create", "--tenant", created["tenant_id"], "--json"], env=env)
    assert result.exit_code == 0, result.output
    key = json.loads(result.stdout)
    assert key["environment_id"] == created["environment_id"]

    result = runner.invoke(app, ["api-keys", "revoke", key["key_id"]], env=env)
    assert result.exit_code == 0, result.output
    with factory() as session:
        assert resolve_api_key(session, key["api_key"]) is None
        assert resolve_api_key(session, created["api_key"]) is not None


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["api-keys", "create", "--tenant", "tenant_nope"], "--tenant"),
        (["api-keys", "create", "--tenant", "{tenant}", "--environment", "staging"], "--environment"),
        (["api-keys", "revoke", "key_nope"], "KEY_ID"),
        (["tenants", "create", "  "], "NAME"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    database_url: str, tmp_path: Path, args: list[str], named: str
) -> None:
    env = _env(database_url, tmp_path)
    tenant = json.loads(runner.invoke(app, ["tenants", "create", "Errs", "--json"], env=env).stdout)
    result = runner.invoke(app, [a.format(tenant=tenant["tenant_id"]) for a in args], env=env)
    assert result.exit_code == 2
    assert named in result.output
    assert "Traceback" not in result.output


def test_embedded_default_needs_init_first(tmp_path: Path) -> None:
    env = {"FLEXPRICE_HOME": str(tmp_path / "fresh"), "FLEXPRICE_DATABASE_URL": ""}
    result = runner.invoke(app, ["tenants", "create", "Early"], env=env)
    assert result.exit_code == 1
    assert "flexprice init" in result.output

    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    assert (tmp_path / "fresh" / "catalog.db").is_file()
    result = runner.invoke(app, ["tenants", "create", "Early"], env=env)
    assert result.exit_code == 0
    assert "api_key:" in result.stdout
