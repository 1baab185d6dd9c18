"""Fixtures for catalog-as-code tests: the catalog store's SQLite + PostgreSQL databases
(``tests/catalog/conftest.py``: one migrated database per engine and session, a fresh tenant per
test). Helpers live in ``helpers.py``."""

from __future__ import annotations

from tests.catalog.conftest import (  # noqa: F401 — fixtures shared with the catalog store's tests
    database_url,
    engine,
    factory,
    other_scope,
    pg_ready,
    scope,
    session,
)
