"""``flexprice catalog apply FILE.yaml`` and ``flexprice catalog export`` (docs/catalog-as-code.md).

Exit codes: 0 done, 1 the database is not initialized, 2 bad input (file, tenant, API key) with a
message naming the field's path in the file; nothing is written then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.as_code import (
    CatalogFileError,
    apply_catalog,
    dump_catalog,
    export_catalog,
    load_catalog,
)
from flexprice_pipelines.catalog.errors import CatalogError
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.catalog.tenancy import DEFAULT_ENVIRONMENT, find_scope, resolve_api_key
from flexprice_pipelines.settings import Settings

catalog_app = typer.Typer(
    help="Catalog as code: apply a YAML catalog (meters, features, plans, prices, entitlements, "
    "coupons, tax rates) idempotently, or export a tenant's catalog in the same format.",
    no_args_is_help=True,
)

TenantOption = Annotated[str | None, typer.Option("--tenant", help="Tenant id or name.")]
EnvironmentOption = Annotated[str, typer.Option("--environment", help="Environment id or name.")]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="FLEXPRICE_API_KEY", help="An API key; selects its tenant and environment."
    ),
]


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _sessions() -> Iterator[sessionmaker[Session]]:
    url = Settings().resolved_database_url
    engine = db.make_engine(url)
    try:
        if db.current_revision(engine) != db.head_revision():
            _fail("the catalog database is not initialized; run `flexprice init`", code=1)
        yield db.session_factory(engine)
    finally:
        engine.dispose()


def _scope(session: Session, tenant: str | None, environment: str, api_key: str | None) -> Scope:
    if (tenant is None) == (api_key is None):
        _fail("give exactly one of --tenant (with --environment) or --api-key")
    if api_key is not None:
        scope = resolve_api_key(session, api_key)
        if scope is None:
            _fail("--api-key: unknown or revoked API key")
        return scope
    assert tenant is not None
    try:
        return find_scope(session, tenant, environment)
    except CatalogError as exc:
        _fail(f"--{exc.field or 'tenant'}: {exc.message}")


def _report_file_errors(source: str, exc: CatalogFileError) -> NoReturn:
    for path, message in exc.errors:
        typer.echo(f"error: {source}: {path}: {message}", err=True)
    typer.echo("nothing was written", err=True)
    raise typer.Exit(2)


@catalog_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(help="The catalog YAML file.", dir_okay=False)],
    tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT,
    api_key: ApiKeyOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan, write nothing.")] = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Archive objects that are in the database but not in the file.")
    ] = False,
) -> None:
    """Create or update the catalog objects of FILE by lookup_key, in one transaction."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror or exc}")
    try:
        catalog = load_catalog(text)
    except CatalogFileError as exc:
        _report_file_errors(str(file), exc)
    with _sessions() as factory:
        if dry_run:
            with factory() as session:
                scope = _scope(session, tenant, environment, api_key)
                plan = apply_catalog(session, scope, catalog, prune=prune, dry_run=True)
                session.rollback()
            typer.echo("dry run: nothing written")
            typer.echo(plan.render())
            return
        try:
            # One transaction, holding the write lock from its start (SQLite: BEGIN IMMEDIATE).
            with db.write_session(factory) as session:
                scope = _scope(session, tenant, environment, api_key)
                plan = apply_catalog(session, scope, catalog, prune=prune)
        except CatalogFileError as exc:
            _report_file_errors(str(file), exc)
    typer.echo(plan.render())


@catalog_app.command("export")
def export(
    tenant: TenantOption = None,
    environment: EnvironmentOption = DEFAULT_ENVIRONMENT,
    api_key: ApiKeyOption = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of stdout.", dir_okay=False),
    ] = None,
) -> None:
    """Write the tenant's published catalog in the `catalog apply` format (sorted, decimals as strings)."""
    with _sessions() as factory, factory() as session:
        scope = _scope(session, tenant, environment, api_key)
        text = dump_catalog(export_catalog(session, scope))
        session.rollback()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)
