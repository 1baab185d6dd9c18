"""Asset checks that guard money: usage reconciles with raw events, invoices add up, numbering is gapless.

They read what was written (catalog rows), not what the run meant to write.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import dagster as dg
from sqlalchemy.orm import Session

from flexprice_pipelines.billing.meters import (
    AggregationType,
    Event,
    Meter,
    event_matches,
    uncountable_value,
)
from flexprice_pipelines.billing.rating.rate import LateUsageDrift, UsageRow
from flexprice_pipelines.billing.rating.usage import matched_events
from flexprice_pipelines.billing.rating.windows import UsageWindow
from flexprice_pipelines.catalog.models import Invoice, InvoiceLineItem
from flexprice_pipelines.catalog.repository import Repository
from flexprice_pipelines.catalog.scope import Scope
from flexprice_pipelines.ledger.terms import EnvironmentPlan

_SHOWN = 10


def count_window_events(
    windows: Sequence[UsageWindow],
    meters: Mapping[str, Meter],
    rows: Mapping[str, UsageRow],
    events: Iterable[Event],
    window_key: Callable[[UsageWindow], str] = lambda w: w.window_id,
) -> list[tuple[str, int, int]]:
    """(window_id, events counted into usage, raw events the meter matches in the window) per window.

    The raw side is recounted from the latest event versions, independently of the usage query, with the
    reference's ``event_matches``. Events are indexed by (customer, trimmed name) in time order, so each
    window reads only its own slice (a window per meter per month used to rescan all of a customer's events).
    """
    index = _EventIndex(events)
    result = []
    for window in windows:
        row = rows.get(window_key(window))
        raw = index.matched(
            meters[window.meter_id], window.external_customer_id, window.window_start, window.window_end
        )
        result.append((window.window_id, row.event_count if row is not None else 0, raw))
    return result


class _EventIndex:
    """Events per (external customer, trimmed event name), sorted by timestamp."""

    def __init__(self, events: Iterable[Event]) -> None:
        grouped: dict[tuple[str, str], list[tuple[datetime, Event]]] = defaultdict(list)
        for event in events:
            name = event.get("event_name")
            if isinstance(name, str):  # event_matches never matches a non-string name
                stamp = event["timestamp"]
                if not isinstance(stamp, datetime):
                    raise TypeError(f"event timestamp must be a datetime, not {type(stamp).__name__}")
                grouped[(str(event["external_customer_id"]), name.strip())].append((stamp, event))
        self._times: dict[tuple[str, str], list[datetime]] = {}
        self._events: dict[tuple[str, str], list[Event]] = {}
        for key, pairs in grouped.items():
            pairs.sort(key=lambda pair: pair[0])
            self._times[key] = [stamp for stamp, _ in pairs]
            self._events[key] = [event for _, event in pairs]

    def slice(self, meter: Meter, customer: str, start: datetime, end: datetime) -> Sequence[Event]:
        """The customer's events named like ``meter`` with ``start <= timestamp < end``."""
        key = (customer, meter.event_name)
        times = self._times.get(key)
        if times is None:
            return ()
        return self._events[key][bisect_left(times, start) : bisect_left(times, end)]

    def matched(self, meter: Meter, customer: str, start: datetime, end: datetime) -> int:
        """``rating.usage.matched_events(meter, customer's events, start, end)``, from the slice ``[start, end)``."""
        key = (customer, meter.event_name)
        times = self._times.get(key)
        if times is None:
            return 0
        lo, hi = bisect_left(times, start), bisect_left(times, end)
        if not meter.filters:
            return hi - lo  # the name matched and nothing else is asked
        return matched_events(meter, self._events[key][lo:hi], start, end)


@dataclass(frozen=True, slots=True)
class UncountableValue:
    """An event a billed meter matched whose value no engine can count (outside DECIMAL(38, 18))."""

    meter_id: str
    external_customer_id: str
    window_id: str
    event_id: str
    value: str

    def __str__(self) -> str:
        return (
            f"meter {self.meter_id} customer {self.external_customer_id} event {self.event_id} "
            f"value {self.value} (window {self.window_id})"
        )


# Every number outside DECIMAL(38, 18) is written with an exponent or with 19+ digits in a row (more than
# 20 integer or 18 fractional digits), so an event whose JSON text has neither is not parsed at all.
_MAYBE_UNCOUNTABLE = re.compile(r"[0-9][eE]|[0-9]{19}")


_DOUBLE_MAX = Decimal("1.797693134862315807e308")  # halfway to 2**1024: from here a double is infinite


def _beyond_double(value: object) -> str | None:
    """A number anywhere in ``value`` that a double cannot hold, in short text, or None.

    ClickHouse's JSON parser refuses a whole properties text holding one (``1e400``): on ClickHouse every
    property of that event is unreadable, its filters, string forms and values included.
    """
    if isinstance(value, Decimal):
        return f"{value:.3e}" if value.is_finite() and abs(value) >= _DOUBLE_MAX else None
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{Decimal(value):.3e}" if abs(value) >= _DOUBLE_MAX else None
    children = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    for child in children:
        found = _beyond_double(child)
        if found is not None:
            return found
    return None


def _reads_properties(meter: Meter) -> bool:
    return meter.aggregation.type is not AggregationType.COUNT or bool(meter.filters)


def _may_hold_uncountable(event: Event) -> bool:
    text = getattr(event, "properties_text", None)
    return not isinstance(text, str) or _MAYBE_UNCOUNTABLE.search(text) is not None


def uncountable_window_values(
    windows: Sequence[UsageWindow], meters: Mapping[str, Meter], events: Iterable[Event]
) -> list[UncountableValue]:
    """Events of each window's meter (name, filters, time) whose value ``uncountable_value`` reports.

    Every engine leaves such a value out of the quantity (billing/meters.py): this is what keeps it from
    being lost silently. An event whose properties hold a number beyond the double range (``1e400``) is
    reported for every meter that reads properties, matched or not: ClickHouse cannot read any of its
    properties, so its filters, string forms and values differ there. ``events`` are the latest versions;
    each window reads only its own slice.
    """
    index = _EventIndex(events)
    found: list[UncountableValue] = []
    for window in windows:
        meter = meters[window.meter_id]
        if not _reads_properties(meter):
            continue
        for event in index.slice(meter, window.external_customer_id, window.window_start, window.window_end):
            if not _may_hold_uncountable(event):
                continue
            unreadable = _beyond_double(event["properties"])
            # an event ClickHouse cannot read may match there or not: report it whether or not it matches
            value = (
                f"{unreadable} (properties unreadable by ClickHouse)"
                if unreadable is not None
                else uncountable_value(meter, event)
                if event_matches(meter, event)
                else None
            )
            if value is not None:
                found.append(
                    UncountableValue(
                        window.meter_id,
                        window.external_customer_id,
                        window.window_id,
                        str(event["event_id"]),
                        value,
                    )
                )
    return found


def usage_check_result(
    name: str, counts: Sequence[tuple[str, int, int]], uncountable: Sequence[UncountableValue] = ()
) -> dg.AssetCheckResult:
    """Passes when every window counted exactly the raw events inside it and every value could be counted."""
    wrong = [(w, counted, raw) for w, counted, raw in counts if counted != raw]
    problems = []
    if wrong:
        problems.append(f"{len(wrong)} windows did not count their raw events")
    if uncountable:
        shown = "; ".join(str(u) for u in uncountable[:_SHOWN])
        problems.append(f"{len(uncountable)} event values outside DECIMAL(38, 18) were not counted: {shown}")
    return dg.AssetCheckResult(
        check_name=name,
        asset_key="period_usage",
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={
            "windows": len(counts),
            "raw_events": sum(raw for _, _, raw in counts),
            "mismatched_windows": len(wrong),
            "examples": str(wrong[:_SHOWN]),
            "uncountable_values": len(uncountable),
            "uncountable_examples": dg.MetadataValue.json(
                [
                    {
                        "meter_id": u.meter_id,
                        "external_customer_id": u.external_customer_id,
                        "window_id": u.window_id,
                        "event_id": u.event_id,
                        "value": u.value,
                    }
                    for u in uncountable[:100]
                ]
            ),
        },
    )


def late_horizon_check_result(name: str, drifts: Sequence[LateUsageDrift]) -> dg.AssetCheckResult:
    """Warns (never blocks) when finalized windows beyond the late-usage horizon differ from what was billed.

    Those windows are not billed again automatically; the rows tell finance what a reissue would change.
    """
    rows = [
        {
            "subscription_id": d.subscription_id,
            "line_item_id": d.line_item_id,
            "window": f"{d.window_start.isoformat()} – {d.window_end.isoformat()}",
            "billed_quantity": str(d.billed_quantity),
            "quantity": str(d.quantity),
            "billed_amount": str(d.billed_amount),
            "amount": str(d.amount),
        }
        for d in sorted(drifts, key=lambda d: (d.subscription_id, d.line_item_id, d.window_start))
    ]
    return dg.AssetCheckResult(
        check_name=name,
        asset_key="rated_line_items",
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"differing_windows": len(rows), "rows": dg.MetadataValue.json(rows[:100])},
    )


def _partition_invoices(
    session: Session, env: EnvironmentPlan
) -> tuple[list[Invoice], dict[str, list[InvoiceLineItem]]]:
    scope = env.terms.scope
    subs = sorted({p.subscription_id for p in env.plan.invoices})
    if not subs:
        return [], {}
    keys = {
        (p.subscription_id, p.billing_reason.value, p.period_start, p.period_end) for p in env.plan.invoices
    }
    rows = [
        inv
        for inv in session.scalars(
            Repository(session, scope, Invoice).select().where(Invoice.subscription_id.in_(subs))
        )
        if (inv.subscription_id, inv.billing_reason, inv.period_start, inv.period_end) in keys
    ]
    lines: dict[str, list[InvoiceLineItem]] = defaultdict(list)
    ids = [inv.id for inv in rows]
    if ids:
        statement = (
            Repository(session, scope, InvoiceLineItem).select().where(InvoiceLineItem.invoice_id.in_(ids))
        )
        for line in session.scalars(statement):
            lines[line.invoice_id].append(line)
    return rows, lines


def _numbers_gapless(session: Session, scope: Scope) -> list[str]:
    statement = Repository(session, scope, Invoice).select().where(Invoice.invoice_number.is_not(None))
    by_month: dict[str, list[int]] = defaultdict(list)
    for inv in session.scalars(statement):
        prefix_month, _, seq = (inv.invoice_number or "").rpartition("-")
        by_month[prefix_month].append(int(seq))
    problems = []
    for month, seqs in sorted(by_month.items()):
        if sorted(seqs) != list(range(1, len(seqs) + 1)):
            problems.append(f"{scope.environment_id} {month}: {sorted(seqs)}")
    return problems


def invoice_check_results(
    session: Session, plans: Sequence[EnvironmentPlan], names: Sequence[str]
) -> list[dg.AssetCheckResult]:
    """The four invoice checks over the rows written for the partition's invoices."""
    sums: list[str] = []
    negatives: list[str] = []
    cardinality: list[str] = []
    numbering: list[str] = []
    checked = 0
    for env in plans:
        rows, lines = _partition_invoices(session, env)
        live = [inv for inv in rows if inv.invoice_status != "VOIDED"]
        checked += len(live)
        for inv in live:
            amounts = [line.amount for line in lines.get(inv.id, [])]
            if sum(amounts, Decimal(0)) != inv.subtotal:
                sums.append(inv.id)
            if inv.total < 0 or inv.amount_due < 0 or any(a < 0 for a in amounts):
                negatives.append(inv.id)
        per_key: dict[tuple[object, ...], int] = defaultdict(int)
        for inv in live:
            per_key[(inv.subscription_id, inv.billing_reason, inv.period_start, inv.period_end)] += 1
        for p in env.plan.invoices:
            if p.billing_reason.value == "SUBSCRIPTION_CYCLE":
                count = per_key.get(
                    (p.subscription_id, p.billing_reason.value, p.period_start, p.period_end), 0
                )
                if count != 1:
                    cardinality.append(f"{p.subscription_id} {p.period_end.isoformat()}: {count}")
        numbering.extend(_numbers_gapless(session, env.terms.scope))
    found = dict(zip(names, (sums, negatives, cardinality, numbering), strict=True))
    return [
        dg.AssetCheckResult(
            check_name=name,
            asset_key="invoices",
            passed=not problems,
            metadata={
                "invoices_checked": checked,
                "problems": len(problems),
                "examples": str(problems[:_SHOWN]),
            },
        )
        for name, problems in found.items()
    ]
