"""Declarative base and the columns every scoped row shares (Flexprice's Base + Environment mixins)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, MetaData, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from flexprice_pipelines.catalog.ids import new_id
from flexprice_pipelines.catalog.types import ExactDecimal, JSONType, UTCDateTime

# Soft-deleted rows stop counting for uniqueness, so a deleted customer's external_id can be reused.
LIVE_ROWS = "status <> 'deleted'"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, aware UTC (the one place the store reads the wall clock)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: ExactDecimal(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        str: String(255),
    }


class IdMixin:
    """A prefixed, time-sortable string primary key; callers may pass their own (deterministic) id."""

    __id_prefix__: ClassVar[str]
    __entity_name__: ClassVar[str]

    @declared_attr
    def id(cls) -> Mapped[str]:
        prefix = cls.__id_prefix__
        return mapped_column(String(64), primary_key=True, default=lambda: new_id(prefix), sort_order=-100)


class AuditMixin:
    status: Mapped[str] = mapped_column(String(20), default="published", server_default="published")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ScopedModel(IdMixin, AuditMixin, Base):
    """A row owned by one tenant and environment; only ever read and written through a ``Repository``.

    ``__entity_ref__`` names a polymorphic (entity_type, entity_id) pair the repository checks
    against ``ENTITY_TYPES`` (the row must exist in the same scope).
    """

    __abstract__ = True
    __entity_ref__: ClassVar[tuple[str, str] | None] = None

    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"), sort_order=-90)
    environment_id: Mapped[str] = mapped_column(String(64), ForeignKey("environments.id"), sort_order=-80)


def scope_index(table: str) -> Index:
    """The (tenant_id, environment_id, status) index every scoped list query uses."""
    return Index(f"ix_{table}_scope", "tenant_id", "environment_id", "status")


def unique_in_scope(table: str, *columns: str, name: str | None = None, where: str = LIVE_ROWS) -> Index:
    """A unique index on ``columns`` per tenant + environment among live rows.

    ``info["field"]`` is what a ``Conflict`` reports when the index is violated.
    """
    return Index(
        name or f"uq_{table}_{'_'.join(columns)}",
        "tenant_id",
        "environment_id",
        *columns,
        unique=True,
        sqlite_where=text(where),
        postgresql_where=text(where),
        info={"field": ",".join(columns)},
    )


def ref(table: str) -> ForeignKey:
    """A foreign key to another scoped table (the repository also checks it lies in the same scope)."""
    return ForeignKey(f"{table}.id")


Metadata = Mapped[dict[str, Any]]


def metadata_column() -> Mapped[dict[str, Any]]:
    """Flexprice's free-form ``metadata`` (string → string by convention)."""
    return mapped_column("metadata", JSONType, default=dict)
