"""``flexprice demo``: a full billing cycle on the embedded default, from nothing to invoice PDFs."""

from __future__ import annotations

import io
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import typer
from rich.console import Console

from flexprice_pipelines.demo.runner import DEFAULT_EVENTS, DEFAULT_SEED, DemoHomeError, DemoResult, run_demo
from flexprice_pipelines.demo.summary import summary_table


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not ISO 8601", param_hint="--now") from exc
    if moment.utcoffset() is None:
        raise typer.BadParameter("needs a UTC offset, e.g. 2025-11-21T12:00:00+00:00", param_hint="--now")
    return moment.astimezone(UTC)


def _own_stdout() -> TextIO:
    # The run sends descriptor 1 to demo.log while Dagster and dbt talk; the console keeps the terminal.
    try:
        return os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8", closefd=True)
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return sys.stdout


def demo(
    home: Path = typer.Option(
        Path(".flexprice-demo"), "--home", help="Demo data directory; wiped and re-created on each run."
    ),
    now: str | None = typer.Option(
        None,
        "--now",
        help="The demo's clock (ISO 8601 with offset); it bills the 3 months before. Default: now.",
    ),
    events: int = typer.Option(DEFAULT_EVENTS, "--events", min=1000, help="Usage events to generate."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed of the event stream."),
    engine: str = typer.Option(
        "dbt",
        "--engine",
        help="Usage engine of the pipeline: dbt (the SQL models) or python (the reference).",
    ),
) -> None:
    """Seed a demo tenant, ingest ~1M events over three months, bill them and write invoice PDFs."""
    out = _own_stdout()
    # Piped output gets a width that fits the summary table instead of rich's 80 columns.
    console = Console(file=out, width=None if out.isatty() else 160)
    try:
        result = run_demo(home, _parse_now(now), events=events, seed=seed, engine=engine, console=console)
    except DemoHomeError as exc:
        typer.echo(f"error: --home: {exc}", err=True)
        raise typer.Exit(2) from exc
    print_result(console, result)
    if not all(p.success for p in result.partitions):
        raise typer.Exit(1)


def print_result(console: Console, result: DemoResult) -> None:
    """The invoice table, where things are, and the time of each phase."""
    console.print(summary_table(result.rows))
    console.print(
        f"{result.events_sent:,} events accepted, {result.events_distinct:,} distinct ids billed "
        f"(re-sent ids count once); months {', '.join(result.months)}"
    )
    console.print(f"PDFs ({result.pdfs_written} written): {result.pdf_dir}")
    console.print(
        f"catalog: sqlite:///{result.home / 'catalog.db'}   warehouse: {result.home / 'warehouse.duckdb'}"
    )
    console.print(
        f"explore: FLEXPRICE_HOME={result.home} DAGSTER_HOME={result.home / 'dagster'} .venv/bin/flexprice dev"
    )
    phases = "  ".join(f"{name} {seconds:.1f}s" for name, seconds in result.timings.items())
    console.print(f"timings: {phases}")
