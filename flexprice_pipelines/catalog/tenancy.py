"""Tenants, environments and API keys: creating them and turning an API key into a ``Scope``.

Only the SHA-256 of a key is stored; the plaintext is returned once, at creation. Tenant and
environment rows are the roots of scoping, so this module (not a ``Repository``) manages them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.errors import InvalidArgument, NotFound
from flexprice_pipelines.catalog.key_revocations import announce_key_change
from flexprice_pipelines.catalog.models import ApiKey, Environment, Tenant, TenantSettings, utcnow
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope

KEY_PREFIX = "fp_"
DEFAULT_ENVIRONMENT = "production"


class TenantCreated(NamedTuple):
    tenant: Tenant
    environment: Environment
    api_key: str


class ApiKeyCreated(NamedTuple):
    key: ApiKey
    plaintext: str


def hash_api_key(plaintext: str) -> str:
    """The stored form of an API key (hex SHA-256)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_tenant(
    session: Session, name: str, *, environment: str = DEFAULT_ENVIRONMENT, now: datetime | None = None
) -> TenantCreated:
    """Create a tenant with one environment, default settings and a first API key (plaintext returned once).

    Settings defaults: invoice prefix ``INV``, 2 hours grace period, time zone ``UTC``. The caller commits.
    """
    name = name.strip()
    if not name:
        raise InvalidArgument("must not be empty", field="name")
    at = now or utcnow()
    tenant = Tenant(name=name, created_at=at, updated_at=at)
    session.add(tenant)
    session.flush()
    env = create_environment(session, tenant.id, environment, now=at)
    scope = Scope(tenant.id, env.id)
    settings = TenantSettings(tenant_id=tenant.id, environment_id=env.id, created_at=at, updated_at=at)
    session.add(settings)
    created = create_api_key(session, scope, name="default", now=at)
    return TenantCreated(tenant, env, created.plaintext)


def create_environment(
    session: Session, tenant_id: str, name: str, *, now: datetime | None = None
) -> Environment:
    """Add an environment (e.g. ``development``) to a tenant."""
    name = name.strip()
    if not name:
        raise InvalidArgument("must not be empty", field="environment")
    at = now or utcnow()
    kind = "production" if name == "production" else "development"
    env = Environment(tenant_id=tenant_id, name=name, type=kind, created_at=at, updated_at=at)
    session.add(env)
    session.flush()
    return env


def find_scope(session: Session, tenant: str, environment: str = DEFAULT_ENVIRONMENT) -> Scope:
    """The scope for a tenant and environment given by id or by name (``NotFound`` naming which one)."""
    found = session.scalars(
        select(Tenant).where((Tenant.id == tenant) | (Tenant.name == tenant), Tenant.status == "published")
    ).all()
    if not found:
        raise NotFound("tenant", tenant, field="tenant")
    if len(found) > 1:
        raise InvalidArgument(f"{tenant!r} names several tenants; pass the tenant id", field="tenant")
    env = session.scalars(
        select(Environment).where(
            Environment.tenant_id == found[0].id,
            (Environment.id == environment) | (Environment.name == environment),
            Environment.status == "published",
        )
    ).first()
    if env is None:
        raise NotFound("environment", environment, field="environment")
    return Scope(found[0].id, env.id)


def tenant_scopes(session: Session, tenant_id: str) -> list[Scope]:
    """Every live environment of the tenant, each as its own scope (a tenant partition bills them all)."""
    envs = session.scalars(
        select(Environment.id)
        .where(Environment.tenant_id == tenant_id, Environment.status == "published")
        .order_by(Environment.id)
    ).all()
    return [Scope(tenant_id, env_id) for env_id in envs]


def create_api_key(
    session: Session, scope: Scope, *, name: str = "default", now: datetime | None = None
) -> ApiKeyCreated:
    """A new API key for ``scope``; the plaintext is in the result and nowhere else."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    at = now or utcnow()
    key = Repository(session, scope, ApiKey).create(
        name=name, key_hash=hash_api_key(plaintext), key_prefix=plaintext[:10], created_by=None
    )
    key.created_at = key.updated_at = at
    return ApiKeyCreated(key, plaintext)


def revoke_api_key(
    session: Session, key_id: str, *, scope: Scope | None = None, now: datetime | None = None
) -> ApiKey:
    """Revoke a key by id (within ``scope`` when given); revoking twice keeps the first time."""
    statement = select(ApiKey).where(ApiKey.id == key_id)
    if scope is not None:
        statement = statement.where(
            ApiKey.tenant_id == scope.tenant_id, ApiKey.environment_id == scope.environment_id
        )
    key = session.scalars(statement).one_or_none()
    if key is None:
        raise NotFound("api key", key_id, field="key_id")
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        key.status = "archived"
        announce_key_change(session)  # API processes drop their cached scopes once this commits
    session.flush()
    return key


def resolve_api_key(session: Session, plaintext: str) -> Scope | None:
    """The scope an API key grants, or None for unknown, revoked or orphaned keys."""
    if not plaintext:
        return None
    statement = (
        select(ApiKey.tenant_id, ApiKey.environment_id)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .join(Environment, Environment.id == ApiKey.environment_id)
        .where(
            ApiKey.key_hash == hash_api_key(plaintext),
            ApiKey.revoked_at.is_(None),
            ApiKey.status == "published",
            Tenant.status == "published",
            Environment.status == "published",
        )
    )
    row = session.execute(statement).first()
    return Scope(row.tenant_id, row.environment_id) if row else None
