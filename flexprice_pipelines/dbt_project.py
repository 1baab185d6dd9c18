"""The dbt project at the repository root: where it is, which ``dbt`` runs it, its manifest and its profile.

The ``@dbt_assets`` (``defs/usage_dbt.py``) are built from ``dbt/target/manifest.json``. It is prepared once,
at install or image-build time — ``flexprice dbt-prepare``, which ``make install`` and the Dockerfile run —
never while the definitions load: parsing costs seconds on every import, and a process that imports the
definitions (``dagster dev``, a run worker, ``flexprice bill``) should not write into the project. Loading
the definitions without a manifest, or with one older than a project file, fails with
``ManifestNotPrepared`` naming the command (a stale manifest lacks a model that ``dbt build`` then runs, and
dagster-dbt fails on the unknown node: ``KeyError: 'model.flexprice.…'``).

No Dagster here: ``flexprice dbt-prepare`` runs ``dbt`` itself, so it works before anything else does.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
import yaml

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"
PREPARE_COMMAND = "flexprice dbt-prepare"

# What ``dbt parse`` reads: a change to any of these makes an existing manifest stale.
_PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml")
_PROJECT_DIRS = ("models", "macros", "tests", "seeds", "snapshots", "analyses")
_DEPENDENCY_FILES = ("packages.yml", "dependencies.yml")


class ManifestNotPrepared(RuntimeError):
    """The dbt manifest is missing or older than the project: run ``flexprice dbt-prepare``."""


def dbt_project_dir() -> Path:
    """The dbt project at the repository root."""
    return DBT_PROJECT_DIR


def manifest_path(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Where ``dbt parse`` writes the manifest (the project's default target path)."""
    return project_dir / "target" / "manifest.json"


def dbt_executable() -> str:
    """``dbt`` from the venv that runs Dagster (docs/toolchain.md: DbtCliResource needs it)."""
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


def manifest_is_stale(manifest: Path, project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """Whether ``manifest`` is missing or older than a file of the dbt project (a model added or edited)."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [project_dir / name for name in _PROJECT_FILES]
    sources += [f for d in _PROJECT_DIRS for f in (project_dir / d).rglob("*")]
    return any(f.is_file() and f.stat().st_mtime > built for f in sources)


def require_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """The prepared manifest; ``ManifestNotPrepared`` (saying what to run) when it is missing or stale."""
    manifest = manifest_path(project_dir)
    if not manifest.exists():
        raise ManifestNotPrepared(
            f"the dbt manifest {manifest} is missing: run `{PREPARE_COMMAND}` (or `make install`) first"
        )
    if manifest_is_stale(manifest, project_dir):
        raise ManifestNotPrepared(
            f"the dbt manifest {manifest} is older than the dbt project in {project_dir}: "
            f"run `{PREPARE_COMMAND}` (or `make install`) to parse it again"
        )
    return manifest


def prepare_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """``dbt deps`` (when the project has dependencies) and ``dbt parse``: parsing needs no database."""
    base = [dbt_executable()]
    where = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--quiet"]
    if any((project_dir / name).exists() for name in _DEPENDENCY_FILES):
        subprocess.run([*base, "deps", *where], check=True, cwd=project_dir)
    subprocess.run([*base, "parse", *where], check=True, cwd=project_dir)
    manifest = manifest_path(project_dir)
    # dbt may keep a manifest it found current; what it parsed just now is current, so say so.
    os.utime(manifest)
    return manifest


def dbt_prepare() -> None:
    """Parse the dbt project into dbt/target/manifest.json (run at install and image build)."""
    try:
        manifest = prepare_manifest()
    except subprocess.CalledProcessError as exc:
        typer.echo(f"dbt failed (exit {exc.returncode}); see the output above", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"dbt manifest: {manifest}")


# profiles.yml keys the connection variables of dbt/profiles.yml set (``DbtUsageResource.profile_env``).
_PROFILE_KEYS = {
    "FLEXPRICE_DUCKDB_PATH": "path",
    "FLEXPRICE_CLICKHOUSE_HOST": "host",
    "FLEXPRICE_CLICKHOUSE_PORT": "port",
    "FLEXPRICE_CLICKHOUSE_USER": "user",
    "FLEXPRICE_CLICKHOUSE_PASSWORD": "password",
    "FLEXPRICE_CLICKHOUSE_DATABASE": "schema",
}
_JINJA = ("{{", "{%", "{#")


def _literal(key: str, value: str) -> Any:
    if key == "port":
        return int(value)
    if any(mark in value for mark in _JINJA):
        # dbt renders every profile string as Jinja; a value (a password) is text, never a template.
        if "endraw" in value:
            raise ValueError(f"the dbt profile's {key} cannot contain 'endraw'")
        return f"{{% raw %}}{value}{{% endraw %}}"
    return value


def connection_profile(
    target: str, values: Mapping[str, str], project_dir: Path = DBT_PROJECT_DIR
) -> dict[str, Any]:
    """``dbt/profiles.yml`` cut to ``target``, with the connection ``values`` (keyed by the variables the
    file reads, e.g. ``FLEXPRICE_DUCKDB_PATH``) written in; every other setting stays as the file has it."""
    source = yaml.safe_load((project_dir / "profiles.yml").read_text(encoding="utf-8"))
    [(name, profile)] = source.items()
    output = dict(profile["outputs"][target])
    for variable, value in values.items():
        if (key := _PROFILE_KEYS.get(variable)) is not None:
            output[key] = _literal(key, value)
    return {name: {"target": target, "outputs": {target: output}}}


def write_profiles_dir(profile: Mapping[str, Any]) -> Path:
    """A private directory (0700, its ``profiles.yml`` 0600) holding ``profile``, removed when the process exits.

    dbt reads its connection from a profiles directory; writing one per warehouse lets each dbt invocation
    get its target without setting environment variables for the whole process.
    """
    directory = Path(tempfile.mkdtemp(prefix="flexprice-dbt-profile-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    fd = os.open(directory / "profiles.yml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(dict(profile), handle, sort_keys=False)
    return directory
