"""Does the read model agree with what is billed? Compares closed windows with ``fct_period_usage``.

``compare_usage`` is the pure comparison; ``defs/usage_consistency.py`` wraps it in a Dagster
``@asset_check`` on the ``fct_period_usage`` asset (``build_consistency_check``). Keys are
(customer external id, meter id, window start, window end); a window present on one side only is
compared with "no usage" (None) on the other, and None equals None only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

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
