"""Reads of the read model: one window's usage (a primary-key lookup), and closed billing windows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.meters import Meter
from flexprice_pipelines.billing.periods import BillingWindow
from flexprice_pipelines.catalog import Scope
from flexprice_pipelines.usage import store
from flexprice_pipelines.usage.state import fold, usage
from flexprice_pipelines.usage.tables import windows


def window_usage(
    session: Session,
    scope: Scope,
    external_customer_id: str,
    meter_id: str,
    meter: Meter,
    window: BillingWindow,
) -> Decimal | None:
    """The meter's usage in ``window`` (``billing.meters.aggregate`` semantics: None = no usage).

    A tracked window is one row read. A window the updater has not seen yet (a subscription created
    after the customer's last event) is folded from the per-event rows, without writing: the next
    event of the customer creates the row.
    """
    key = (external_customer_id, meter_id, window.start, window.end)
    row = store.get_window(session, scope, key)
    if row is not None:
        return usage(meter, store.window_state(row))
    events = store.window_events(session, scope, external_customer_id, meter_id, window.start, window.end)
    return usage(meter, fold(meter, window.start, window.end, events))


@dataclass(frozen=True, slots=True)
class WindowUsage:
    """One (customer, meter, window) quantity, as compared with ``fct_period_usage``."""

    external_customer_id: str
    meter_id: str
    window_start: datetime
    window_end: datetime
    usage: Decimal | None


def closed_billing_windows(
    session: Session,
    scope: Scope,
    meters: dict[str, Meter],
    *,
    ending_from: datetime,
    ending_before: datetime,
) -> Iterator[WindowUsage]:
    """Usage of every tracked billing window of the scope with ``ending_from <= window_end < ending_before``
    (pass an upper bound in the past: only closed windows are final)."""
    statement = select(windows).where(
        windows.c.tenant_id == scope.tenant_id,
        windows.c.environment_id == scope.environment_id,
        windows.c.is_billing_window.is_(True),
        windows.c.window_end >= ending_from,
        windows.c.window_end < ending_before,
    )
    for row in session.execute(statement):
        meter = meters.get(row.meter_id)
        if meter is None:
            continue
        yield WindowUsage(
            row.external_customer_id,
            row.meter_id,
            row.window_start,
            row.window_end,
            usage(meter, store.window_state(row)),
        )
