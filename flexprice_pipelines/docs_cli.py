"""``flexprice docs``: generate (and optionally serve) the dbt documentation of the usage models."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import typer
from dbt.cli.main import dbtRunner

from flexprice_pipelines.settings import get_settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"


def dbt_environment(warehouse_url: str) -> dict[str, str]:
    """The profile variables that point dbt at the configured warehouse (explicit env vars win)."""
    scheme, _, rest = warehouse_url.partition("://")
    if scheme == "duckdb":
        return {"FLEXPRICE_DUCKDB_PATH": "/" + rest.lstrip("/")}
    return {}


@contextmanager
def _defaults(values: Mapping[str, str]) -> Iterator[None]:
    added = [name for name in values if name not in os.environ]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _dbt(args: list[str], project_dir: Path, target: str, target_path: Path | None) -> None:
    argv = [*args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target", target]
    if target_path is not None:
        argv += ["--target-path", str(target_path)]
    result = dbtRunner().invoke(argv)
    if not result.success:
        raise RuntimeError(f"dbt {' '.join(args)} failed: {result.exception or 'see the log above'}")


def generate_docs(
    project_dir: Path = DBT_PROJECT_DIR, target: str = "duckdb", target_path: Path | None = None
) -> Path:
    """Run ``dbt docs generate``; return the generated ``index.html``."""
    with _defaults(dbt_environment(get_settings().resolved_warehouse_url)):
        _dbt(["docs", "generate"], project_dir, target, target_path)
    return (target_path or project_dir / "target") / "index.html"


def docs(
    target: str = typer.Option("duckdb", help="dbt target: duckdb or clickhouse."),
    serve: bool = typer.Option(False, "--serve", help="Serve the docs after generating them."),
    port: int = typer.Option(8080, help="Port for --serve."),
    target_path: Path | None = typer.Option(None, help="Where dbt writes the docs (default dbt/target)."),
) -> None:
    """Generate the dbt docs of the usage models (lineage, descriptions, tests)."""
    try:
        index = generate_docs(DBT_PROJECT_DIR, target, target_path)
    except RuntimeError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"dbt docs: {index}")
    if serve:
        with _defaults(dbt_environment(get_settings().resolved_warehouse_url)):
            _dbt(["docs", "serve", "--port", str(port), "--no-browser"], DBT_PROJECT_DIR, target, target_path)
