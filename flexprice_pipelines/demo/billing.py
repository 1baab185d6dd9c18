"""Bill the demo partitions through the pipeline's entry point (``flexprice bill``), one progress bar each.

``bill_partitions`` blocks while Dagster runs the partition in process; a worker thread runs it and the
caller's thread follows the run's steps in the same Dagster instance to move the bar.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg

from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.pipeline_cli import bill_partitions
from flexprice_pipelines.settings import Settings

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
