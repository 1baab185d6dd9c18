"""The one place that scopes catalog reads and writes to a tenant + environment.

Every query built here filters on ``tenant_id`` and ``environment_id``; every insert is stamped with
them; every foreign key a caller sets must point at a row of the same scope. A row of another scope
is reported as ``NotFound``, exactly like a missing one, so ids never leak across tenants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, UniqueConstraint, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.errors import Conflict, InvalidArgument, NotFound
from flexprice_pipelines.catalog.models import ENTITY_TYPES, Base, ScopedModel
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.catalog.sums import exact_sum

M = TypeVar("M", bound=ScopedModel)

MAX_LIMIT = 1000
# Set by the store itself, never by callers.
_PROTECTED = frozenset({"id", "tenant_id", "environment_id", "created_at", "updated_at"})
_SCOPE_COLUMNS = frozenset({"tenant_id", "environment_id", "status"})


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a list: ``items`` plus the ``total`` number of matching rows."""

    items: list[M]
    total: int
    limit: int
    offset: int


def _attribute(name: str) -> str:
    # ``metadata`` is reserved by SQLAlchemy's declarative classes; the attribute is ``metadata_``.
    return "metadata_" if name == "metadata" else name


class Repository(Generic[M]):
    """Scoped CRUD for one model: ``Repository(session, scope, Customer)``.

    Writes flush inside a savepoint, so a ``Conflict`` leaves the caller's transaction usable; the
    caller commits. Soft-deleted rows (``status == "deleted"``) are invisible unless asked for.
    """

    def __init__(self, session: Session, scope: Scope, model: type[M]) -> None:
        if not issubclass(model, ScopedModel):
            raise TypeError(f"{model.__name__} is not a tenant-scoped model")
        self.session = session
        self.scope = scope
        self.model = model
        self._columns = {attr.key for attr in inspect(model).column_attrs}

    # -- reads -----------------------------------------------------------------------------------

    def select(self, *, include_deleted: bool = False) -> Select[M]:
        """A ``SELECT`` of this model already confined to the scope, to refine for custom queries."""
        statement = select(self.model).where(
            self.model.tenant_id == self.scope.tenant_id,
            self.model.environment_id == self.scope.environment_id,
        )
        if not include_deleted:
            statement = statement.where(self.model.status != "deleted")
        return statement

    def get(self, id: str, *, for_update: bool = False) -> M:
        """The row with ``id`` in this scope, else ``NotFound``; ``for_update`` row-locks it (Postgres)."""
        statement = self.select().where(self.model.id == id)
        if for_update:
            # Refresh an already-loaded row too: a stale balance read before the lock means a lost update.
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row = self.session.scalars(statement).one_or_none()
        if row is None:
            raise NotFound(self.model.__entity_name__, id)
        return row

    def find_one(self, **filters: Any) -> M | None:
        """The first live row matching the equality ``filters``, or None."""
        statement = self._filtered(self.select(), filters).order_by(self.model.id).limit(1)
        return self.session.scalars(statement).first()

    def list(
        self,
        *where: ColumnElement[bool],
        limit: int = 50,
        offset: int = 0,
        newest_first: bool = False,
        include_deleted: bool = False,
        **filters: Any,
    ) -> Page[M]:
        """A page of rows matching ``filters`` (column=value, or column=[values] for IN) and ``where``,
        ordered by id.

        Ids sort by creation time, so the default order is oldest first.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgument(f"must be between 1 and {MAX_LIMIT}", field="limit")
        if offset < 0:
            raise InvalidArgument("must not be negative", field="offset")
        statement = self._filtered(self.select(include_deleted=include_deleted), filters).where(*where)
        total = self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
        order = self.model.id.desc() if newest_first else self.model.id.asc()
        items = self.session.scalars(statement.order_by(order).limit(limit).offset(offset)).all()
        return Page(items=list(items), total=total, limit=limit, offset=offset)

    def each(self, *where: ColumnElement[bool], batch: int = MAX_LIMIT, **filters: Any) -> Iterator[M]:
        """Every live row matching ``filters`` and ``where``, ordered by id: never cut at a page.

        One query, streamed ``batch`` rows at a time (a server-side cursor on PostgreSQL), for the
        children of a page of parents (``each(invoice_id=[...])``) or any list used as complete.
        """
        statement = self._filtered(self.select(), filters).where(*where).order_by(self.model.id)
        yield from self.session.scalars(statement.execution_options(yield_per=batch))

    def total(self, column: str, *where: ColumnElement[bool], **filters: Any) -> Decimal:
        """The exact sum of a decimal ``column`` over the live rows matching, computed in SQL (0 if none)."""
        attr = _attribute(column)
        if attr not in self._columns:
            raise InvalidArgument(f"{self.model.__entity_name__} has no field {column!r}", field=column)
        statement = self._filtered(self.select(), filters).where(*where)
        value = self.session.scalar(statement.with_only_columns(exact_sum(getattr(self.model, attr))))
        return Decimal(0) if value is None else value

    # -- writes ----------------------------------------------------------------------------------

    def create(self, **values: Any) -> M:
        """Insert a row stamped with the scope; ``id`` may be given (deterministic ids), else generated."""
        given_id = values.pop("id", None)
        attrs = self._checked_values(values)
        for column in self.model.__table__.columns:
            # Apply scalar defaults now rather than at flush, so reference checks see them.
            key = _attribute(column.key)
            if key not in attrs and column.default is not None and column.default.is_scalar:
                attrs[key] = column.default.arg
        row = self.model(**attrs, tenant_id=self.scope.tenant_id, environment_id=self.scope.environment_id)
        if given_id is not None:
            row.id = given_id
        self._check_references(row)
        self._flush(row)
        return row

    def update(self, target: str | M, **values: Any) -> M:
        """Change the given columns of a row of this scope (``target`` is an id or a loaded row)."""
        row = self.get(target) if isinstance(target, str) else self._own(target)
        for name, value in self._checked_values(values).items():
            setattr(row, name, value)
        self._check_references(row)
        self._flush(row)
        return row

    def delete(self, target: str | M, *, hard: bool = False) -> None:
        """Soft delete (``status = "deleted"``, as Flexprice does) or, with ``hard``, remove the row."""
        row = self.get(target) if isinstance(target, str) else self._own(target)
        if hard:
            try:
                with self.session.begin_nested():
                    self.session.delete(row)
            except IntegrityError as exc:
                raise Conflict("id", f"{self.model.__entity_name__} {row.id!r} is still referenced") from exc
        else:
            self.update(row, status="deleted")

    # -- helpers ---------------------------------------------------------------------------------

    def _own(self, row: M) -> M:
        if (
            not isinstance(row, self.model)
            or row.tenant_id != self.scope.tenant_id
            or row.environment_id != self.scope.environment_id
        ):
            raise NotFound(self.model.__entity_name__, getattr(row, "id", "?"))
        return row

    def _checked_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for name, value in values.items():
            attr = _attribute(name)
            if name in _PROTECTED:
                raise InvalidArgument("is set by the store and cannot be written", field=name)
            if attr not in self._columns:
                raise InvalidArgument(f"{self.model.__entity_name__} has no field {name!r}", field=name)
            attrs[attr] = value
        return attrs

    def _filtered(self, statement: Select[M], filters: Mapping[str, Any]) -> Select[M]:
        for name, value in filters.items():
            attr = _attribute(name)
            if attr not in self._columns or attr in {"tenant_id", "environment_id"}:
                raise InvalidArgument(f"cannot filter {self.model.__entity_name__} by {name!r}", field=name)
            column = getattr(self.model, attr)
            if isinstance(value, list | tuple | set | frozenset):
                statement = statement.where(column.in_(list(value)))
            elif value is None:
                statement = statement.where(column.is_(None))
            else:
                statement = statement.where(column == value)
        return statement

    def _check_references(self, row: M) -> None:
        """Every id the row points at must exist, live, in the same scope (else ``NotFound``)."""
        with self.session.no_autoflush:
            self._check_foreign_keys(row)

    def _check_foreign_keys(self, row: M) -> None:
        for column in self.model.__table__.columns:
            if column.name in _SCOPE_COLUMNS:
                continue
            for foreign_key in column.foreign_keys:
                target = _model_for_table(foreign_key.column.table.name)
                value = getattr(row, _attribute(column.key))
                if value is not None and target is not None and not self._exists(target, value):
                    raise NotFound(target.__entity_name__, value, field=column.name)
        if self.model.__entity_ref__ is not None:
            type_field, id_field = self.model.__entity_ref__
            entity_type, entity_id = getattr(row, type_field), getattr(row, id_field)
            target = ENTITY_TYPES.get(str(entity_type).upper()) if entity_type else None
            if target is not None and entity_id is not None and not self._exists(target, entity_id):
                raise NotFound(target.__entity_name__, entity_id, field=id_field)

    def _exists(self, target: type[ScopedModel], id: str) -> bool:
        statement = (
            select(target.id)
            .where(
                target.id == id,
                target.tenant_id == self.scope.tenant_id,
                target.environment_id == self.scope.environment_id,
                target.status != "deleted",
            )
            .limit(1)
        )
        return self.session.scalar(statement) is not None

    def _flush(self, row: M) -> None:
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError as exc:
            raise integrity_error(exc, str(self.model.__tablename__)) from exc


class CatalogSession:
    """A SQLAlchemy session bound to one scope: ``catalog.repo(Customer).get(id)``."""

    def __init__(self, session: Session, scope: Scope) -> None:
        self.session = session
        self.scope = scope

    def repo(self, model: type[M]) -> Repository[M]:
        """The scoped repository for ``model``."""
        return Repository(self.session, self.scope, model)

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()


def _model_for_table(table: str) -> type[ScopedModel] | None:
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__tablename__", None) == table and issubclass(cls, ScopedModel):
            return cls
    return None


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?:index '(?P<index>[^']+)'|(?P<columns>.+))")
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: \w+\.(?P<column>\w+)")


def integrity_error(exc: IntegrityError, table: str) -> Exception:
    """Translate a database integrity error into ``Conflict`` / ``InvalidArgument`` naming the field."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    message = str(orig)
    if diag is not None:  # psycopg: the server tells us which constraint or column
        sqlstate = getattr(orig, "sqlstate", None)
        if sqlstate == "23505":
            return Conflict(_unique_field(diag.constraint_name, [], table))
        if sqlstate == "23502":
            return InvalidArgument("is required", field=diag.column_name)
    if match := _SQLITE_UNIQUE.search(message):
        columns = [
            part.strip().split(".")[-1] for part in (match["columns"] or "").split(",") if part.strip()
        ]
        return Conflict(_unique_field(match["index"], columns, table))
    if match := _SQLITE_NOT_NULL.search(message):
        return InvalidArgument("is required", field=match["column"])
    return InvalidArgument(f"violates a database constraint: {message}")


def _unique_field(index_name: str | None, columns: Iterable[str], table: str) -> str:
    table_obj = Base.metadata.tables.get(table)
    if index_name and table_obj is not None:
        for index in table_obj.indexes:
            if index.name == index_name:
                return str(index.info.get("field") or _non_scope(c.name for c in index.columns))
        for constraint in table_obj.constraints:
            if constraint.name == index_name and isinstance(constraint, UniqueConstraint):
                return _non_scope(c.name for c in constraint.columns)
    return _non_scope(columns) or (index_name or "id")


def _non_scope(columns: Iterable[str]) -> str:
    return ",".join(c for c in columns if c not in _SCOPE_COLUMNS)
