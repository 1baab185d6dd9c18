"""Does the read model agree with what is billed? Compares closed windows with ``fct_period_usage``.

``compare_usage`` is the pure comparison; ``build_consistency_check`` wraps it in a Dagster
``@asset_check`` on the ``fct_period_usage`` asset (the pipeline wires it into Definitions). Keys are
(customer external id, meter id, window start, window end); a window present on one side only is
compared with "no usage" (None) on the other, and None equals None only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import dagster as dg

from flexprice_pipelines.usage.queries import WindowUsage

Key = tuple[str, str, datetime, datetime]


@dataclass(frozen=True, slots=True)
class UsageDifference:
    """One (customer, meter, window) on which the read model and the warehouse disagree."""

    external_customer_id: str
    meter_id: str
    window_start: datetime
    window_end: datetime
    read_model: Decimal | None
    warehouse: Decimal | None

    def as_row(self) -> dict[str, str | None]:
        """Plain strings, for check metadata."""
        return {
            "external_customer_id": self.external_customer_id,
            "meter_id": self.meter_id,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "read_model": None if self.read_model is None else str(self.read_model),
            "warehouse": None if self.warehouse is None else str(self.warehouse),
        }


def _key(row: WindowUsage) -> Key:
    return (row.external_customer_id, row.meter_id, row.window_start, row.window_end)


def _equal(a: Decimal | None, b: Decimal | None, tolerance: Decimal) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tolerance


def compare_usage(
    read_model: Iterable[WindowUsage],
    warehouse: Iterable[WindowUsage],
    *,
    closed_at: datetime,
    tolerance: Decimal = Decimal(0),
) -> list[UsageDifference]:
    """The differing windows among those closed at ``closed_at`` (``window_end <= closed_at``), sorted.

    ``tolerance`` absorbs an SQL engine's last-digit rounding of AVG and WEIGHTED_SUM quotients; every
    other aggregation is exact on both sides, so the default is 0.
    """
    ours = {_key(r): r.usage for r in read_model if r.window_end <= closed_at}
    theirs = {_key(r): r.usage for r in warehouse if r.window_end <= closed_at}
    differences = []
    for key in sorted(ours.keys() | theirs.keys()):
        mine, billed = ours.get(key), theirs.get(key)
        if not _equal(mine, billed, tolerance):
            differences.append(UsageDifference(*key, read_model=mine, warehouse=billed))
    return differences


def build_consistency_check(
    asset: Any,
    *,
    load_read_model: Callable[[Any], Sequence[WindowUsage]],
    load_warehouse: Callable[[Any], Sequence[WindowUsage]],
    closed_at: Callable[[Any], datetime],
    name: str = "usage_read_model_matches_fct_period_usage",
    tolerance: Decimal = Decimal(0),
    required_resource_keys: set[str] | None = None,
) -> Any:
    """A Dagster asset check on ``asset`` that fails listing the differing (customer, meter, window) rows.

    The loaders receive the check's context (partition keys, resources) and return each side's rows
    for the slice being checked. The pipeline's read-model side (``defs/usage_consistency.py``) reads the
    windows the partition bills with ``queries.window_usage``; ``queries.closed_billing_windows`` also
    lists tracked windows nothing bills (trial windows, entitled-only meters), so it is no key set.
    """

    @dg.asset_check(
        asset=asset,
        name=name,
        description="Real-time usage read model equals fct_period_usage on every closed billing window.",
        required_resource_keys=required_resource_keys or set(),
        blocking=False,
    )
    def _check(context):  # type: ignore[no-untyped-def]  # dagster refuses a string annotation here
        differences = compare_usage(
            load_read_model(context),
            load_warehouse(context),
            closed_at=closed_at(context),
            tolerance=tolerance,
        )
        return dg.AssetCheckResult(
            passed=not differences,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "differences": len(differences),
                "first_differences": dg.MetadataValue.json([d.as_row() for d in differences[:50]]),
            },
        )

    return _check
