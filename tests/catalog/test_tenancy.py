from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog import InvalidArgument, NotFound, Repository, Scope
from flexprice_pipelines.catalog.models import ApiKey, TenantSettings
from flexprice_pipelines.catalog.tenancy import (
    create_api_key,
    create_tenant,
    find_scope,
    resolve_api_key,
    revoke_api_key,
)

pytestmark = pytest.mark.usefixtures("database_url")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_create_tenant_makes_environment_settings_and_key(session: Session) -> None:
    tenant, environment, plaintext = create_tenant(session, "  Acme Billing  ", now=NOW)
    session.commit()
    scope = Scope(tenant.id, environment.id)

    assert tenant.id.startswith("tenant_") and tenant.name == "Acme Billing"
    assert environment.name == "production"
    settings = Repository(session, scope, TenantSettings).find_one()
    assert settings is not None
    assert (settings.invoice_prefix, settings.grace_period_minutes, settings.timezone) == ("INV", 120, "UTC")
    assert resolve_api_key(session, plaintext) == scope

    stored = session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant.id)).one()
    assert stored.key_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in {stored.key_hash, stored.key_prefix, stored.name}


def test_api_keys_create_resolve_revoke(session: Session, scope: Scope, other_scope: Scope) -> None:
    created = create_api_key(session, scope, name="ci", now=NOW)
    session.commit()
    assert resolve_api_key(session, created.plaintext) == scope
    assert resolve_api_key(session, created.plaintext + "x") is None
    assert resolve_api_key(session, "") is None

    with pytest.raises(NotFound):
        revoke_api_key(session, created.key.id, scope=other_scope)
    revoked = revoke_api_key(session, created.key.id, now=NOW)
    session.commit()
    assert revoked.revoked_at == NOW
    assert resolve_api_key(session, created.plaintext) is None
    with pytest.raises(NotFound) as excinfo:
        revoke_api_key(session, "key_missing")
    assert excinfo.value.field == "key_id"


def test_find_scope_by_id_or_name(session: Session) -> None:
    tenant, environment, _ = create_tenant(session, "Findable Ltd")
    session.commit()
    assert find_scope(session, tenant.id) == Scope(tenant.id, environment.id)
    assert find_scope(session, "Findable Ltd", environment.id) == Scope(tenant.id, environment.id)
    with pytest.raises(NotFound) as excinfo:
        find_scope(session, tenant.id, "staging")
    assert excinfo.value.field == "environment"
    create_tenant(session, "Findable Ltd")
    session.commit()
    with pytest.raises(InvalidArgument) as ambiguous:
        find_scope(session, "Findable Ltd")
    assert ambiguous.value.field == "tenant"


def test_tenant_name_required(session: Session) -> None:
    with pytest.raises(InvalidArgument) as excinfo:
        create_tenant(session, "   ")
    assert excinfo.value.field == "name"
