"""The demo's cast: which months it bills and the customers and subscriptions it creates, relative to ``now``.

Everything is a pure function of the clock, so a frozen ``now`` gives the same scenario every time.
The months are the three whole UTC months before the current one; subscriptions start before the first
of them so that each month has an invoice for each subscription.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flexprice_pipelines.billing.months import YearMonth


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoCustomer:
    """One customer, its subscription and what the demo attaches to it."""

    external_id: str
    name: str
    email: str
    country: str
    plan: str
    currency: str
    timezone: str
    billing_cycle: str
    start: datetime
    # Share of the generated usage stream this customer sends.
    weight: int
    users: int
    tax_code: str | None = None
    coupon: str | None = None
    wallet_credits: Decimal | None = None
    monthly_grant: Decimal | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def demo_months(now: datetime) -> list[YearMonth]:
    """The three whole months (UTC) before the month of ``now``, oldest first."""
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    current = now.astimezone(UTC)
    third = YearMonth(current.year, current.month).previous
    second = third.previous
    return [second.previous, second, third]


def _local(year: int, month: int, day: int, hour: int, minute: int, tz: str) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def last_31st_before(moment: datetime) -> tuple[int, int]:
    """(year, month) of the latest month with 31 days whose 31st lies before ``moment``."""
    ym = YearMonth(moment.year, moment.month).previous
    while calendar.monthrange(ym.year, ym.month)[1] != 31:
        ym = ym.previous
    return ym.year, ym.month


def demo_customers(now: datetime) -> list[DemoCustomer]:
    """The five demo customers; their subscriptions all bill in every demo month."""
    first = demo_months(now)[0]
    before = first.previous
    y31, m31 = last_31st_before(first.start)
    return [
        DemoCustomer(
            external_id="acme",
            name="Acme Robotics",
            email="billing@acme.test",
            country="US",
            plan="pro",
            currency="usd",
            timezone="Asia/Kolkata",
            billing_cycle="calendar",
            start=_local(before.year, before.month, 10, 14, 30, "Asia/Kolkata"),
            weight=35,
            users=900,
            tax_code="US-NY",
            wallet_credits=Decimal("150"),
            monthly_grant=Decimal("25"),
            notes=("calendar in Asia/Kolkata", "prepaid wallet", "monthly credit grant"),
        ),
        DemoCustomer(
            external_id="globex",
            name="Globex Corporation",
            email="ap@globex.test",
            country="US",
            plan="pro",
            currency="usd",
            timezone="America/Los_Angeles",
            billing_cycle="anniversary",
            start=_local(y31, m31, 31, 10, 0, "America/Los_Angeles"),
            weight=25,
            users=600,
            tax_code="US-NY",
            coupon="launch20",
            notes=("anniversary on the 31st", "20% coupon"),
        ),
        DemoCustomer(
            external_id="initech",
            name="Initech K.K.",
            email="keiri@initech.test",
            country="JP",
            plan="pro_jp",
            currency="jpy",
            timezone="Asia/Tokyo",
            billing_cycle="anniversary",
            start=_local(before.year, before.month, 15, 9, 0, "Asia/Tokyo"),
            weight=15,
            users=300,
            tax_code="JP-CT",
            notes=("JPY",),
        ),
        DemoCustomer(
            external_id="hooli",
            name="Hooli GmbH",
            email="finance@hooli.test",
            country="DE",
            plan="starter",
            currency="usd",
            timezone="Europe/Berlin",
            billing_cycle="anniversary",
            start=_local(first.year, first.month, 3, 10, 0, "Europe/Berlin"),
            weight=10,
            users=120,
            notes=("14-day trial",),
        ),
        DemoCustomer(
            external_id="umbrella",
            name="Umbrella Health",
            email="invoices@umbrella.test",
            country="GB",
            plan="pro",
            currency="usd",
            timezone="UTC",
            billing_cycle="anniversary",
            start=before.start + timedelta(days=19, hours=12),
            weight=15,
            users=400,
            notes=("anniversary in UTC",),
        ),
    ]
