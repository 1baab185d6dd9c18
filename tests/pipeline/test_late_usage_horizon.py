"""Late usage of finalized windows: every window within the acceptance horizon is re-rated, once.

A daily subscription bills 1.00 per API call; events arrive several windows late. Inside the
horizon (max_past 35 days + grace before the previous invoice) the difference is billed as a
"late usage for <period>" line on the next unsettled invoice; beyond it the run reports the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from flexprice_pipelines.catalog.scope import Scope
from tests.pipeline.conftest import Billing, daily_usage_plan, utc


def _calls(billing: Billing, scope: Scope, day: datetime, count: int, ingested: datetime) -> None:
    billing.events(
        scope,
        [("daily", "api_call", day + timedelta(hours=12, minutes=i), {}) for i in range(count)],
        ingested_at=ingested,
    )


def _late_lines(billing: Billing, scope: Scope) -> list[tuple[datetime | None, str | None, Decimal, Decimal]]:
    return [
        (inv.period_end, line.display_name, line.quantity, line.amount)
        for inv in billing.invoices(scope, invoice_status="FINALIZED")
        for line in billing.lines(scope, inv.id)
        if "late usage" in (line.display_name or "")
    ]


def test_late_events_several_windows_back_are_billed_once_on_the_next_invoice(billing: Billing) -> None:
    scope = billing.tenant("daily-co")
    daily_usage_plan(billing, scope, start=utc(2026, 1, 1))
    for day in range(1, 10):
        _calls(billing, scope, utc(2026, 1, day), 1, ingested=utc(2026, 1, day, 13))
    assert billing.bill(scope, "2026-01", utc(2026, 1, 10, 3)).success  # finalizes Jan 1 … Jan 9
    assert len(billing.invoices(scope, invoice_status="FINALIZED")) == 9

    # 3 calls for January 3 (six windows back) arrive on January 10, before the next invoice.
    _calls(billing, scope, utc(2026, 1, 3), 3, ingested=utc(2026, 1, 10, 5))
    assert billing.bill(scope, "2026-01", utc(2026, 1, 12, 3)).success  # Jan 10 and Jan 11 invoices
    expected = [
        (utc(2026, 1, 11), "API calls: late usage for 2026-01-03 – 2026-01-04", Decimal(3), Decimal("3.00"))
    ]
    assert _late_lines(billing, scope) == expected  # on the first new invoice only, not on Jan 11 too
    assert billing.bill(scope, "2026-01", utc(2026, 1, 12, 4)).success  # a re-run bills nothing more
    assert _late_lines(billing, scope) == expected

    # More for January 3 plus one for January 8: only the difference since the last late line.
    _calls(billing, scope, utc(2026, 1, 3), 2, ingested=utc(2026, 1, 12, 5))
    _calls(billing, scope, utc(2026, 1, 8), 1, ingested=utc(2026, 1, 12, 5))
    result = billing.bill(scope, "2026-01", utc(2026, 1, 13, 3))
    assert result.success
    assert sorted(_late_lines(billing, scope)) == sorted(
        [
            *expected,
            (
                utc(2026, 1, 13),
                "API calls: late usage for 2026-01-03 – 2026-01-04",
                Decimal(2),
                Decimal("2.00"),
            ),
            (
                utc(2026, 1, 13),
                "API calls: late usage for 2026-01-08 – 2026-01-09",
                Decimal(1),
                Decimal("1.00"),
            ),
        ]
    )
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "late_usage_within_horizon"]
    assert check.passed


def test_windows_beyond_the_horizon_are_reported_not_billed(billing: Billing) -> None:
    scope = billing.tenant("daily-co")
    ids = daily_usage_plan(billing, scope, start=utc(2026, 1, 1))
    assert billing.bill(scope, "2026-01", utc(2026, 2, 1, 3)).success
    assert billing.bill(scope, "2026-02", utc(2026, 2, 24, 3)).success
    # Landed directly in the warehouse (a backfill past the 35-day policy): January 5 is beyond the
    # horizon of the February 25 invoice (previous issue Feb 24 − 35 days − 2 h = Jan 19 22:00),
    # January 21 is inside it.
    _calls(billing, scope, utc(2026, 1, 5), 4, ingested=utc(2026, 2, 24, 12))
    _calls(billing, scope, utc(2026, 1, 21), 2, ingested=utc(2026, 2, 24, 12))

    result = billing.bill(scope, "2026-02", utc(2026, 2, 25, 3))

    assert result.success
    assert _late_lines(billing, scope) == [
        (utc(2026, 2, 25), "API calls: late usage for 2026-01-21 – 2026-01-22", Decimal(2), Decimal("2.00"))
    ]
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "late_usage_within_horizon"]
    assert not check.passed
    assert check.severity.value == "WARN"
    assert check.metadata["differing_windows"].value == 1
    assert check.metadata["rows"].value == [
        {
            "subscription_id": ids["subscription"],
            "line_item_id": ids["api"],
            "window": "2026-01-05T00:00:00+00:00 – 2026-01-06T00:00:00+00:00",
            "billed_quantity": "0",
            "quantity": "4",
            "billed_amount": "0.00",
            "amount": "4.00",
        }
    ]
