"""`flexprice catalog apply|export` through typer's CliRunner, against the real databases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.catalog.models import Meter, Price
from flexprice_pipelines.catalog.tenancy import create_api_key
from flexprice_pipelines.cli import app
from tests.catalog_as_code.helpers import EXAMPLE, example_text, rows, snapshot

Run = Callable[..., Result]


@pytest.fixture
def run(database_url: str, tmp_path: Path) -> Run:
    runner = CliRunner()
    env = {"FLEXPRICE_DATABASE_URL": database_url, "FLEXPRICE_HOME": str(tmp_path), "FLEXPRICE_API_KEY": ""}

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return invoke


def test_apply_then_reapply_prints_changes_then_no_changes(
    run: Run, factory: sessionmaker[Session], scope: Scope
) -> None:
    first = run("catalog", "apply", str(EXAMPLE), "--tenant", scope.tenant_id)
    assert first.exit_code == 0, first.output
    assert "create    price        pro_storage" in first.stdout
    assert "summary: 33 create, 0 unchanged" in first.stdout
    assert len(rows(factory, scope, Meter)) == 6

    second = run("catalog", "apply", str(EXAMPLE), "--tenant", scope.tenant_id, "--environment", "production")
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("no changes")
    assert "summary: 33 unchanged" in second.stdout


def test_dry_run_prints_the_plan_and_writes_nothing(
    run: Run, factory: sessionmaker[Session], scope: Scope, tmp_path: Path
) -> None:
    run("catalog", "apply", str(EXAMPLE), "--tenant", scope.tenant_id)
    before = snapshot(factory, scope)
    edited = tmp_path / "catalog.yaml"
    edited.write_text(example_text().replace("amount: 49.00", "amount: 59.00"))

    result = run("catalog", "apply", str(edited), "--tenant", scope.tenant_id, "--dry-run")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        "dry run: nothing written",
        "update    price        pro_monthly",
        "            amount: 49.00 → 59.00",
    ]
    assert snapshot(factory, scope) == before


def test_an_invalid_file_exits_2_naming_the_path(
    run: Run, factory: sessionmaker[Session], scope: Scope, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        example_text().replace(
            "{up_to: 100, unit_amount: 0.25, flat_amount: 5.00}", "{up_to: 5, unit_amount: 0.25}"
        )
    )

    result = run("catalog", "apply", str(bad), "--tenant", scope.tenant_id)

    assert result.exit_code == 2
    assert f"error: {bad}: plans[1].prices[4].tiers[1].up_to: up_to must be greater" in result.stderr
    assert "nothing was written" in result.stderr
    assert rows(factory, scope, Price) == []


def test_a_missing_file_exits_2(run: Run, scope: Scope, tmp_path: Path) -> None:
    result = run("catalog", "apply", str(tmp_path / "nope.yaml"), "--tenant", scope.tenant_id)
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_api_key_selects_the_tenant(
    run: Run, factory: sessionmaker[Session], scope: Scope, other_scope: Scope
) -> None:
    with factory() as session:
        key = create_api_key(session, other_scope).plaintext
        session.commit()

    result = run("catalog", "apply", str(EXAMPLE), "--api-key", key)

    assert result.exit_code == 0, result.output
    assert len(rows(factory, other_scope, Price)) == 8
    assert rows(factory, scope, Price) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --tenant"),
        (["--tenant", "no-such-tenant"], "--tenant: tenant 'no-such-tenant' not found"),
        (["--api-key", "fp_wrong"], "--api-key: unknown or revoked API key"),
    ],
)
def test_bad_tenant_selection_exits_2(run: Run, args: list[str], message: str) -> None:
    result = run("catalog", "apply", str(EXAMPLE), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_export_writes_the_file_that_apply_reads(
    run: Run, factory: sessionmaker[Session], scope: Scope, tmp_path: Path
) -> None:
    run("catalog", "apply", str(EXAMPLE), "--tenant", scope.tenant_id)
    out = tmp_path / "exported.yaml"

    exported = run("catalog", "export", "--tenant", scope.tenant_id, "--output", str(out))
    to_stdout = run("catalog", "export", "--tenant", scope.tenant_id)
    reapplied = run("catalog", "apply", str(out), "--tenant", scope.tenant_id, "--prune")

    assert exported.exit_code == 0, exported.output
    assert out.read_text().startswith("version: 1\nmeters:\n")
    assert to_stdout.stdout == out.read_text()
    assert reapplied.exit_code == 0, reapplied.output
    assert reapplied.stdout.startswith("no changes")


def test_an_uninitialized_database_exits_1(tmp_path: Path, scope: Scope) -> None:
    result = CliRunner().invoke(
        app,
        ["catalog", "export", "--tenant", scope.tenant_id],
        env={"FLEXPRICE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"},
    )
    assert result.exit_code == 1
    assert "flexprice init" in result.stderr
