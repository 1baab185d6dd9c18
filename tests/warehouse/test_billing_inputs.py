"""``billing_windows`` rows: which windows a (tenant, period) partition may hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flexprice_pipelines.warehouse.billing_inputs import WINDOW_COLUMNS, BillingWindow, window_rows


def _window(start: datetime, end: datetime, usage_start: datetime | None = None) -> BillingWindow:
    return BillingWindow("sub", "li", "price", "meter", "cust", "ext", start, end, usage_start)


JAN, FEB, MAR = (datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3))


def test_a_window_ending_in_the_period_month_is_a_row_of_it() -> None:
    (row,) = window_rows("t", "e", "2026-02", [_window(JAN, FEB + (MAR - FEB) / 2)])
    assert dict(zip(WINDOW_COLUMNS, row, strict=True))["period_key"] == "2026-02"


def test_a_line_item_ending_inside_the_billing_period_keeps_its_earlier_window_end() -> None:
    # the subscription period Jan 1 - Feb 1 is billed in 2026-02; its line item ended on Jan 25
    ended_early = _window(JAN, datetime(2026, 1, 25, tzinfo=UTC))
    (row,) = window_rows("t", "e", "2026-02", [ended_early])
    columns = dict(zip(WINDOW_COLUMNS, row, strict=True))
    assert columns["period_key"] == "2026-02"
    assert (columns["window_start"], columns["window_end"]) == (JAN, datetime(2026, 1, 25, tzinfo=UTC))


def test_a_window_ending_after_the_period_is_refused() -> None:
    with pytest.raises(ValueError, match="after period 2026-02"):
        window_rows("t", "e", "2026-02", [_window(FEB, MAR + (MAR - FEB) / 2)])


@pytest.mark.parametrize(
    ("window", "message"),
    [
        (_window(FEB, JAN), "usage_start <= window_start <= window_end"),
        (_window(JAN, FEB, usage_start=FEB), "usage_start <= window_start <= window_end"),
    ],
)
def test_inverted_windows_are_refused(window: BillingWindow, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        window_rows("t", "e", "2026-02", [window])


def test_period_key_must_be_a_month() -> None:
    with pytest.raises(ValueError, match="period_key must be 'YYYY-MM'"):
        window_rows("t", "e", "2026-2", [_window(JAN, FEB)])
