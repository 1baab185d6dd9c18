"""Helpers shared by the catalog-as-code tests: apply a file the way the CLI does, read rows back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import Repository, Scope, db
from flexprice_pipelines.catalog.as_code import ChangePlan, apply_catalog, load_catalog
from flexprice_pipelines.catalog.models import (
    Coupon,
    Entitlement,
    Feature,
    Meter,
    Plan,
    Price,
    ScopedModel,
    TaxRate,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.yaml"
CATALOG_MODELS: tuple[type[ScopedModel], ...] = (Meter, Feature, Plan, Price, Entitlement, Coupon, TaxRate)


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def apply_text(
    factory: sessionmaker[Session], scope: Scope, text: str, *, prune: bool = False, dry_run: bool = False
) -> ChangePlan:
    """Load ``text`` and apply it in one write transaction, as ``flexprice catalog apply`` does."""
    catalog = load_catalog(text)
    with db.write_session(factory) as session:
        plan = apply_catalog(session, scope, catalog, prune=prune, dry_run=dry_run)
        if dry_run:
            session.rollback()
    return plan


def rows(factory: sessionmaker[Session], scope: Scope, model: type[Any], **filters: Any) -> list[Any]:
    """Every non-deleted row of ``model`` in ``scope`` matching ``filters``, oldest first."""
    with factory() as session:
        statement = Repository(session, scope, model).select()
        for name, value in filters.items():
            statement = statement.where(getattr(model, name) == value)
        return list(session.scalars(statement.order_by(model.id)))


def snapshot(factory: sessionmaker[Session], scope: Scope) -> dict[str, list[tuple[Any, ...]]]:
    """Id, status, lookup key and last update of every catalog row of ``scope``, to detect any write."""
    with factory() as session:
        result: dict[str, list[tuple[Any, ...]]] = {}
        for model in CATALOG_MODELS:
            statement = Repository(session, scope, model).select(include_deleted=True).order_by(model.id)
            result[model.__tablename__] = [
                (r.id, r.status, getattr(r, "lookup_key", None), r.updated_at)
                for r in session.scalars(statement)
            ]
        return result
