"""clickhouse-connect's HTTP client, unchanged, against the chdb front."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.chdb_http import ChdbHttpServer

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
EVENT_COLUMNS = ["event_id", "amount", "ts", "note"]


def _create_events(client: Client, table: str) -> None:
    client.command(
        f"CREATE TABLE {table} (event_id UInt64, amount Decimal(38, 10), ts DateTime64(6, 'UTC'), "
        "note Nullable(String)) ENGINE = MergeTree ORDER BY event_id"
    )


def test_command_returns_scalars_rows_and_summaries(ch_client: Client, table_name: str) -> None:
    assert ch_client.command("SELECT 41 + 1") == 42
    assert ch_client.command("SELECT 'a', 'b'") == ["a", "b"]
    assert ch_client.command(f"EXISTS TABLE {table_name}") == 0
    _create_events(ch_client, table_name)
    assert ch_client.command(f"EXISTS TABLE {table_name}") == 1
    # an empty result set is "" (X-ClickHouse-Format present), not a DDL summary
    assert ch_client.command(f"SELECT event_id FROM {table_name}") == ""


def test_query_returns_typed_values(ch_client: Client) -> None:
    result = ch_client.query(
        "SELECT toDateTime64('2024-03-01 12:34:56.789123', 6, 'UTC') AS ts, "
        "toDecimal128('12345678901234567890.0123456789', 10) AS amount, "
        "CAST(NULL AS Nullable(String)) AS missing, 'plain' AS text, CAST('x', 'Nullable(String)') AS present"
    )
    assert result.column_names == ("ts", "amount", "missing", "text", "present")
    assert [t.name for t in result.column_types] == [
        "DateTime64(6, 'UTC')",
        "Decimal(38, 10)",
        "Nullable(String)",
        "String",
        "Nullable(String)",
    ]
    assert result.result_rows == [
        (
            datetime(2024, 3, 1, 12, 34, 56, 789123, tzinfo=UTC),
            Decimal("12345678901234567890.0123456789"),
            None,
            "plain",
            "x",
        )
    ]


def test_insert_thousands_of_rows_reads_back_exactly(ch_client: Client, table_name: str) -> None:
    _create_events(ch_client, table_name)
    rows = [
        (
            i,
            (Decimal(i) / Decimal(7)).quantize(Decimal("1E-10")) - Decimal(1000),
            EPOCH + timedelta(microseconds=1237 * i),
            None if i % 3 else f"note {i} 'quoted'\t",
        )
        for i in range(4000)
    ]
    summary = ch_client.insert(table_name, rows, column_names=EVENT_COLUMNS)
    assert summary.written_rows == 4000
    back = ch_client.query(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM {table_name} ORDER BY event_id"
    ).result_rows
    assert back == rows
    total = ch_client.query(f"SELECT sum(amount) FROM {table_name}").result_rows[0][0]
    assert total == sum(r[1] for r in rows)


@pytest.mark.parametrize("compression", ["lz4", "zstd", "gzip", None])
def test_insert_of_many_compressed_blocks_keeps_every_row(
    chdb_server: ChdbHttpServer, table_name: str, compression: str | None
) -> None:
    # clickhouse-connect compresses each Native block on its own (one LZ4 frame per block); a front that
    # decoded only the first frame kept 65,536 of 100,000 rows and still answered 200
    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=chdb_server.port, compress=compression or False
    )
    try:
        client.command(f"CREATE TABLE {table_name} (n UInt64, s String) ENGINE = MergeTree ORDER BY n")
        rows = [(i, f"row {i} " + "x" * 50) for i in range(100_000)]
        client.insert(table_name, rows, column_names=["n", "s"])
        assert client.query(f"SELECT count(), sum(n), uniqExact(s) FROM {table_name}").result_rows == [
            (100_000, sum(range(100_000)), 100_000)
        ]
    finally:
        client.close()


AMOUNTS = st.decimals(
    min_value=Decimal("-99999999999999999999"),
    max_value=Decimal("99999999999999999999"),
    places=10,
    allow_nan=False,
    allow_infinity=False,
)
TIMES = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2250, 1, 1), timezones=st.just(UTC))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(AMOUNTS, TIMES, st.none() | st.text()), min_size=1, max_size=30))
def test_any_decimal_and_datetime64_round_trips(
    ch_client: Client, values: list[tuple[Decimal, datetime, str | None]]
) -> None:
    ch_client.command(
        "CREATE TABLE IF NOT EXISTS roundtrip (event_id UInt64, amount Decimal(38, 10), "
        "ts DateTime64(6, 'UTC'), note Nullable(String)) ENGINE = Memory"
    )
    ch_client.command("TRUNCATE TABLE roundtrip")
    rows = [(i, *value) for i, value in enumerate(values)]
    ch_client.insert("roundtrip", rows, column_names=EVENT_COLUMNS)
    assert ch_client.query("SELECT * FROM roundtrip ORDER BY event_id").result_rows == rows


def test_server_error_raises_with_code_and_message(ch_client: Client) -> None:
    with pytest.raises(DatabaseError, match="Unknown expression identifier `nope`") as raised:
        ch_client.query("SELECT nope FROM system.one")
    assert raised.value.code == 47
    with pytest.raises(DatabaseError, match="does not exist") as insert_error:
        ch_client.insert("no_such_table", [(1,)], column_names=["a"])
    assert insert_error.value.code == 60


def test_columns_only_probe_used_by_dbt(ch_client: Client) -> None:
    # dbt-clickhouse reads column types via `... LIMIT 0`, which clickhouse-connect asks for as FORMAT JSON
    result = ch_client.query("SELECT * FROM (SELECT 1::UInt16 AS a, 'x' AS b) LIMIT 0")
    assert result.column_names == ("a", "b")
    assert [t.name for t in result.column_types] == ["UInt16", "String"]


def test_concurrent_clients_are_serialised_correctly(chdb_server: ChdbHttpServer) -> None:
    failures: list[str] = []

    def worker(offset: int) -> None:
        client = clickhouse_connect.get_client(host="127.0.0.1", port=chdb_server.port)
        try:
            for i in range(15):
                n = 1000 + offset * 100 + i
                got = client.command(
                    f"SELECT sum(number) FROM numbers({n})", settings={"max_block_size": 100 + offset}
                )
                if got != n * (n - 1) // 2:
                    failures.append(f"{n}: {got}")
                if client.command("SELECT getSetting('max_block_size')") == 100 + offset:
                    failures.append("setting leaked into a later request")
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
