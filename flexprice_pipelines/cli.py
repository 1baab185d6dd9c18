"""The ``flexprice`` command.

Each domain adds its sub-commands here; the command bodies stay thin and call library code.
"""

from __future__ import annotations

import typer

from api.cli import api
from flexprice_pipelines import __version__
from flexprice_pipelines.catalog.as_code_cli import catalog_app
from flexprice_pipelines.catalog.cli import api_keys_app, init, tenants_app

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


app.command("init")(init)
app.add_typer(tenants_app, name="tenants")
app.add_typer(api_keys_app, name="api-keys")
app.add_typer(catalog_app, name="catalog")
app.command("api")(api)

if __name__ == "__main__":  # pragma: no cover
    app()
