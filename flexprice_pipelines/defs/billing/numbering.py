"""Invoice numbers reserved in bulk: one locked sequence bump per (environment, month) and run.

The same sequence row and lock as ``ledger.next_invoice_number`` (gapless, duplicate-free under
concurrency, consumed on commit, returned on rollback), bumped by ``count`` in one ``UPDATE … RETURNING``.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from flexprice_pipelines.catalog.db import SQLITE_IMMEDIATE
from flexprice_pipelines.catalog.models import InvoiceSequence
from flexprice_pipelines.catalog.scope import Scope


def reserve_numbers(session: Session, scope: Scope, prefix: str, yyyymm: str, count: int) -> list[str]:
    """The next ``count`` numbers of the (tenant, environment, month) sequence, in order."""
    if count <= 0:
        return []
    if not prefix.strip() or len(yyyymm) != 6 or not yyyymm.isdigit():
        raise ValueError(f"bad invoice number prefix or month: {prefix!r}, {yyyymm!r}")
    if not session.in_transaction():
        session.connection(execution_options={SQLITE_IMMEDIATE: True})  # type: ignore[misc]
    key = (
        InvoiceSequence.tenant_id == scope.tenant_id,
        InvoiceSequence.environment_id == scope.environment_id,
        InvoiceSequence.year_month == yyyymm,
    )
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(InvoiceSequence)
        .values(
            tenant_id=scope.tenant_id, environment_id=scope.environment_id, year_month=yyyymm, last_value=0
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "environment_id", "year_month"])
    )
    session.execute(select(InvoiceSequence.id).where(*key).with_for_update())
    last = session.execute(
        update(InvoiceSequence)
        .where(*key)
        .values(last_value=InvoiceSequence.last_value + count)
        .returning(InvoiceSequence.last_value)
    ).scalar_one()
    return [f"{prefix.strip()}-{yyyymm}-{value:05d}" for value in range(last - count + 1, last + 1)]
