"""``flexprice docs``: generate (and optionally serve) the dbt documentation of the usage models."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

import typer

from flexprice_pipelines.settings import get_settings
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"


def dbt_environment(warehouse_url: str) -> dict[str, str]:
    """The profile variables that point dbt at the configured warehouse (explicit env vars win)."""
    scheme, _, rest = warehouse_url.partition("://")
    if scheme == "duckdb":
        return {"FLEXPRICE_DUCKDB_PATH": "/" + rest.lstrip("/")}
    return {}


def _duckdb_path(target: str) -> str | None:
    if target != "duckdb":
        return None
    return os.environ.get("FLEXPRICE_DUCKDB_PATH") or dbt_environment(
        get_settings().resolved_warehouse_url
    ).get("FLEXPRICE_DUCKDB_PATH")


def generate_docs(
    project_dir: Path = DBT_PROJECT_DIR, target: str = "duckdb", target_path: Path | None = None
) -> Path:
    """Run ``dbt docs generate`` on a turn of the DuckDB file; return the generated ``index.html``.

    In a child process: dbt-duckdb keeps its connection, and with it the file, open until the process that
    ran dbt exits, and the docs server must not keep billing out of the warehouse.
    """
    # dbt of this interpreter, without importing the Dagster definitions (which parse the dbt project).
    argv = [sys.executable, "-m", "dbt.cli.main", "docs", "generate", "--project-dir", str(project_dir)]
    argv += ["--profiles-dir", str(project_dir), "--target", target]
    if target_path is not None:
        argv += ["--target-path", str(target_path)]
    path = _duckdb_path(target)
    env = {**dbt_environment(get_settings().resolved_warehouse_url), **os.environ}
    with DuckDBWarehouse(path).exclusive() if path else nullcontext():
        done = subprocess.run(argv, env=env, cwd=project_dir, check=False)
    if done.returncode:
        raise RuntimeError(f"dbt docs generate failed (exit {done.returncode}); see the log above")
    return (target_path or project_dir / "target") / "index.html"


def serve_docs(directory: Path, port: int, host: str = "127.0.0.1") -> None:
    """Serve the generated docs as static files until interrupted (the warehouse is not opened)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        typer.echo(f"serving dbt docs on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


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
        serve_docs(index.parent, port)
