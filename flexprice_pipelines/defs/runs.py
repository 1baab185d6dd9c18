"""Billing partitions run in process: ``flexprice bill`` / ``backfill`` (``bill_partitions``) and the demo
(``bill_month``, one progress bar each).

Runs are recorded in the Dagster instance of ``DAGSTER_HOME`` (so they show in the UI) or, without
it, in a throwaway instance. Resources come from ``Settings`` exactly as in ``dagster dev``.

``bill_partitions`` blocks while Dagster runs the partition in process; for the demo a worker thread
runs it and the caller's thread follows the run's steps in the same Dagster instance to move the bar.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dagster as dg
import typer

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.defs.billing.assets import ALL_BILLING_ASSETS, BILLING_ASSETS
from flexprice_pipelines.defs.partitions import TENANTS, billing_partition_key
from flexprice_pipelines.defs.resources import build_resources
from flexprice_pipelines.settings import Settings


@contextmanager
def _instance() -> Iterator[dg.DagsterInstance]:
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            yield instance
    else:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance


def bill_partitions(
    settings: Settings,
    tenant_id: str,
    months: list[YearMonth],
    *,
    now: str | None = None,
    engine: str = "dbt",
) -> list[dg.ExecuteInProcessResult]:
    """Materialize the billing assets for each (tenant, month) in order; idempotent."""
    if engine not in {"dbt", "python"}:
        raise typer.BadParameter("engine must be 'dbt' or 'python'")
    resources = build_resources(settings, frozen_at=now, usage_engine=engine)
    assets = ALL_BILLING_ASSETS if engine == "dbt" else BILLING_ASSETS
    results = []
    with _instance() as instance:
        if not instance.has_dynamic_partition(TENANTS.name or "tenants", tenant_id):
            instance.add_dynamic_partitions(TENANTS.name or "tenants", [tenant_id])
        for month in months:
            results.append(
                dg.materialize(
                    assets,
                    partition_key=billing_partition_key(tenant_id, month),
                    resources=resources,
                    instance=instance,
                    raise_on_error=False,
                    tags={"flexprice/command": "bill", "flexprice/period": month.key},
                )
            )
    return results


Report = Callable[[int, int], None]
"""(steps done, steps in the run) — called while the partition runs."""


@dataclass(frozen=True, slots=True)
class PartitionOutcome:
    """How one partition run ended."""

    month: YearMonth
    run_id: str
    success: bool
    seconds: float
    metadata: dict[str, Any]


def bill_month(
    settings: Settings, tenant_id: str, month: YearMonth, now: str, engine: str, report: Report
) -> PartitionOutcome:
    """Materialize the (tenant, month) partition with the clock frozen at ``now``, reporting its steps.

    ``engine`` is the pipeline's usage engine: ``dbt`` (the models, as in production) or ``python``.
    """
    started = time.perf_counter()
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["result"] = bill_partitions(settings, tenant_id, [month], now=now, engine=engine)[0]
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    # Open the instance before the worker does: two first openings at once would both stamp a fresh
    # SQLite run storage with its schema version.
    with dg.DagsterInstance.get() as instance:
        worker = threading.Thread(target=work, name=f"bill-{month.key}", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.25)
            _follow(instance, month, report)
        _follow(instance, month, report)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    result = box["result"]
    assert isinstance(result, dg.ExecuteInProcessResult)
    materialized = result.asset_materializations_for_node("invoices") if result.success else []
    metadata = {k: v.value for k, v in materialized[0].metadata.items()} if materialized else {}
    return PartitionOutcome(month, result.run_id, result.success, time.perf_counter() - started, metadata)


def _follow(instance: dg.DagsterInstance, month: YearMonth, report: Report) -> None:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"flexprice/period": month.key}), limit=1)
    if not runs:
        return
    run = runs[0]
    plan = (
        instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        if run.execution_plan_snapshot_id
        else None
    )
    total = len(plan.steps) if plan is not None else 0
    done = sum(1 for stat in instance.get_run_step_stats(run.run_id) if stat.end_time is not None)
    report(done, max(total, done))
