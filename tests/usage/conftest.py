"""Usage read-model fixtures: the catalog test databases (SQLite and PostgreSQL) and a seeded tenant."""

from __future__ import annotations

from tests.catalog.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    database_url,
    engine,
    factory,
    other_scope,
    pg_ready,
    scope,
    session,
)
