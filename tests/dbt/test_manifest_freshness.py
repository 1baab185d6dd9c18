"""The dbt manifest: stale when older than a project file, prepared by ``flexprice dbt-prepare``, never on load."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexprice_pipelines import cli
from flexprice_pipelines.dbt_project import ManifestNotPrepared, require_manifest
from flexprice_pipelines.dbt_project import manifest_is_stale as _manifest_is_stale


def _touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


def test_missing_older_and_fresh_manifests(tmp_path: Path) -> None:
    manifest = tmp_path / "target" / "manifest.json"
    _touch(tmp_path / "dbt_project.yml", 1_000)
    _touch(tmp_path / "models" / "staging" / "stg_events.sql", 1_000)
    assert _manifest_is_stale(manifest, tmp_path)  # a fresh clone: no manifest yet

    _touch(manifest, 2_000)
    assert not _manifest_is_stale(manifest, tmp_path)

    _touch(tmp_path / "models" / "staging" / "stg_event_versions.sql", 3_000)  # a model added since
    assert _manifest_is_stale(manifest, tmp_path)

    _touch(manifest, 4_000)
    _touch(tmp_path / "macros" / "partition.sql", 5_000)  # a macro edited since
    assert _manifest_is_stale(manifest, tmp_path)


def test_a_missing_or_stale_manifest_fails_naming_the_prepare_command(tmp_path: Path) -> None:
    _touch(tmp_path / "dbt_project.yml", 1_000)
    _touch(tmp_path / "models" / "fct_period_usage.sql", 1_000)
    with pytest.raises(ManifestNotPrepared, match=r"missing: run `flexprice dbt-prepare`"):
        require_manifest(tmp_path)

    manifest = tmp_path / "target" / "manifest.json"
    _touch(manifest, 2_000)
    assert require_manifest(tmp_path) == manifest

    _touch(tmp_path / "models" / "fct_period_usage.sql", 3_000)  # edited since the manifest was parsed
    with pytest.raises(ManifestNotPrepared, match=r"older than the dbt project.*`flexprice dbt-prepare`"):
        require_manifest(tmp_path)


def test_loading_the_definitions_runs_no_dbt() -> None:
    # A fresh interpreter whose subprocesses are all recorded: importing the definitions (what `dagster dev`,
    # a run worker and `flexprice bill` do) reads the prepared manifest and starts nothing.
    probe = (
        "import subprocess\n"
        "started = []\n"
        "real = subprocess.Popen.__init__\n"
        "def record(self, args, *a, **k):\n"
        "    started.append(args)\n"
        "    return real(self, args, *a, **k)\n"
        "subprocess.Popen.__init__ = record\n"
        "from flexprice_pipelines.definitions import defs\n"
        "print(repr([a for a in started if 'dbt' in ' '.join(map(str, a if isinstance(a, list) else [a]))]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_a_command_that_loads_the_dbt_assets_prints_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    def unprepared(name: str) -> object:
        raise ManifestNotPrepared(
            "the dbt manifest dbt/target/manifest.json is missing: run `flexprice dbt-prepare`"
        )

    monkeypatch.setattr(importlib, "import_module", unprepared)
    result = CliRunner().invoke(cli.app, ["bill", "--tenant", "t", "--period", "2026-01"])
    assert result.exit_code == 1
    assert "flexprice bill: the dbt manifest" in result.output
    assert "run `flexprice dbt-prepare`" in result.output
