"""Alembic environment: always driven programmatically by ``catalog.db.migrate`` with a live connection."""

from __future__ import annotations

from alembic import context

from flexprice_pipelines.catalog.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through flexprice_pipelines.catalog.db.migrate(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
