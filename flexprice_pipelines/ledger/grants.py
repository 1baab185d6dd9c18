"""Apply due credit grants to the customers' prepaid wallets (idempotent per grant period)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from flexprice_pipelines.billing.rating.grants import grant_periods
from flexprice_pipelines.catalog.models import CreditGrant, Wallet
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.ledger.operations import apply_credit_grant
from flexprice_pipelines.ledger.terms import EnvironmentTerms


def apply_due_grants(session: Session, env: EnvironmentTerms, until: datetime) -> tuple[int, int]:
    """Apply every grant period starting before ``until``; returns (applications seen, wallets missing).

    ``ledger.apply_credit_grant`` is idempotent per (grant, subscription, period_start), so re-runs
    and overlapping partitions never credit twice. The credit is dated at its period start, so a
    backfill leaves the wallet exactly as live runs would have.
    """
    grants = list(session.scalars(Repository(session, env.scope, CreditGrant).select()))
    wallets = list(
        session.scalars(
            Repository(session, env.scope, Wallet)
            .select()
            .where(Wallet.wallet_type == "PRE_PAID", Wallet.wallet_status == "active")
            .order_by(Wallet.id)
        )
    )
    seen = missing = 0
    for grant in sorted(grants, key=lambda g: g.id):
        for sub in env.subscriptions:
            if not (
                grant.subscription_id == sub.subscription_id
                or (grant.scope == "PLAN" and grant.plan_id == sub.plan_id)
            ):
                continue
            wallet = next(
                (
                    w
                    for w in wallets
                    if w.customer_id == sub.customer_id and w.currency.lower() == grant.currency.lower()
                ),
                None,
            )
            periods = grant_periods(sub, grant.cadence, grant.period, grant.period_count, until)
            if wallet is None:
                missing += len(periods)
                continue
            for start, end in periods:
                apply_credit_grant(
                    session,
                    env.scope,
                    grant.id,
                    sub.subscription_id,
                    wallet.id,
                    period_start=start,
                    period_end=end,
                    now=start,
                )
                seen += 1
    return seen, missing
