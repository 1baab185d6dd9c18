"""Reading and writing a partition's invoices in the ledger (docs/billing-semantics.md §6).

- A draft (or a SKIPPED invoice still in grace) is rewritten on every run: the invoice row is updated
  in place (deterministic id) and its lines are replaced.
- Once ``issued_at + grace`` has passed, the invoice is finalized in ONE transaction: prepaid wallet
  credit is debited (idempotent per invoice and wallet), the number is taken from the gapless
  sequence, status and totals are written. SKIPPED invoices are settled without a number.
- A finalized invoice is never rewritten by a normal run. With ``reissue`` it is voided (``void_invoice``:
  reason kept, wallet debits refunded; the API's void is the same call) and a finalized replacement is
  issued; the voided invoice points at it through ``recalculated_invoice_id`` (as Flexprice links them).
- Finalizing emits ``invoice.update.finalized`` and voiding ``invoice.update.voided`` (system events, webhooks) in the
  same transaction, keyed by event type + invoice id, so a rollback drops them and a re-run adds none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.ids import deterministic_id
from flexprice_pipelines.billing.invoicing import InvoiceStatus
from flexprice_pipelines.billing.money import quantum
from flexprice_pipelines.billing.rating.assemble import InvoiceDraft, WalletKey
from flexprice_pipelines.billing.rating.rate import BilledKey, BilledUsage
from flexprice_pipelines.billing.rating.windows import ChargeKind, PartitionPlan
from flexprice_pipelines.billing.wallets import CreditBalance, plan_consumption
from flexprice_pipelines.catalog.errors import Conflict
from flexprice_pipelines.catalog.mappers import credit_balance
from flexprice_pipelines.catalog.models import Invoice, InvoiceLineItem, Wallet, WalletTransaction
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.ledger.events import (
    IDEMPOTENCY_PREFIX,
    INVOICE_FINALIZED,
    INVOICE_VOIDED,
    customers_by_id,
    emit_system_event,
    invoice_payload,
    lines_by_invoice,
    load_invoice_payload,
)
from flexprice_pipelines.ledger.operations import credit_wallet, debit_wallet, next_invoice_number

# Bound parameters per IN list (SQLite allows 32,766 per statement).
_CHUNK = 500

NaturalKey = tuple[str, str, datetime, datetime]
"""(subscription_id, billing_reason, period_start, period_end)."""

Recompute = Callable[[InvoiceDraft, Decimal], InvoiceDraft]
"""Re-assemble a draft with another amount of available wallet credit."""


@dataclass(slots=True)
class SettleSummary:
    """What a run did to the partition's invoices."""

    drafts: int = 0
    skipped: int = 0
    finalized: int = 0
    unchanged_final: int = 0
    reissued: int = 0
    total: Decimal = Decimal(0)
    numbers: list[str] = field(default_factory=list)


def natural_key(draft: InvoiceDraft) -> NaturalKey:
    """The invoice identity of §6."""
    p = draft.period
    return (p.subscription_id, p.billing_reason.value, p.period_start, p.period_end)


def live_invoices(session: Session, scope: Scope, keys: Iterable[NaturalKey]) -> dict[NaturalKey, Invoice]:
    """The non-voided invoice of each natural key, when one exists."""
    wanted = set(keys)
    subs = sorted({k[0] for k in wanted})
    if not subs:
        return {}
    statement = (
        Repository(session, scope, Invoice)
        .select()
        .where(Invoice.subscription_id.in_(subs), Invoice.invoice_status != InvoiceStatus.VOIDED.value)
    )
    found: dict[NaturalKey, Invoice] = {}
    for inv in session.scalars(statement):
        key = (inv.subscription_id or "", inv.billing_reason, inv.period_start, inv.period_end)
        if key in wanted:
            found[key] = inv  # type: ignore[index]
    return found


def wallet_credit(session: Session, scope: Scope, at: datetime) -> dict[WalletKey, Decimal]:
    """Prepaid credit spendable at ``at`` per (customer, currency), from the unconsumed credit transactions."""
    return {key: _available(items) for key, items in _balances(session, scope, at).items()}


def _available(items: list[tuple[CreditBalance, Wallet]]) -> Decimal:
    return sum((b.remaining for b, _ in items), Decimal(0))


def _balances(
    session: Session, scope: Scope, at: datetime, customer_id: str | None = None
) -> dict[WalletKey, list[tuple[CreditBalance, Wallet]]]:
    wallets = (
        Repository(session, scope, Wallet)
        .select()
        .where(Wallet.wallet_type == "PRE_PAID", Wallet.wallet_status == "active")
    )
    if customer_id is not None:
        wallets = wallets.where(Wallet.customer_id == customer_id)
    by_id = {w.id: w for w in session.scalars(wallets)}
    if not by_id:
        return {}
    txs = (
        Repository(session, scope, WalletTransaction)
        .select()
        .where(WalletTransaction.wallet_id.in_(sorted(by_id)), WalletTransaction.type == "credit")
    )
    found: dict[WalletKey, list[tuple[CreditBalance, Wallet]]] = defaultdict(list)
    for tx in session.scalars(txs):
        wallet = by_id[tx.wallet_id]
        balance = credit_balance(tx, wallet)
        if balance.usable_at(at):
            found[(wallet.customer_id, wallet.currency.lower())].append((balance, wallet))
    return found


@dataclass(frozen=True, slots=True)
class LateUsageLedger:
    """What the late-usage checks of a plan need from the ledger."""

    # Finalized usage lines per (line item, window), each with the natural id of its invoice.
    billed: dict[BilledKey, list[BilledUsage]]
    # Natural ids of the plan's invoices that are settled (finalized, or SKIPPED past grace).
    settled: frozenset[str]


def billed_usage(session: Session, scope: Scope, plan: PartitionPlan) -> LateUsageLedger:
    """The settled usage lines of every window the plan re-checks or audits, and the plan's settled invoices.

    A reissued replacement counts under the natural id of the invoice it replaces, so re-rating an
    invoice never subtracts its own lines.
    """
    rechecked = [s for s in (*plan.charges, *plan.audits) if s.kind is ChargeKind.LATE_USAGE]
    if not rechecked:
        return LateUsageLedger(billed={}, settled=frozenset())
    windows = {(s.line_item_id, s.start, s.end) for s in rechecked}
    starts = sorted({s.start for s in rechecked})
    subs = sorted({s.subscription_id for s in rechecked})
    natural: dict[str, str] = {}
    settled_ids: set[str] = set()
    statement = Repository(session, scope, Invoice).select().where(Invoice.subscription_id.in_(subs))
    for inv in session.scalars(statement):
        key_id = str((inv.metadata_ or {}).get("replaces_key") or inv.id)
        # A SKIPPED invoice past grace billed its (zero) usage for good, like a finalized one.
        if inv.invoice_status == InvoiceStatus.FINALIZED.value or (
            inv.invoice_status == InvoiceStatus.SKIPPED.value and inv.finalized_at is not None
        ):
            natural[inv.id] = key_id
            settled_ids.add(key_id)
    lines = (
        Repository(session, scope, InvoiceLineItem)
        .select()
        .where(
            InvoiceLineItem.subscription_id.in_(subs),
            InvoiceLineItem.price_type == "USAGE",
            InvoiceLineItem.period_start.in_(starts),
        )
    )
    billed: dict[BilledKey, list[BilledUsage]] = defaultdict(list)
    for line in session.scalars(lines):
        invoice_key = natural.get(line.invoice_id)
        if invoice_key is None or line.period_start is None or line.period_end is None:
            continue
        key = (str(line.metadata_.get("subscription_line_item_id")), line.period_start, line.period_end)
        if key in windows:
            billed[key].append(
                BilledUsage(
                    quantity=line.quantity,
                    amount=line.amount,
                    invoice_id=invoice_key,
                    late=line.metadata_.get("kind") == ChargeKind.LATE_USAGE.value,
                )
            )
    own = {p.invoice_id for p in plan.invoices}
    return LateUsageLedger(billed=dict(billed), settled=frozenset(settled_ids & own))


def invoice_fields(draft: InvoiceDraft, billing_period: str | None) -> dict[str, Any]:
    """The ``invoices`` columns a draft sets (status, totals, period, tax and coupon metadata)."""
    c = draft.computation
    return {
        "customer_id": draft.customer_id,
        "subscription_id": draft.period.subscription_id,
        "invoice_type": "SUBSCRIPTION",
        "invoice_status": draft.status.value,
        "billing_reason": draft.period.billing_reason.value,
        "currency": draft.currency,
        "subtotal": c.subtotal,
        "total_discount": c.total_discount,
        "total_prepaid_credits_applied": c.total_credits,
        "total_tax": c.total_tax,
        "total": c.total,
        "amount_due": c.amount_due,
        "amount_remaining": c.amount_due,
        "billing_period": billing_period,
        "period_start": draft.period.period_start,
        "period_end": draft.period.period_end,
        "metadata_": {
            "tax_lines": [
                {"tax_rate_id": t.tax_rate_id, "name": t.name, "tax_amount": str(t.tax_amount)}
                for t in c.tax_lines
            ],
            "coupons": [
                {"coupon_id": a.coupon_id, "line_id": a.line_id, "discount": str(a.discount)}
                for a in c.coupon_applications
            ],
        },
    }


def line_rows(
    scope: Scope, invoice_id: str, draft: InvoiceDraft, plan_id: str | None
) -> list[dict[str, Any]]:
    """The ``invoice_line_items`` rows of ``draft`` written under ``invoice_id`` (deterministic ids)."""
    rated = {line.line_id: line for line in draft.lines}
    rows = []
    for result in draft.computation.lines:
        line = rated[result.line_id]
        rows.append(
            {
                "id": result.line_id
                if invoice_id == draft.period.invoice_id
                else deterministic_id("inv_line", invoice_id, result.line_id),
                "tenant_id": scope.tenant_id,
                "environment_id": scope.environment_id,
                "invoice_id": invoice_id,
                "customer_id": draft.customer_id,
                "subscription_id": draft.period.subscription_id,
                "plan_id": plan_id,
                "price_id": line.price_id,
                "meter_id": line.meter_id,
                "price_type": line.price_type.value,
                "display_name": line.display_name,
                "amount": result.amount,
                "quantity": line.quantity,
                "currency": draft.currency,
                "period_start": line.period_start,
                "period_end": line.period_end,
                "metadata_": {
                    "subscription_line_item_id": line.line_item_id,
                    "kind": line.kind.value,
                    "usage": None if line.usage is None else str(line.usage),
                    "discount": str(result.discount),
                    "credits_applied": str(result.credits_applied),
                    "breakdown": list(line.breakdown),
                },
            }
        )
    return rows


def _write_lines(
    session: Session, scope: Scope, invoice_id: str, draft: InvoiceDraft, plan_id: str | None
) -> None:
    # Replace the slice: the invoice's lines are deleted and re-inserted with their deterministic ids.
    replace_lines(session, scope, [invoice_id], line_rows(scope, invoice_id, draft, plan_id))


def replace_lines(
    session: Session, scope: Scope, invoice_ids: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Delete the lines of ``invoice_ids`` and insert ``rows`` in one executemany.

    The rows are built from ids read through this scope, so the repository's per-row reference checks
    are skipped.
    """
    session.flush()
    for start in range(0, len(invoice_ids), _CHUNK):
        session.execute(
            delete(InvoiceLineItem).where(
                InvoiceLineItem.tenant_id == scope.tenant_id,
                InvoiceLineItem.environment_id == scope.environment_id,
                InvoiceLineItem.invoice_id.in_(invoice_ids[start : start + _CHUNK]),
            )
        )
    if rows:
        # Core executemany: the ORM bulk path would run one INSERT per row for this model.
        names = {attr.key: attr.columns[0].key for attr in InvoiceLineItem.__mapper__.column_attrs}
        session.execute(
            insert(cast(Table, InvoiceLineItem.__table__)),
            [{names[k]: v for k, v in row.items()} for row in rows],
        )


def upsert_draft(
    session: Session,
    scope: Scope,
    draft: InvoiceDraft,
    existing: Invoice | None,
    billing_period: str | None,
    plan_id: str | None,
) -> Invoice:
    """Write a draft (or SKIPPED) invoice and replace its lines."""
    fields = invoice_fields(draft, billing_period)
    repo = Repository(session, scope, Invoice)
    if existing is None:
        invoice = repo.create(id=draft.period.invoice_id, **fields)
    else:
        invoice = repo.update(existing, **fields)
    _write_lines(session, scope, invoice.id, draft, plan_id)
    return invoice


def finalize(
    session: Session,
    scope: Scope,
    draft: InvoiceDraft,
    existing: Invoice | None,
    recompute: Recompute,
    *,
    now: datetime,
    prefix: str,
    timezone: str,
    billing_period: str | None,
    plan_id: str | None,
    invoice_id: str | None = None,
    extra: dict[str, Any] | None = None,
    number: str | None = None,
) -> Invoice:
    """Finalize atomically (caller's transaction): debit the wallet, number the invoice, write it.

    ``number`` is one the caller already reserved in this transaction (``ledger.reserve_invoice_numbers``).
    """
    balances = _balances(session, scope, now, draft.customer_id).get((draft.customer_id, draft.currency), [])
    available = _available(balances)
    if available != draft.computation.total_credits:
        draft = recompute(draft, available)
    target_id = invoice_id or draft.period.invoice_id
    _debit_wallets(session, scope, target_id, balances, draft.computation.total_credits, now)
    fields = invoice_fields(draft, billing_period)
    fields["finalized_at"] = now
    if draft.status is InvoiceStatus.DRAFT:
        month = now.astimezone(ZoneInfo(timezone)).strftime("%Y%m")
        fields["invoice_status"] = InvoiceStatus.FINALIZED.value
        fields["invoice_number"] = number or next_invoice_number(session, scope, prefix, month)
    if extra:
        fields["metadata_"] = {**fields["metadata_"], **extra}
    repo = Repository(session, scope, Invoice)
    invoice = repo.create(id=target_id, **fields) if existing is None else repo.update(existing, **fields)
    _write_lines(session, scope, invoice.id, draft, plan_id)
    if invoice.invoice_status == InvoiceStatus.FINALIZED.value:
        emit_invoice_event(session, scope, INVOICE_FINALIZED, invoice, now)
    return invoice


def emit_invoice_event(
    session: Session,
    scope: Scope,
    event_type: str,
    invoice: Invoice,
    now: datetime,
    *,
    payload: dict[str, Any] | None = None,
) -> None:
    """Record ``event_type`` for ``invoice`` in the caller's transaction, at most once per invoice.

    The payload is Flexprice's (the invoice with its lines and customer); ``payload`` passes one
    already built from rows read in bulk."""
    # Column defaults (payment status, amount paid) are only filled in once the row is flushed.
    session.flush()
    emit_system_event(
        session,
        scope,
        event_type,
        payload if payload is not None else load_invoice_payload(session, invoice),
        now,
        idempotency_key=f"{IDEMPOTENCY_PREFIX[event_type]}:{invoice.id}",
    )


def emit_finalized(session: Session, scope: Scope, invoice_ids: Sequence[str], now: datetime) -> None:
    """Emit ``invoice.update.finalized`` for invoices written by the bulk path, read back in id order
    (their lines and customers read a chunk at a time)."""
    for start in range(0, len(invoice_ids), _CHUNK):
        chunk = invoice_ids[start : start + _CHUNK]
        statement = (
            Repository(session, scope, Invoice).select().where(Invoice.id.in_(chunk)).order_by(Invoice.id)
        )
        invoices = list(session.scalars(statement))
        lines = lines_by_invoice(session, scope, [i.id for i in invoices])
        customers = customers_by_id(session, scope, [i.customer_id for i in invoices])
        for invoice in invoices:
            payload = invoice_payload(invoice, lines[invoice.id], customers.get(invoice.customer_id))
            emit_invoice_event(session, scope, INVOICE_FINALIZED, invoice, now, payload=payload)


def _debit_wallets(
    session: Session,
    scope: Scope,
    invoice_id: str,
    balances: list[tuple[CreditBalance, Wallet]],
    amount: Decimal,
    now: datetime,
) -> None:
    if amount <= 0:
        return
    wallets = {b.transaction_id: w for b, w in balances}
    rates = {w.id: w.conversion_rate for w in wallets.values()}
    per_wallet: dict[str, Decimal] = defaultdict(Decimal)
    for tx_id, taken in plan_consumption([b for b, _ in balances], amount, now):
        per_wallet[wallets[tx_id].id] += taken
    for wallet_id, taken in sorted(per_wallet.items()):
        debit_wallet(
            session,
            scope,
            wallet_id,
            taken / rates[wallet_id],
            idempotency_key=f"invoice:{invoice_id}:{wallet_id}",
            reference_type="INVOICE",
            reference_id=invoice_id,
            description="prepaid credit applied at finalization",
            now=now,
        )


VOIDABLE = frozenset({InvoiceStatus.DRAFT.value, InvoiceStatus.FINALIZED.value})


def void_invoice(
    session: Session, scope: Scope, invoice: Invoice, *, now: datetime, reason: str | None
) -> Invoice:
    """Void a draft or finalized invoice in the caller's transaction (docs/billing-semantics.md §6).

    Its wallet debits are refunded (``INVOICE_VOID_REFUND``, key ``void:<invoice>:<transaction>``), it
    becomes VOIDED with ``voided_at`` and ``void_reason``, and ``invoice.update.voided`` is emitted. The API's
    ``POST /v1/invoices/{id}/void`` and a reissue's void are this one write. An invoice that is already
    voided (or SKIPPED) is refused with ``Conflict``, so a second void changes nothing.
    """
    if invoice.invoice_status not in VOIDABLE:
        raise Conflict("invoice_status", f"a {invoice.invoice_status} invoice cannot be voided")
    _refund_debits(session, scope, invoice, now)
    metadata = dict(invoice.metadata_ or {})
    if reason:
        metadata["void_reason"] = reason
    voided = Repository(session, scope, Invoice).update(
        invoice, invoice_status=InvoiceStatus.VOIDED.value, voided_at=now, metadata=metadata
    )
    emit_invoice_event(session, scope, INVOICE_VOIDED, voided, now)
    return voided


def void_and_replace(
    session: Session,
    scope: Scope,
    old: Invoice,
    draft: InvoiceDraft,
    recompute: Recompute,
    *,
    now: datetime,
    reason: str,
    prefix: str,
    timezone: str,
    billing_period: str | None,
    plan_id: str | None,
) -> Invoice:
    """Void a finalized invoice (``void_invoice``) and finalize its replacement."""
    void_invoice(session, scope, old, now=now, reason=reason)
    new_id = deterministic_id("inv", old.id, "reissue", old.version + 1)
    replacement = finalize(
        session,
        scope,
        draft,
        None,
        recompute,
        now=now,
        prefix=prefix,
        timezone=timezone,
        billing_period=billing_period,
        plan_id=plan_id,
        invoice_id=new_id,
        extra={"replaces": old.id, "replaces_key": draft.period.invoice_id, "reissue_reason": reason},
    )
    replacement.version = old.version + 1
    old.recalculated_invoice_id = replacement.id
    return replacement


def _refund_debits(session: Session, scope: Scope, invoice: Invoice, now: datetime) -> None:
    debits = session.scalars(
        Repository(session, scope, WalletTransaction)
        .select()
        .where(
            WalletTransaction.reference_type == "INVOICE",
            WalletTransaction.reference_id == invoice.id,
            WalletTransaction.type == "debit",
        )
        .order_by(WalletTransaction.id)
    ).all()
    for tx in debits:
        credit_wallet(
            session,
            scope,
            tx.wallet_id,
            tx.credit_amount,
            transaction_reason="INVOICE_VOID_REFUND",
            idempotency_key=f"void:{invoice.id}:{tx.id}",
            reference_type="INVOICE",
            reference_id=invoice.id,
            description="credit returned when the invoice was voided",
            now=now,
        )


def same_content(invoice: Invoice, lines: list[InvoiceLineItem], draft: InvoiceDraft) -> bool:
    """Whether a stored invoice already bills what ``draft`` computes (lines, discount, tax).

    Wallet credit is left out: it depends on the balance at finalization, not on the charges.
    """
    c = draft.computation
    stored = (invoice.subtotal, invoice.total_discount, invoice.total_tax)
    if stored != (c.subtotal, c.total_discount, c.total_tax):
        return False
    ours = sorted((line.display_name, line.amount, line.quantity) for line in lines)
    theirs = sorted(
        (r.display_name, r.amount, next(x.quantity for x in draft.lines if x.line_id == r.line_id))
        for r in c.lines
    )
    return ours == [(n, a.quantize(quantum(draft.currency)), q) for n, a, q in theirs]


def invoice_lines(session: Session, scope: Scope, invoice_id: str) -> list[InvoiceLineItem]:
    """The lines of one invoice, by id."""
    statement = (
        Repository(session, scope, InvoiceLineItem)
        .select()
        .where(InvoiceLineItem.invoice_id == invoice_id)
        .order_by(InvoiceLineItem.id)
    )
    return list(session.scalars(statement))


__all__ = [
    "VOIDABLE",
    "LateUsageLedger",
    "SettleSummary",
    "billed_usage",
    "emit_finalized",
    "emit_invoice_event",
    "finalize",
    "invoice_fields",
    "invoice_lines",
    "line_rows",
    "live_invoices",
    "natural_key",
    "replace_lines",
    "same_content",
    "upsert_draft",
    "void_and_replace",
    "void_invoice",
    "wallet_credit",
]
