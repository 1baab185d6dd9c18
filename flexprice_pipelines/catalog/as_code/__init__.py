"""Catalog as code: ``flexprice catalog apply FILE.yaml`` and ``flexprice catalog export``.

``load_catalog`` parses and validates a file, ``apply_catalog`` plans and (unless ``dry_run``)
writes it in the caller's transaction, ``export_catalog`` reads a tenant's catalog back in the same
format and ``dump_catalog`` renders it as YAML. See docs/catalog-as-code.md.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.as_code.errors import CatalogFileError
from flexprice_pipelines.catalog.as_code.executor import execute_plan
from flexprice_pipelines.catalog.as_code.planner import Action, Change, ChangePlan, FieldChange, plan_changes
from flexprice_pipelines.catalog.as_code.spec import CatalogSpec
from flexprice_pipelines.catalog.as_code.state import CatalogState, read_state
from flexprice_pipelines.catalog.as_code.validate import load_catalog
from flexprice_pipelines.catalog.as_code.yaml_io import dump_catalog
from flexprice_pipelines.catalog.scope import Scope


def apply_catalog(
    session: Session, scope: Scope, catalog: CatalogSpec, *, prune: bool = False, dry_run: bool = False
) -> ChangePlan:
    """Plan ``catalog`` against the scope's stored catalog and, unless ``dry_run``, write the plan.

    Writes happen in ``session``'s transaction; the caller commits (or rolls back on
    ``CatalogFileError``). Applying the same catalog twice plans no writes the second time.
    """
    if not dry_run:
        _lock_scope(session, scope)
    state = read_state(session, scope, meter_keys={m.identity: m.lookup_key for m in catalog.meters})
    plan = plan_changes(catalog, state, prune=prune)
    if not dry_run:
        execute_plan(session, scope, plan)
        session.flush()
    return plan


def _lock_scope(session: Session, scope: Scope) -> None:
    # Meters have no unique key, so two concurrent applies could both create one. SQLite already
    # serializes writers (BEGIN IMMEDIATE); on PostgreSQL a transaction-scoped advisory lock per
    # scope does, released at commit or rollback.
    if session.get_bind().dialect.name == "postgresql":
        key = f"flexprice-catalog-apply:{scope.tenant_id}:{scope.environment_id}"
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def export_catalog(session: Session, scope: Scope) -> CatalogSpec:
    """The scope's published catalog in file form, sorted as ``export`` writes it."""
    return read_state(session, scope).to_catalog()


__all__ = [
    "Action",
    "CatalogFileError",
    "CatalogSpec",
    "CatalogState",
    "Change",
    "ChangePlan",
    "FieldChange",
    "apply_catalog",
    "dump_catalog",
    "export_catalog",
    "load_catalog",
    "plan_changes",
    "read_state",
]
