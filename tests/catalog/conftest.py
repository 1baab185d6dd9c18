"""Every catalog test runs on SQLite and on the PostgreSQL server at 127.0.0.1:5432.

Each test session migrates one SQLite file and one fresh PostgreSQL database ``fp_test_<random>``
(dropped at the end). Tests isolate themselves by creating their own tenants, which the store's
scoping keeps apart — the same mechanism production relies on.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.catalog.tenancy import create_tenant

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _pg_admin() -> Engine:
    return create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")


def postgres_available() -> bool:
    engine = _pg_admin()
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def create_pg_database() -> str:
    """A new empty database on the local server; returns its URL."""
    name = f"fp_test_{secrets.token_hex(6)}"
    engine = _pg_admin()
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{PG_SERVER}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = _pg_admin()
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def pg_ready() -> None:
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (run scripts/ensure-postgres)")


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated catalog database for the whole session, one per engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('catalog') / 'catalog.db'}"
        db.migrate(url)
        yield url
        return
    request.getfixturevalue("pg_ready")
    url = create_pg_database()
    try:
        db.migrate(url)
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def factory(engine: Engine) -> sessionmaker[Session]:
    return db.session_factory(engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


def new_scope(factory: sessionmaker[Session], name: str = "tenant") -> Scope:
    """A freshly created tenant's production scope (committed)."""
    with factory() as session:
        tenant, environment, _key = create_tenant(session, f"{name}-{secrets.token_hex(4)}")
        session.commit()
        return Scope(tenant.id, environment.id)


@pytest.fixture
def scope(factory: sessionmaker[Session]) -> Scope:
    return new_scope(factory, "a")


@pytest.fixture
def other_scope(factory: sessionmaker[Session]) -> Scope:
    return new_scope(factory, "b")


@pytest.fixture
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty (unmigrated) database of the same engine as ``database_url``."""
    if request.node.callspec.params["database_url"] == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)
