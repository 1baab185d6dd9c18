"""Secrets at rest (issue 11, item 3): the database holds Fernet tokens, never the secrets; keys
rotate without losing a row; the migration encrypts rows stored in plain text before it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from flexprice_pipelines.catalog import db, secrets
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.catalog.secrets import (
    SecretBox,
    SecretsNotConfigured,
    SecretUnreadable,
    looks_encrypted,
)
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.cli import app
from flexprice_pipelines.integrations.stripe.connections import get_connection, save_connection
from flexprice_pipelines.integrations.webhooks import WebhookEndpoint, generate_secret
from flexprice_pipelines.settings import Settings
from tests.catalog.conftest import create_pg_database, drop_pg_database

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
STRIPE_KEY = "sk_test_51PlaintextStripeKeyThatMustNeverBeStored"
STRIPE_WHSEC = "whsec_plaintextStripeWebhookSecret"
runner = CliRunner()


def _scope(factory: sessionmaker[Session], name: str) -> Scope:
    with factory() as session:
        tenant, env, _ = create_tenant(session, name)
        session.commit()
    return Scope(tenant.id, env.id)


def _store(factory: sessionmaker[Session], scope: Scope) -> tuple[str, str]:
    """An endpoint and a Stripe connection for ``scope``; the endpoint id and its secret."""
    secret = generate_secret()
    with factory() as session:
        endpoint = Repository(session, scope, WebhookEndpoint).create(
            url="https://billing.example.com/hooks",
            enabled_events=["invoice.update.finalized"],
            secret=secret,
        )
        save_connection(session, scope, now=NOW, secret_key=STRIPE_KEY, webhook_secret=STRIPE_WHSEC)
        session.commit()
        return endpoint.id, secret


def _raw(engine: Engine, scope: Scope, endpoint_id: str) -> list[str]:
    """The stored values, read as text with no decrypting type in between."""
    with engine.connect() as connection:
        secret = connection.execute(
            text("select secret from webhook_endpoints where id = :id"), {"id": endpoint_id}
        ).scalar_one()
        keys = connection.execute(
            text(
                "select secret_key, webhook_secret from integration_connections "
                "where tenant_id = :t and environment_id = :e and provider_type = 'stripe'"
            ),
            {"t": scope.tenant_id, "e": scope.environment_id},
        ).one()
    return [secret, *keys]


def test_the_database_holds_no_plaintext_secret(engine: Engine, factory: sessionmaker[Session]) -> None:
    scope = _scope(factory, "vault")
    endpoint_id, secret = _store(factory, scope)

    stored = _raw(engine, scope, endpoint_id)

    for value, plaintext in zip(stored, [secret, STRIPE_KEY, STRIPE_WHSEC], strict=True):
        assert plaintext not in value and plaintext.split("_", 1)[1] not in value
        assert looks_encrypted(value)
        assert secrets.secret_box().decrypt(value) == plaintext
    with factory() as session:
        assert Repository(session, scope, WebhookEndpoint).get(endpoint_id).secret == secret
        connection = get_connection(session, scope)
    assert connection is not None
    assert (connection.secret_key, connection.webhook_secret) == (STRIPE_KEY, STRIPE_WHSEC)


@pytest.fixture
def keys() -> Iterator[tuple[str, str]]:
    """An old and a new key; the old one is in use inside the test."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with secrets.using(SecretBox([old])):
        yield old, new


def test_rotation_keeps_old_rows_readable_and_re_encrypts_them(
    database_url: str, fresh_database_url: str, keys: tuple[str, str]
) -> None:
    # Its own database: the command rotates every row, and other tests' rows use another key.
    old, new = keys
    db.migrate(fresh_database_url)
    engine = db.make_engine(fresh_database_url)
    factory = db.session_factory(engine)
    try:
        scope = _scope(factory, "rotate")
        endpoint_id, secret = _store(factory, scope)
        before = _raw(engine, scope, endpoint_id)

        with secrets.using(SecretBox([new, old])):  # the new key first; old rows still open
            with factory() as session:
                assert Repository(session, scope, WebhookEndpoint).get(endpoint_id).secret == secret
            env = {"FLEXPRICE_DATABASE_URL": fresh_database_url, "FLEXPRICE_SECRET_KEYS": f"{new},{old}"}
            first = runner.invoke(app, ["secrets", "rotate"], env=env)
            again = runner.invoke(app, ["secrets", "rotate"], env=env)

        assert first.exit_code == 0, first.output
        assert first.output.splitlines() == [
            "integration_connections.secret_key: 1 secrets, 1 re-encrypted",
            "integration_connections.webhook_secret: 1 secrets, 1 re-encrypted",
            "webhook_endpoints.secret: 1 secrets, 1 re-encrypted",
            "done: 3 secrets re-encrypted with the primary key",
        ]
        after = _raw(engine, scope, endpoint_id)
        plaintexts = [secret, STRIPE_KEY, STRIPE_WHSEC]
        for token_before, token_after, plaintext in zip(before, after, plaintexts, strict=True):
            assert token_after != token_before
            assert SecretBox([new]).decrypt(token_after) == plaintext  # the new key alone opens it
            with pytest.raises(SecretUnreadable):
                SecretBox([old]).decrypt(token_after)
        assert again.exit_code == 0, again.output
        assert again.output.splitlines()[-1] == "done: 0 secrets re-encrypted with the primary key"
        assert _raw(engine, scope, endpoint_id) == after  # idempotent: nothing rewritten
        with secrets.using(SecretBox([new])), factory() as session:  # the old key can go now
            assert Repository(session, scope, WebhookEndpoint).get(endpoint_id).secret == secret
    finally:
        engine.dispose()


def test_a_dropped_key_is_an_error_not_garbage(factory: sessionmaker[Session], keys: tuple[str, str]) -> None:
    _, new = keys
    scope = _scope(factory, "dropped")
    endpoint_id, _ = _store(factory, scope)
    with secrets.using(SecretBox([new])), factory() as session, pytest.raises(SecretUnreadable):
        Repository(session, scope, WebhookEndpoint).get(endpoint_id)


@pytest.fixture
def migrated_to_0004(database_url: str, tmp_path: Path) -> Iterator[str]:
    """A fresh catalog at revision 0004 (secrets in plain text), on the session's engine."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'old.db'}"
        db.migrate(url, "0004")
        yield url
        return
    url = create_pg_database()
    try:
        db.migrate(url, "0004")
        yield url
    finally:
        drop_pg_database(url)


def test_the_migration_encrypts_plaintext_rows_and_scrubs_attempt_texts(migrated_to_0004: str) -> None:
    engine = db.make_engine(migrated_to_0004)
    secret = generate_secret()
    try:
        with db.session_factory(engine)() as session:
            tenant, env, _ = create_tenant(session, "legacy")
            session.commit()
        stamp = {"t": tenant.id, "e": env.id, "now": NOW.isoformat()}
        with engine.begin() as connection:
            connection.execute(
                text(
                    "insert into webhook_endpoints (id, tenant_id, environment_id, url, secret, enabled_events, "
                    "endpoint_status, metadata, status, created_at, updated_at) values ('whep_legacy', :t, :e, "
                    "'https://billing.example.com/hooks', :s, '[]', 'enabled', '{}', 'published', :now, :now)"
                ),
                {**stamp, "s": secret},
            )
            connection.execute(
                text(
                    "insert into integration_connections (tenant_id, environment_id, provider_type, secret_key, "
                    "webhook_secret, created_at, updated_at) values (:t, :e, 'stripe', :k, null, :now, :now)"
                ),
                {**stamp, "k": STRIPE_KEY},
            )
            connection.execute(
                text(
                    "insert into system_events (id, tenant_id, environment_id, event_type, payload, occurred_at, "
                    "idempotency_key, status, created_at, updated_at) values ('evt_legacy', :t, :e, "
                    "'invoice.finalized', '{}', :now, 'k', 'published', :now, :now)"
                ),
                stamp,
            )
            connection.execute(
                text(
                    "insert into webhook_deliveries (id, tenant_id, environment_id, event_id, endpoint_id, "
                    "event_type, delivery_status, attempts, last_status_code, last_error, status, created_at, "
                    "updated_at) values ('msg_legacy', :t, :e, 'evt_legacy', 'whep_legacy', 'invoice.finalized', "
                    "'pending', 2, 500, 'HTTP 500: {\"db_password\": \"hunter2\"}', 'published', :now, :now)"
                ),
                stamp,
            )
            for attempt, code, error in (
                (1, None, "ConnectError: internal.corp refused"),
                (2, 500, "HTTP 500: hunter2"),
            ):
                connection.execute(
                    text(
                        "insert into webhook_delivery_attempts (id, tenant_id, environment_id, delivery_id, "
                        "event_id, endpoint_id, attempt, attempted_at, status_code, error, duration_ms, status, "
                        "created_at, updated_at) values (:id, :t, :e, 'msg_legacy', 'evt_legacy', 'whep_legacy', "
                        ":n, :now, :code, :error, 1, 'published', :now, :now)"
                    ),
                    {**stamp, "id": f"whatt_{attempt}", "n": attempt, "code": code, "error": error},
                )

        db.migrate(migrated_to_0004)
        db.migrate(migrated_to_0004)  # a second run finds nothing left to do

        scope = Scope(tenant.id, env.id)
        stored = _raw(engine, scope, "whep_legacy")
        assert looks_encrypted(stored[0]) and secret not in stored[0]
        assert looks_encrypted(stored[1]) and STRIPE_KEY not in stored[1] and stored[2] is None
        with db.session_factory(engine)() as session:
            assert Repository(session, scope, WebhookEndpoint).get("whep_legacy").secret == secret
            assert get_connection(session, scope).secret_key == STRIPE_KEY  # type: ignore[union-attr]
        with engine.connect() as connection:
            errors = connection.execute(
                text("select error from webhook_delivery_attempts order by attempt")
            ).all()
            last = connection.execute(text("select last_error from webhook_deliveries")).scalar_one()
        assert [e for (e,) in errors] == ["request failed", "HTTP 500"] and last == "HTTP 500"

        db.downgrade(migrated_to_0004, "0004")  # the way back decrypts
        assert _raw(engine, scope, "whep_legacy")[:2] == [secret, STRIPE_KEY]
    finally:
        engine.dispose()


def test_init_writes_an_owner_only_key_file_that_settings_read(tmp_path: Path) -> None:
    home = tmp_path / "home"
    saved = os.environ.pop("FLEXPRICE_SECRET_KEYS")  # no key configured: the embedded default
    try:
        result = runner.invoke(app, ["init"], env={"FLEXPRICE_HOME": str(home)})
        assert result.exit_code == 0, result.output
        key_file = home / "secret.keys"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first = key_file.read_text()
        assert runner.invoke(app, ["init"], env={"FLEXPRICE_HOME": str(home)}).exit_code == 0
        assert key_file.read_text() == first  # never replaced: stored secrets need that key

        keys = Settings(home=home).resolved_secret_keys
        assert len(keys) == 1 and keys[0] in first
        SecretBox(keys).decrypt(SecretBox(keys).encrypt("x"))
        # The file is the embedded default's only: a PostgreSQL catalog needs the setting.
        assert Settings(home=home, database_url="postgresql://127.0.0.1/x").resolved_secret_keys == []
        refused = runner.invoke(
            app,
            ["init"],
            env={"FLEXPRICE_HOME": str(home), "FLEXPRICE_DATABASE_URL": "postgresql://127.0.0.1/x"},
        )
        assert refused.exit_code == 1 and "FLEXPRICE_SECRET_KEYS is required" in refused.output
    finally:
        os.environ["FLEXPRICE_SECRET_KEYS"] = saved


def test_no_key_or_a_bad_key_is_a_clear_error() -> None:
    with pytest.raises(SecretsNotConfigured, match="FLEXPRICE_SECRET_KEYS"):
        SecretBox([])
    with pytest.raises(SecretsNotConfigured, match="not a Fernet key"):
        SecretBox(["not-a-key"])
    assert not looks_encrypted(STRIPE_KEY) and not looks_encrypted(generate_secret())
