"""webhooks: endpoint subscriptions take Flexprice's event names

Outbound webhook events now carry Flexprice's names (``invoice.update.finalized`` …), so every
stored endpoint's ``enabled_events`` is rewritten old → new; a name already new is kept, order is
kept and duplicates collapse. Recorded events and their deliveries are history and keep the name
they were recorded under (their retries send the body they were first sent with). The downgrade
maps the names back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 20:30:00
"""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Frozen here: the migration must not follow later changes to the application's constants.
RENAMES = {
    "invoice.finalized": "invoice.update.finalized",
    "invoice.voided": "invoice.update.voided",
    "invoice.payment_status_changed": "invoice.update.payment",
}

endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.String()),
    sa.column("enabled_events", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
)


def _rename(mapping: dict[str, str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(endpoints.c.id, endpoints.c.enabled_events)).all()
    for endpoint_id, events in rows:
        stored = [str(e) for e in cast(list[object], events or [])]
        renamed = list(dict.fromkeys(mapping.get(e, e) for e in stored))
        if renamed != stored:
            connection.execute(
                endpoints.update().where(endpoints.c.id == endpoint_id).values(enabled_events=renamed)
            )


def upgrade() -> None:
    _rename(RENAMES)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMES.items()})
