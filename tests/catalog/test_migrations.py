from __future__ import annotations

from sqlalchemy import inspect

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.models import Base
from flexprice_pipelines.catalog.models.webhooks import WEBHOOK_MODELS
from flexprice_pipelines.integrations.stripe.tables import integration_metadata
from flexprice_pipelines.usage.tables import usage_metadata


def _tables(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(database_url: str, fresh_database_url: str) -> None:
    expected = set(Base.metadata.tables)
    assert len(expected) == 25 + len(WEBHOOK_MODELS)
    expected |= set(usage_metadata.tables) | set(integration_metadata.tables)

    db.migrate(fresh_database_url)
    assert _tables(fresh_database_url) == expected | {"alembic_version"}

    db.downgrade(fresh_database_url, "base")
    assert _tables(fresh_database_url) <= {"alembic_version"}

    db.migrate(fresh_database_url)
    assert _tables(fresh_database_url) == expected | {"alembic_version"}
    engine = db.make_engine(fresh_database_url)
    try:
        assert db.current_revision(engine) == db.head_revision() == "0008"
    finally:
        engine.dispose()


def test_migrated_schema_matches_models(database_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    """Autogenerate finds nothing to do: the shipped migration and the models agree on this engine."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = compare_metadata(context, [Base.metadata, usage_metadata, integration_metadata])
    assert diff == []


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()


def test_postgres_urls_use_psycopg3() -> None:
    assert db.normalize_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalize_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert db.normalize_url("sqlite:///x.db") == "sqlite:///x.db"
