"""``dispose_engines``: a catalog replaced under the same URL is read afresh, not through stale pooled connections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from flexprice_pipelines.defs.resources import CatalogResource, dispose_engines


def _new_catalog(path: Path, marker: str) -> None:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("create table marker (value text)")
        conn.execute("insert into marker values (?)", (marker,))


def _marker(catalog: CatalogResource) -> str:
    with catalog.read() as session:
        return str(session.execute(text("select value from marker")).scalar_one())


def test_dispose_engines_drops_pooled_connections_to_a_replaced_database(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    catalog = CatalogResource(database_url=f"sqlite:///{path}")
    dispose_engines()
    _new_catalog(path, "old")
    assert _marker(catalog) == "old"
    engine = catalog.sessions().kw["bind"]
    assert catalog.sessions().kw["bind"] is engine  # cached per URL

    _new_catalog(path, "new")  # what the demo does when it wipes its home
    assert dispose_engines() == 1
    assert catalog.sessions().kw["bind"] is not engine
    assert _marker(catalog) == "new"
    assert dispose_engines() == 1 and dispose_engines() == 0
