"""raw_events in DuckDB and ClickHouse (chdb): append-only storage, de-duplicated reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexprice_pipelines.events.codec import properties_json
from flexprice_pipelines.warehouse.base import Warehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse
from tests.warehouse.shared import (
    NOW,
    billed_totals,
    fresh_clickhouse,
    latest_versions,
    make_event,
    raw_row_count,
)


def test_identical_redelivery_counts_once(warehouse: Warehouse) -> None:
    batch = [make_event(f"e{i}", Decimal(i) / 4) for i in range(10)]
    warehouse.insert_events(batch)
    warehouse.insert_events(batch[3:])  # the sink crashed after the insert and re-read the tail

    # DuckDB keeps every row; ClickHouse may already have merged the exact copies away.
    assert (
        raw_row_count(warehouse) == 17
        if warehouse.dialect == "duckdb"
        else 10 <= raw_row_count(warehouse) <= 17
    )
    assert billed_totals(warehouse) == (10, sum((Decimal(i) / 4 for i in range(10)), Decimal(0)))


def test_resent_id_counts_at_its_latest_ingested_version(warehouse: Warehouse) -> None:
    first = make_event(
        "e1", Decimal("10.5"), timestamp=NOW - timedelta(days=20), ingested_at=NOW - timedelta(days=19)
    )
    # Re-sent later with another timestamp in another month: the versions sit in different partitions.
    resent = make_event("e1", Decimal("2.25"), timestamp=NOW - timedelta(minutes=5), ingested_at=NOW)
    older_copy_arriving_late = first
    warehouse.insert_events([resent])
    warehouse.insert_events([older_copy_arriving_late, make_event("e2", Decimal("1"))])

    versions = latest_versions(warehouse)
    assert versions["e1"] == (resent.timestamp, '{"amount":"2.25"}', resent.ingested_at)
    assert billed_totals(warehouse) == (2, Decimal("3.25"))


def test_identity_is_per_tenant_and_environment(warehouse: Warehouse) -> None:
    warehouse.insert_events(
        [
            make_event("same", Decimal(1)),
            make_event("same", Decimal(2), tenant_id="tenant-b"),
            make_event("same", Decimal(4), environment_id="sandbox"),
        ]
    )
    assert billed_totals(warehouse) == (3, Decimal(7))


def test_ensure_schema_is_idempotent_and_keeps_rows(warehouse: Warehouse) -> None:
    warehouse.insert_events([make_event("e1", Decimal("1.5"))])
    warehouse.ensure_schema()
    assert billed_totals(warehouse) == (1, Decimal("1.5"))


def test_timestamps_round_trip_in_utc_with_microseconds(warehouse: Warehouse) -> None:
    at = NOW - timedelta(hours=3, microseconds=123457)
    warehouse.insert_events(
        [make_event("e1", Decimal(1), timestamp=at, ingested_at=NOW + timedelta(microseconds=7))]
    )
    assert latest_versions(warehouse)["e1"][0] == at
    assert latest_versions(warehouse)["e1"][2] == NOW + timedelta(microseconds=7)


_versions = st.lists(
    st.tuples(
        st.sampled_from([f"e{i}" for i in range(8)]),
        st.integers(min_value=0, max_value=50_000),  # minutes before NOW: crosses month partitions
        st.integers(min_value=0, max_value=40),  # ingestion order (ties included)
        st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), places=3, allow_nan=False),
    ),
    min_size=1,
    max_size=30,
    # Two different versions with the same id, timestamp and ingested_at are indistinguishable to
    # ReplacingMergeTree (it keeps the last written); the API never produces them (now + index µs).
    unique_by=lambda version: version[:3],
)


def _reference(versions: list[tuple[str, int, int, Decimal]]) -> dict[str, tuple[object, str, object]]:
    """The pure rule: per id, greatest ingested_at, then timestamp, then properties text."""
    best: dict[str, tuple[object, str, object]] = {}
    for event_id, minutes, ingested, amount in versions:
        candidate = (
            NOW - timedelta(minutes=minutes),
            properties_json({"amount": amount}),
            NOW + timedelta(seconds=ingested),
        )
        current = best.get(event_id)
        if current is None or (candidate[2], candidate[0], candidate[1]) > (
            current[2],
            current[0],
            current[1],
        ):
            best[event_id] = candidate
    return best


def _insert_versions(warehouse: Warehouse, versions: list[tuple[str, int, int, Decimal]]) -> None:
    warehouse.insert_events(
        [
            make_event(
                event_id,
                amount,
                timestamp=NOW - timedelta(minutes=minutes),
                ingested_at=NOW + timedelta(seconds=ingested),
            )
            for event_id, minutes, ingested, amount in versions
        ]
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions=_versions)
def test_duckdb_view_matches_the_pure_latest_version_rule(tmp_path_factory, versions) -> None:  # type: ignore[no-untyped-def]
    warehouse = DuckDBWarehouse(tmp_path_factory.mktemp("dedup") / "w.duckdb")
    warehouse.ensure_schema()
    _insert_versions(warehouse, versions)
    expected = _reference(versions)
    assert latest_versions(warehouse) == expected
    total = sum((Decimal(p.split('"')[3]) for _, p, _ in expected.values()), Decimal(0))
    assert billed_totals(warehouse) == (len(expected), total)


@settings(max_examples=40, deadline=None)
@given(versions=_versions)
def test_clickhouse_view_matches_the_pure_latest_version_rule(versions) -> None:  # type: ignore[no-untyped-def]
    warehouse = fresh_clickhouse()
    _insert_versions(warehouse, versions)
    assert latest_versions(warehouse) == _reference(versions)
