"""Engines, sessions and migrations for the catalog database (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog.sums import register_sqlite
from flexprice_pipelines.settings import Settings

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Execution option that makes the next SQLite transaction take the write lock at BEGIN.
SQLITE_IMMEDIATE = "flexprice_sqlite_immediate"


def database_url(settings: Settings | None = None) -> str:
    """The catalog URL from settings (``FLEXPRICE_DATABASE_URL`` or the SQLite file under ``FLEXPRICE_HOME``)."""
    return (settings or Settings()).resolved_database_url


def normalize_url(url: str) -> str:
    """Pick psycopg 3 for plain ``postgresql://`` URLs (psycopg2 is only there for dagster-postgres)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys, a busy timeout and real transactions.

    pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; we switch it off and emit
    BEGIN ourselves (``BEGIN IMMEDIATE`` when a session asks for ``SQLITE_IMMEDIATE``).
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite(dbapi_connection)  # exact_sum: money is decimal text on SQLite

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (the API serializes rows after committing)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose transaction holds the write lock from the start, committed on success.

    Use it around ``ledger`` operations: on SQLite the transaction begins with ``BEGIN IMMEDIATE``
    (no read-then-upgrade ``SQLITE_BUSY``); on PostgreSQL the ledger takes ``FOR UPDATE`` row locks.
    """
    with factory() as session:
        session.connection(execution_options={SQLITE_IMMEDIATE: True})  # type: ignore[misc]
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _alembic_config(connection: Any) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (Alembic, run from the installed package)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), revision)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision`` (``base`` drops every catalog table)."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(_alembic_config(connection), revision)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None when never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest migration shipped with this package."""
    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
