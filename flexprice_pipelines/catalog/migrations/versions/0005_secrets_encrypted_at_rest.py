"""secrets: encrypt stored secrets at rest, keep only bounded reasons in webhook attempts

Webhook signing secrets (``webhook_endpoints.secret``) and Stripe connection keys
(``integration_connections.secret_key`` / ``webhook_secret``) become Fernet tokens under the
primary key of ``FLEXPRICE_SECRET_KEYS`` (``catalog/secrets.py``); rows already encrypted are left
alone, so a re-run is a no-op. A database with no secret in it migrates without any key.

The attempt log kept up to 500 characters of whatever the endpoint answered; those are replaced by
the reason the drainer now records (``HTTP <status>`` or ``request failed``). The downgrade decrypts
the secrets again but cannot bring the response texts back (they are what must not be kept).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:30:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from flexprice_pipelines.catalog.secrets import looks_encrypted, secret_box

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# (table, primary-key columns, secret column): frozen here, as a migration must be.
SECRET_COLUMNS = (
    ("webhook_endpoints", ("id",), "secret"),
    ("integration_connections", ("tenant_id", "environment_id", "provider_type"), "secret_key"),
    ("integration_connections", ("tenant_id", "environment_id", "provider_type"), "webhook_secret"),
)


def _rewrite(convert: Callable[[str], str | None]) -> None:
    """Replace every stored secret ``v`` with ``convert(v)`` (None: leave the row as it is)."""
    bind = op.get_bind()
    for table_name, keys, column in SECRET_COLUMNS:
        table = sa.table(table_name, *(sa.column(c) for c in (*keys, column)))
        rows = bind.execute(sa.select(table).where(table.c[column].is_not(None))).all()
        for row in rows:
            new = convert(row._mapping[column])
            if new is None:
                continue
            match = [table.c[k] == row._mapping[k] for k in keys]
            bind.execute(sa.update(table).where(*match).values({column: new}))


def _encrypt(value: str) -> str | None:
    return None if looks_encrypted(value) else secret_box().encrypt(value)


def _decrypt(value: str) -> str | None:
    return secret_box().decrypt(value) if looks_encrypted(value) else None


def _bounded_reasons() -> None:
    for table, code, error in (
        ("webhook_delivery_attempts", "status_code", "error"),
        ("webhook_deliveries", "last_status_code", "last_error"),
    ):
        op.execute(
            f"update {table} set {error} = 'HTTP ' || cast({code} as varchar(10)) "
            f"where {error} is not null and {code} is not null"
        )
        op.execute(
            f"update {table} set {error} = 'request failed' where {error} is not null and {code} is null"
        )


def _secret_type(old: sa.types.TypeEngine[str], new: sa.types.TypeEngine[str]) -> None:
    # SQLite ignores VARCHAR lengths, and a batch copy of webhook_endpoints would trip the foreign
    # keys of its deliveries: only PostgreSQL needs (and can take) the ALTER.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("webhook_endpoints", "secret", existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    # A Fernet token of a whsec_ secret is ~140 characters: wider than the old String(100).
    _secret_type(sa.String(length=100), sa.Text())
    _rewrite(_encrypt)
    _bounded_reasons()


def downgrade() -> None:
    _rewrite(_decrypt)
    _secret_type(sa.Text(), sa.String(length=100))
