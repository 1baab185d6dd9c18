"""The ``flexprice`` command.

Each domain owns its sub-commands; this module only lists them. Commands are imported when they run,
not when ``flexprice`` starts: the pipeline's commands import Dagster and dbt (seconds), which
``flexprice tenants create`` or ``flexprice --help`` should never pay for.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from flexprice_pipelines import __version__

# name → ("module:attribute", one-line help shown by `flexprice --help`). An attribute is a command
# function or a Typer sub-app.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("flexprice_pipelines.catalog.cli:init", "Create the data directory and migrate the catalog."),
    "tenants": ("flexprice_pipelines.catalog.cli:tenants_app", "Create tenants (prints the API key once)."),
    "api-keys": ("flexprice_pipelines.catalog.cli:api_keys_app", "Create and revoke API keys."),
    "secrets": (
        "flexprice_pipelines.catalog.secrets_cli:secrets_app",
        "Re-encrypt stored secrets with the primary key (rotate).",
    ),
    "catalog": (
        "flexprice_pipelines.catalog.as_code_cli:catalog_app",
        "Catalog as code: apply / export YAML.",
    ),
    "api": ("api.cli:api", "Serve the REST API (uvicorn)."),
    "sink": ("flexprice_pipelines.events.cli:sink", "Drain the event bus into the warehouse."),
    "usage-consumer": (
        "flexprice_pipelines.usage.cli:usage_consumer",
        "Keep the real-time usage read model current from Kafka.",
    ),
    "bill": (
        "flexprice_pipelines.pipeline_cli:bill",
        "Bill one (tenant, month) partition and print its invoices.",
    ),
    "backfill": ("flexprice_pipelines.pipeline_cli:backfill", "Bill a range of months for one tenant."),
    "docs": ("flexprice_pipelines.docs_cli:docs", "Generate (or serve) the dbt docs for the usage models."),
    "dbt-prepare": (
        "flexprice_pipelines.dbt_project:dbt_prepare",
        "Parse the dbt project into its manifest (run at install and image build).",
    ),
    "demo": ("flexprice_pipelines.demo.cli:demo", "Seed a demo tenant, bill three months, write PDFs."),
    "dev": ("flexprice_pipelines.dev:dev", "Run the api, the sink and Dagster together on 127.0.0.1."),
}


def _load(name: str) -> Any:
    """The click command behind ``name`` (Typer vendors its own click, so it is typed loosely)."""
    target, _ = COMMANDS[name]
    module_name, attribute = target.split(":")
    from flexprice_pipelines.dbt_project import ManifestNotPrepared

    try:
        module = importlib.import_module(module_name)
    except ManifestNotPrepared as exc:  # the pipeline's commands load the dbt assets
        typer.echo(f"flexprice {name}: {exc}", err=True)
        raise typer.Exit(1) from exc
    obj: Any = getattr(module, attribute)
    command: Any
    if isinstance(obj, typer.Typer):
        command = typer.main.get_group(obj)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A Typer group whose listed commands are imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS:
            return _load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # The help lists the static one-liners so that `--help` imports nothing.
        rows = [(name, cmd.get_short_help_str()) for name, cmd in self.commands.items()]
        rows += [(name, short) for name, (_, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="flexprice",
    cls=LazyGroup,
    help="Flexprice Pipelines: usage-based billing as a Dagster pipeline.\n\n"
    "Runs on one machine with no servers (SQLite + DuckDB) or on PostgreSQL, Kafka, ClickHouse and S3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # Rich help would import every command to render its panel; plain click help uses the list above.
    rich_markup_mode=None,
)


@app.callback()
def main() -> None:
    """Flexprice Pipelines: usage-based billing as a Dagster pipeline."""


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(__version__)


if __name__ == "__main__":  # pragma: no cover
    app()
