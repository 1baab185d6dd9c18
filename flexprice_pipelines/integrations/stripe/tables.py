"""Integration tables in the catalog database (created by catalog migration 0003).

Core tables on their own ``MetaData``, like the usage read model: they are written with plain
statements by the sync and the webhook route, never through the scoped ``Repository``.
"""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table

from flexprice_pipelines.catalog.models.base import NAMING_CONVENTION
from flexprice_pipelines.catalog.secrets import EncryptedText
from flexprice_pipelines.catalog.types import UTCDateTime

integration_metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One provider account per (tenant, environment), as Flexprice's ``connections``. Secrets are stored
# encrypted with the keys from settings (``catalog/secrets.py``, migration 0005); they must stay
# decryptable, not hashed: the API key is sent to Stripe and the webhook secret keys an HMAC.
connections = Table(
    "integration_connections",
    integration_metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment_id", String(64), primary_key=True),
    Column("provider_type", String(30), primary_key=True),
    Column("secret_key", EncryptedText(), nullable=True),
    Column("webhook_secret", EncryptedText(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Every provider event applied once: the primary key makes a redelivered event id a no-op, also
# when two deliveries race.
webhook_events = Table(
    "integration_webhook_events",
    integration_metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("environment_id", String(64), primary_key=True),
    Column("provider_type", String(30), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("invoice_id", String(64), nullable=True),
    Column("outcome", String(30), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)
