from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import insert, inspect, text

from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.models import Base, Environment, Tenant
from flexprice_pipelines.catalog.models.webhooks import WEBHOOK_MODELS, WebhookEndpoint
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


def test_0007_renames_endpoint_subscriptions_to_flexprice_event_names(
    database_url: str, fresh_database_url: str
) -> None:
    db.migrate(fresh_database_url, "0006")
    engine = db.make_engine(fresh_database_url)
    stored = {
        "whep_old": ["invoice.finalized", "invoice.payment_status_changed", "subscription.cancelled"],
        "whep_mixed": ["invoice.voided", "invoice.update.voided", "invoice.update.finalized"],
    }
    try:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        audit = {"status": "published", "created_at": at, "updated_at": at}
        with engine.begin() as connection:
            connection.execute(insert(Tenant.__table__).values(id="t1", name="t1", **audit))
            connection.execute(
                insert(Environment.__table__).values(
                    id="e1", tenant_id="t1", name="e1", type="development", **audit
                )
            )
            for endpoint_id, events in stored.items():
                connection.execute(
                    insert(WebhookEndpoint.__table__).values(
                        id=endpoint_id,
                        tenant_id="t1",
                        environment_id="e1",
                        url="https://example.com/h",
                        secret="whsec_x",
                        enabled_events=events,
                        endpoint_status="enabled",
                        metadata={},
                        **audit,
                    )
                )

        def subscriptions() -> dict[str, list[str]]:
            with engine.connect() as connection:
                rows = connection.execute(text("SELECT id, enabled_events FROM webhook_endpoints")).all()
            return {i: e if isinstance(e, list) else json.loads(e) for i, e in rows}

        db.migrate(fresh_database_url)
        assert subscriptions() == {
            "whep_old": ["invoice.update.finalized", "invoice.update.payment", "subscription.cancelled"],
            "whep_mixed": ["invoice.update.voided", "invoice.update.finalized"],
        }
        db.downgrade(fresh_database_url, "0006")
        assert subscriptions()["whep_old"] == stored["whep_old"]
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
