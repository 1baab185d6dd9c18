"""``flexprice init``, ``flexprice tenants …`` and ``flexprice api-keys …``.

Bad input ends with a message naming the argument and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import db, secrets
from flexprice_pipelines.catalog.errors import CatalogError
from flexprice_pipelines.catalog.tenancy import (
    DEFAULT_ENVIRONMENT,
    create_api_key,
    create_tenant,
    find_scope,
    revoke_api_key,
)
from flexprice_pipelines.settings import Settings

tenants_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
api_keys_app = typer.Typer(
    help="Create and revoke API keys (only their SHA-256 is stored).", no_args_is_help=True
)

_PARAM_HINTS = {"tenant": "--tenant", "environment": "--environment", "key_id": "KEY_ID", "name": "NAME"}


def init() -> None:
    """Create the data directory and bring the catalog database to the newest schema.

    With no ``FLEXPRICE_SECRET_KEYS``, the embedded default gets a key file (``<home>/secret.keys``,
    0600) for the secrets stored encrypted; a PostgreSQL catalog requires the setting instead."""
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    if settings.secret_keys is None:
        if not url.startswith("sqlite"):
            typer.echo("error: FLEXPRICE_SECRET_KEYS is required with a PostgreSQL catalog", err=True)
            raise typer.Exit(1)
        if secrets.write_key_file(settings.secret_keys_file):
            typer.echo(f"created {settings.secret_keys_file} (keep it: stored secrets need it)")
    try:
        db.migrate(url)
    except Exception as exc:  # a CLI reports a broken URL or an unreachable server, it doesn't trace
        typer.echo(f"error: cannot migrate {_redacted(url)}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"catalog ready at {_redacted(url)} (revision {db.head_revision()})")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def _session() -> Iterator[Session]:
    url = Settings().resolved_database_url
    engine = db.make_engine(url)
    try:
        if db.current_revision(engine) != db.head_revision():
            typer.echo("error: the catalog database is not initialized; run `flexprice init`", err=True)
            raise typer.Exit(1)
        with db.session_factory(engine)() as session:
            try:
                yield session
                session.commit()
            except CatalogError as exc:
                session.rollback()
                hint = _PARAM_HINTS.get(exc.field or "", exc.field)
                raise typer.BadParameter(exc.message, param_hint=hint) from exc
    finally:
        engine.dispose()


@tenants_app.command("create")
def tenants_create(
    name: Annotated[str, typer.Argument(help="Display name of the tenant.")],
    environment: Annotated[str, typer.Option(help="Name of the first environment.")] = DEFAULT_ENVIRONMENT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Create a tenant and print its id and an API key (shown only this once)."""
    with _session() as session:
        tenant, env, key = create_tenant(session, name, environment=environment)
        result = {"tenant_id": tenant.id, "environment_id": env.id, "environment": env.name, "api_key": key}
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(
            f"tenant_id:      {tenant.id}\nenvironment_id: {env.id} ({env.name})\napi_key:        {key}"
        )
        typer.echo("Store the API key now; it cannot be shown again.", err=True)


@api_keys_app.command("create")
def api_keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant id or name.")],
    environment: Annotated[str, typer.Option(help="Environment id or name.")] = DEFAULT_ENVIRONMENT,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Create an API key for a tenant's environment and print it (shown only this once)."""
    with _session() as session:
        scope = find_scope(session, tenant, environment)
        created = create_api_key(session, scope, name=name)
        result = {
            "key_id": created.key.id,
            "tenant_id": scope.tenant_id,
            "environment_id": scope.environment_id,
            "api_key": created.plaintext,
        }
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"key_id:  {result['key_id']}\napi_key: {result['api_key']}")


@api_keys_app.command("revoke")
def api_keys_revoke(key_id: Annotated[str, typer.Argument(help="Id of the key (key_…).")]) -> None:
    """Revoke an API key; requests with it are refused from now on."""
    with _session() as session:
        key = revoke_api_key(session, key_id)
        revoked_at = key.revoked_at
    typer.echo(f"revoked {key_id} at {revoked_at.isoformat() if revoked_at else '?'}")
