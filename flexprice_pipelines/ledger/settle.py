"""Apply one environment's computed invoices to the ledger: rewrite drafts, finalize, or reissue.

Everything happens in the caller's transaction (one per environment). Invoices that touch no wallet
are written in bulk — one INSERT/UPDATE executemany for the invoices, one DELETE + INSERT for their
lines — and numbered from one sequence reservation per run; invoices whose customer has prepaid
credit take the per-invoice path (wallet lock, debit, then write). Every finalization (and every
void of a reissue) records its ``invoice.*`` system event in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.invoicing import InvoiceStatus
from flexprice_pipelines.billing.rating.assemble import InvoiceDraft, assemble_invoice
from flexprice_pipelines.catalog.models import Invoice
from flexprice_pipelines.ledger.invoices import (
    SettleSummary,
    emit_finalized,
    finalize,
    invoice_fields,
    invoice_lines,
    line_rows,
    live_invoices,
    natural_key,
    replace_lines,
    same_content,
    void_and_replace,
    wallet_credit,
)
from flexprice_pipelines.ledger.operations import reserve_invoice_numbers
from flexprice_pipelines.ledger.terms import EnvironmentTerms


def _settled(invoice: Invoice) -> bool:
    # A SKIPPED invoice past its grace period is settled too (finalized_at set, no number).
    return invoice.invoice_status == InvoiceStatus.FINALIZED.value or (
        invoice.invoice_status == InvoiceStatus.SKIPPED.value and invoice.finalized_at is not None
    )


def settle_environment(
    session: Session,
    env: EnvironmentTerms,
    drafts: list[InvoiceDraft],
    *,
    now: datetime,
    reissue: bool = False,
    reason: str | None = None,
) -> SettleSummary:
    """Write every draft of one environment in the caller's transaction; see ``ledger.invoices``."""
    scope = env.scope
    subs = {s.subscription_id: s for s in env.subscriptions}
    existing = live_invoices(session, scope, (natural_key(d) for d in drafts))
    with_credit = (
        set(wallet_credit(session, scope, now)) if any(d.period.finalizable for d in drafts) else set()
    )
    summary = SettleSummary()

    def recompute(d: InvoiceDraft, credit: Decimal) -> InvoiceDraft:
        # Finalization re-assembles with the wallet balance read under the lock.
        return assemble_invoice(d.period, subs[d.period.subscription_id], list(d.lines), credit)

    pending: list[InvoiceDraft] = []
    for draft in drafts:
        current = existing.get(natural_key(draft))
        if current is not None and _settled(current):
            _settled_invoice(session, env, draft, current, recompute, summary, now, reissue, reason)
        else:
            pending.append(draft)
    to_number = [
        d for d in pending if d.period.finalizable and d.status is InvoiceStatus.DRAFT
    ]  # zero subtotals settle as SKIPPED without a number
    month = now.astimezone(ZoneInfo(env.timezone)).strftime("%Y%m")
    numbers = dict(
        zip(
            (d.period.invoice_id for d in to_number),
            reserve_invoice_numbers(session, scope, env.invoice_prefix, month, len(to_number)),
            strict=True,
        )
    )
    bulk: list[tuple[InvoiceDraft, dict[str, Any]]] = []
    for draft in pending:
        sub = subs[draft.period.subscription_id]
        current = existing.get(natural_key(draft))
        number = numbers.get(draft.period.invoice_id)
        if draft.period.finalizable and (draft.customer_id, draft.currency) in with_credit:
            invoice = finalize(
                session,
                scope,
                draft,
                current,
                recompute,
                now=now,
                prefix=env.invoice_prefix,
                timezone=env.timezone,
                billing_period=sub.billing_period.value,
                plan_id=sub.plan_id,
                number=number,
            )
            _count(summary, invoice.invoice_status, invoice.invoice_number, invoice.total, final=True)
            continue
        fields = invoice_fields(draft, sub.billing_period.value)
        if draft.period.finalizable:
            fields["finalized_at"] = now
            if number is not None:
                fields["invoice_status"] = InvoiceStatus.FINALIZED.value
                fields["invoice_number"] = number
        bulk.append((draft, fields))
        _count(
            summary, fields["invoice_status"], number, draft.computation.total, final=draft.period.finalizable
        )
    emit_finalized(session, scope, _write_bulk(session, env, bulk, existing), now)
    return summary


def _count(summary: SettleSummary, status: str, number: str | None, total: Decimal, *, final: bool) -> None:
    if status == InvoiceStatus.FINALIZED.value:
        summary.finalized += 1
        summary.numbers.append(number or "")
        summary.total += total
    elif status == InvoiceStatus.SKIPPED.value:
        summary.skipped += 1
    elif not final:
        summary.drafts += 1


def _write_bulk(
    session: Session,
    env: EnvironmentTerms,
    bulk: list[tuple[InvoiceDraft, dict[str, Any]]],
    existing: dict[Any, Invoice],
) -> list[str]:
    """Insert new invoices, update existing drafts by primary key, and replace all their lines.

    Returns the ids of the invoices this write finalized.
    """
    if not bulk:
        return []
    scope = env.scope
    stamp = {"tenant_id": scope.tenant_id, "environment_id": scope.environment_id}
    subs = {s.subscription_id: s for s in env.subscriptions}
    new, changed, lines = [], [], []
    ids: list[str] = []
    finalized: list[str] = []
    for draft, fields in bulk:
        current = existing.get(natural_key(draft))
        invoice_id = draft.period.invoice_id if current is None else current.id
        ids.append(invoice_id)
        if fields["invoice_status"] == InvoiceStatus.FINALIZED.value:
            finalized.append(invoice_id)
        if current is None:
            new.append({**fields, **stamp, "id": invoice_id})
        else:
            changed.append({**fields, "id": invoice_id})
        lines.extend(line_rows(scope, invoice_id, draft, subs[draft.period.subscription_id].plan_id))
    session.flush()
    if new:
        session.execute(insert(cast(Table, Invoice.__table__)), _columns(Invoice, _uniform(new)))
    if changed:
        # Rows are only updated within this scope: their ids were read through the scoped repository.
        session.execute(update(Invoice), _uniform(changed))
    replace_lines(session, scope, ids, lines)
    # Loaded invoice objects are stale after the bulk statements; later reads must hit the database.
    session.expire_all()
    return finalized


def _columns(model: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attribute-keyed rows as column-keyed rows for a Core executemany (``metadata_`` → ``metadata``)."""
    names = {attr.key: attr.columns[0].key for attr in model.__mapper__.column_attrs}
    return [{names[k]: v for k, v in row.items()} for row in rows]


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # executemany batches rows with the same keys; finalized and draft rows differ by a few columns.
    keys = sorted({k for row in rows for k in row})
    return [{k: row.get(k) for k in keys} for row in rows]


def _settled_invoice(
    session: Session,
    env: EnvironmentTerms,
    draft: InvoiceDraft,
    current: Invoice,
    recompute: Any,
    summary: SettleSummary,
    now: datetime,
    reissue: bool,
    reason: str | None,
) -> None:
    """A settled invoice is left alone, unless a reissue finds its charges changed: void and replace."""
    if not (reissue and current.invoice_status == InvoiceStatus.FINALIZED.value):
        summary.unchanged_final += 1
        return
    if same_content(current, invoice_lines(session, env.scope, current.id), draft):
        summary.unchanged_final += 1
        return
    sub = next(s for s in env.subscriptions if s.subscription_id == draft.period.subscription_id)
    replacement = void_and_replace(
        session,
        env.scope,
        current,
        draft,
        recompute,
        now=now,
        reason=reason or "reissued",
        prefix=env.invoice_prefix,
        timezone=env.timezone,
        billing_period=sub.billing_period.value,
        plan_id=sub.plan_id,
    )
    summary.reissued += 1
    summary.numbers.append(replacement.invoice_number or "")
