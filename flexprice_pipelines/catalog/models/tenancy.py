"""Tenants, their environments, API keys and per-environment settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from flexprice_pipelines.catalog.models.base import (
    AuditMixin,
    Base,
    IdMixin,
    ScopedModel,
    scope_index,
)


class Tenant(IdMixin, AuditMixin, Base):
    __tablename__ = "tenants"
    __id_prefix__ = "tenant"
    __entity_name__ = "tenant"

    name: Mapped[str]


class Environment(IdMixin, AuditMixin, Base):
    __tablename__ = "environments"
    __id_prefix__ = "env"
    __entity_name__ = "environment"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_environments_tenant_id_name"),)

    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"))
    name: Mapped[str]
    # Flexprice's EnvironmentType: production | development.
    type: Mapped[str] = mapped_column(String(20), default="production")


class ApiKey(ScopedModel):
    """An API key; only the SHA-256 of the secret is stored, the plaintext is shown once at creation."""

    __tablename__ = "api_keys"
    __id_prefix__ = "key"
    __entity_name__ = "api key"
    __table_args__ = (scope_index("api_keys"), Index("uq_api_keys_key_hash", "key_hash", unique=True))

    name: Mapped[str]
    key_hash: Mapped[str] = mapped_column(String(64))
    # The first characters of the secret, so people can tell keys apart in listings.
    key_prefix: Mapped[str] = mapped_column(String(16))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class TenantSettings(ScopedModel):
    __tablename__ = "tenant_settings"
    __id_prefix__ = "tset"
    __entity_name__ = "tenant settings"
    __table_args__ = (UniqueConstraint("tenant_id", "environment_id", name="uq_tenant_settings_scope"),)

    invoice_prefix: Mapped[str] = mapped_column(String(20), default="INV")
    # Late events may still change a draft this long after its period ends (docs/billing-semantics.md §6).
    grace_period_minutes: Mapped[int] = mapped_column(Integer, default=120)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Event timestamp policy (§1): how far in the past / future an event may lie.
    event_max_past_days: Mapped[int] = mapped_column(Integer, default=35)
    event_max_future_minutes: Mapped[int] = mapped_column(Integer, default=5)
