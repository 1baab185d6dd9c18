"""Alembic environment: always driven programmatically by ``catalog.db.migrate`` with a live connection."""

from __future__ import annotations

from alembic import context

from flexprice_pipelines.catalog.models import Base
from flexprice_pipelines.integrations.stripe.tables import integration_metadata
from flexprice_pipelines.usage.tables import usage_metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through flexprice_pipelines.catalog.db.migrate(url)")

context.configure(
    connection=connection,
    # The usage read model's tables live in the catalog database too (usage/tables.py).
    target_metadata=[Base.metadata, usage_metadata, integration_metadata],
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
