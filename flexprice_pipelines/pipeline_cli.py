"""``flexprice bill`` and ``flexprice backfill``: materialize billing partitions from the command line.

The runs themselves are launched by ``defs/runs.py`` (``bill_partitions``), the Dagster side; this
module parses the options and prints what the runs billed.
"""

from __future__ import annotations

from decimal import Decimal

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import and_, or_

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.catalog.db import make_engine, session_factory
from flexprice_pipelines.catalog.models import Invoice
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.tenancy import find_scope, tenant_scopes
from flexprice_pipelines.defs.runs import bill_partitions
from flexprice_pipelines.settings import Settings

_NOW_HELP = "Freeze the pipeline clock (ISO 8601 with offset) to replay a past moment; default: now."
_ENGINE_HELP = "Usage from the dbt models ('dbt') or the in-process reference aggregation ('python')."


def months_between(first: YearMonth, last: YearMonth) -> list[YearMonth]:
    """Every month from ``first`` to ``last``, inclusive."""
    months = []
    current = first
    while (current.year, current.month) <= (last.year, last.month):
        months.append(current)
        current = YearMonth(current.year + (current.month == 12), current.month % 12 + 1)
    return months


def resolve_tenant(settings: Settings, tenant: str) -> str:
    """The tenant id for a tenant id or name."""
    with session_factory(make_engine(settings.resolved_database_url))() as session:
        return find_scope(session, tenant).tenant_id


def invoice_table(settings: Settings, tenant_id: str, month: YearMonth) -> Table:
    """The partition's invoices (every environment): cycle invoices of periods ending in ``month`` and
    creation invoices of subscriptions starting in it."""
    table = Table(
        "environment", "invoice", "number", "status", "reason", "period", "subtotal", "total", "currency"
    )
    with session_factory(make_engine(settings.resolved_database_url))() as session:
        for scope in tenant_scopes(session, tenant_id):
            rows = session.scalars(
                Repository(session, scope, Invoice)
                .select()
                .where(
                    or_(
                        and_(
                            Invoice.billing_reason != "SUBSCRIPTION_CREATE",
                            Invoice.period_end >= month.start,
                            Invoice.period_end < month.end,
                        ),
                        and_(
                            Invoice.billing_reason == "SUBSCRIPTION_CREATE",
                            Invoice.period_start >= month.start,
                            Invoice.period_start < month.end,
                        ),
                    )
                )
                .order_by(Invoice.period_end, Invoice.id)
            )
            for inv in rows:
                table.add_row(
                    scope.environment_id,
                    inv.id,
                    inv.invoice_number or "",
                    inv.invoice_status,
                    inv.billing_reason,
                    f"{inv.period_start:%Y-%m-%d} → {inv.period_end:%Y-%m-%d}"
                    if inv.period_start and inv.period_end
                    else "",
                    str(inv.subtotal),
                    str(inv.total),
                    inv.currency,
                )
    return table


def bill(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id or name."),
    period: str = typer.Option(..., "--period", help="Billing month YYYY-MM (the month periods end in)."),
    now: str | None = typer.Option(None, "--now", help=_NOW_HELP),
    engine: str = typer.Option("dbt", "--engine", help=_ENGINE_HELP),
) -> None:
    """Bill one (tenant, month) partition and print its invoices."""
    settings = Settings()
    tenant_id = resolve_tenant(settings, tenant)
    month = YearMonth.parse(period)
    [result] = bill_partitions(settings, tenant_id, [month], now=now, engine=engine)
    console = Console(width=200)
    console.print(invoice_table(settings, tenant_id, month))
    if not result.success:
        typer.echo(f"billing {period} failed; see run {result.run_id}", err=True)
        raise typer.Exit(1)


def backfill(
    tenant: str = typer.Option(..., "--tenant", help="Tenant id or name."),
    first: str = typer.Option(..., "--from", help="First month YYYY-MM."),
    last: str = typer.Option(..., "--to", help="Last month YYYY-MM (inclusive)."),
    now: str | None = typer.Option(None, "--now", help=_NOW_HELP),
    engine: str = typer.Option("dbt", "--engine", help=_ENGINE_HELP),
) -> None:
    """Bill every month of a range for one tenant, in order; safe to run again."""
    settings = Settings()
    tenant_id = resolve_tenant(settings, tenant)
    months = months_between(YearMonth.parse(first), YearMonth.parse(last))
    failed = 0
    total = Decimal(0)
    for month, result in zip(
        months, bill_partitions(settings, tenant_id, months, now=now, engine=engine), strict=True
    ):
        meta = result.asset_materializations_for_node("invoices") if result.success else []
        summary = {k: v.value for k, v in meta[0].metadata.items()} if meta else {}
        total += Decimal(str(summary.get("finalized_total", "0")))
        status = "ok" if result.success else f"FAILED (run {result.run_id})"
        failed += not result.success
        typer.echo(
            f"{month.key}: {status} finalized={summary.get('finalized', 0)} drafts={summary.get('drafts', 0)} "
            f"skipped={summary.get('skipped', 0)}"
        )
    typer.echo(f"{len(months) - failed}/{len(months)} months billed; finalized total this run {total}")
    if failed:
        raise typer.Exit(1)
