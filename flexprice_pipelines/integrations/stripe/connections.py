"""Per-(tenant, environment) Stripe connection: the API key the sync uses and the webhook secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.integrations.stripe.tables import connections

PROVIDER = "stripe"


@dataclass(frozen=True, slots=True)
class StripeConnection:
    """A scope's Stripe account: ``secret_key`` for the API, ``webhook_secret`` (``whsec_…``) for events."""

    scope: Scope
    secret_key: str | None
    webhook_secret: str | None


def _where(scope: Scope) -> list[object]:
    return [
        connections.c.tenant_id == scope.tenant_id,
        connections.c.environment_id == scope.environment_id,
        connections.c.provider_type == PROVIDER,
    ]


def get_connection(session: Session, scope: Scope) -> StripeConnection | None:
    """The scope's Stripe connection, or None when Stripe is not configured for it."""
    row = session.execute(
        select(connections.c.secret_key, connections.c.webhook_secret).where(*_where(scope))  # type: ignore[arg-type]
    ).one_or_none()
    if row is None:
        return None
    return StripeConnection(scope=scope, secret_key=row.secret_key, webhook_secret=row.webhook_secret)


def save_connection(
    session: Session,
    scope: Scope,
    *,
    now: datetime,
    secret_key: str | None = None,
    webhook_secret: str | None = None,
) -> StripeConnection:
    """Create or replace the scope's Stripe connection (the caller commits)."""
    values = {"secret_key": secret_key, "webhook_secret": webhook_secret, "updated_at": now}
    done = session.execute(update(connections).where(*_where(scope)).values(**values))  # type: ignore[arg-type]
    if done.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(
            connections.insert().values(
                tenant_id=scope.tenant_id,
                environment_id=scope.environment_id,
                provider_type=PROVIDER,
                created_at=now,
                **values,
            )
        )
    return StripeConnection(scope=scope, secret_key=secret_key, webhook_secret=webhook_secret)
