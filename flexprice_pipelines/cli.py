"""The ``flexprice`` command.

Each domain adds its sub-commands here; the command bodies stay thin and call library code.
"""

from __future__ import annotations

import typer

from flexprice_pipelines import __version__

app = typer.Typer(
    name="flexprice",
    help="Flexprice Pipelines: usage-based billing as a Dagster pipeline.\n\n"
    "Runs on one machine with no servers (SQLite + DuckDB) or on PostgreSQL, Kafka, ClickHouse and S3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()
