"""``flexprice secrets rotate``: re-encrypt every stored secret with the primary key.

Rotation: put a new key first in ``FLEXPRICE_SECRET_KEYS`` (or ``<home>/secret.keys``), keep the old
ones after it, run this command, then drop the old keys. Running it again changes nothing.
"""

from __future__ import annotations

import typer

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.models import Base
from flexprice_pipelines.catalog.secrets import (
    SecretBox,
    SecretsNotConfigured,
    SecretUnreadable,
    encrypted_columns,
    rotate_column,
)
from flexprice_pipelines.integrations.stripe.tables import integration_metadata
from flexprice_pipelines.settings import Settings

secrets_app = typer.Typer(help="Stored secrets (encrypted at rest).", no_args_is_help=True)


@secrets_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret with the first configured key (idempotent)."""
    settings = Settings()
    try:
        box = SecretBox.from_settings(settings)
    except SecretsNotConfigured as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    engine = db.make_engine(settings.resolved_database_url)
    try:
        total = 0
        for table, column in encrypted_columns(Base.metadata, integration_metadata):
            # One transaction per column: a failure leaves finished columns rotated, and a re-run
            # only does what is left.
            with engine.begin() as connection:
                result = rotate_column(connection, box, table, column)
            total += result.rotated
            typer.echo(
                f"{result.table}.{result.column}: {result.secrets} secrets, {result.rotated} re-encrypted"
            )
        typer.echo(f"done: {total} secrets re-encrypted with the primary key")
    except SecretUnreadable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
