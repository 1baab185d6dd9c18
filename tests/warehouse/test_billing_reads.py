"""The billing pipeline's reads are methods of each store (its own dialect) and return the same values."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

from flexprice_pipelines.warehouse.base import Warehouse
from flexprice_pipelines.warehouse.reads import IngestedCustomer
from tests.warehouse.shared import NOW, make_event

START, END = NOW - timedelta(days=2), NOW


def test_events_for_customers_reads_the_latest_versions_in_the_window(warehouse: Warehouse) -> None:
    old = make_event("e1", 1, timestamp=NOW - timedelta(hours=5), ingested_at=NOW - timedelta(hours=4))
    warehouse.insert_events(
        [
            old,
            make_event(
                "e1", Decimal("2.5"), timestamp=NOW - timedelta(hours=5), ingested_at=NOW - timedelta(hours=3)
            ),
            make_event("e2", 7, customer="cust-2", timestamp=NOW - timedelta(hours=6)),
            make_event("e3", 9, customer="cust-3"),  # a customer not asked for
            make_event("e4", 4, timestamp=END),  # the window's end is excluded
            make_event("e5", 5, environment_id="staging"),  # another environment
        ]
    )
    events = warehouse.events_for_customers("tenant-a", "prod", ["cust-1", "cust-2"], START, END)
    assert [(e["event_id"], e["external_customer_id"]) for e in events] == [
        ("e1", "cust-1"),
        ("e2", "cust-2"),
    ]
    first = events[0]
    assert first["properties"] == {"amount": "2.5"}  # the codec keeps decimals as numeric strings
    assert first["timestamp"] == NOW - timedelta(hours=5) and first["timestamp"].tzinfo is UTC
    assert first["ingested_at"] == NOW - timedelta(hours=3)
    assert warehouse.events_for_customers("tenant-a", "prod", [], START, END) == []


def test_customers_ingested_since_counts_every_raw_version(warehouse: Warehouse) -> None:
    warehouse.insert_events(
        [
            make_event("e1", 1, timestamp=NOW - timedelta(days=3), ingested_at=NOW - timedelta(hours=2)),
            make_event("e2", 1, timestamp=NOW - timedelta(days=1), ingested_at=NOW - timedelta(hours=1)),
            make_event("e3", 1, customer="cust-2", ingested_at=NOW - timedelta(days=5)),  # before `since`
        ]
    )
    assert warehouse.customers_ingested_since(NOW - timedelta(days=1)) == [
        IngestedCustomer("tenant-a", "prod", "cust-1", NOW - timedelta(days=3), NOW - timedelta(hours=1))
    ]


def test_billing_inputs_target_names_the_store_database(warehouse: Warehouse) -> None:
    with warehouse.billing_inputs_target() as (target, database):
        assert target is not None
        assert database == ("main" if warehouse.dialect == "duckdb" else warehouse.database)  # type: ignore[attr-defined]
