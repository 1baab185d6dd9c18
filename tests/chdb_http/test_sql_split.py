"""How the front separates an INSERT statement from its data block and classifies statements."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.chdb_http import ClickHouseError, split_insert, statement_kind

STATEMENTS = st.sampled_from(
    [
        b"INSERT INTO t",
        b"INSERT INTO db.t (a, b)",
        b"insert into `t` (`a`, `b`) SETTINGS async_insert = 0",
        b"INSERT INTO t /* FORMAT CSV */",
        b'-- load\nINSERT INTO t ("x y")',
    ]
)


@settings(max_examples=200)
@given(statement=STATEMENTS, fmt=st.sampled_from(["Native", "RowBinary", "TabSeparated"]), data=st.binary())
def test_data_block_after_format_comes_back_byte_for_byte(statement: bytes, fmt: str, data: bytes) -> None:
    split = split_insert(statement + b" FORMAT " + fmt.encode() + b"\n" + data)
    if not data.strip():
        assert split is None  # nothing to stream: runs as plain SQL
        return
    assert split is not None
    assert split.data == data
    assert split.fmt == fmt
    assert split.statement.strip() == statement.decode().strip()


def test_url_query_and_body_join_with_the_newline_clickhouse_inserts() -> None:
    split = split_insert(b"INSERT INTO t FORMAT TSV\n\t1\n")
    assert split is not None
    assert split.data == b"\t1\n"  # a leading tab is data, not whitespace to skip


def test_inserts_without_data_block_run_as_sql() -> None:
    assert split_insert(b"INSERT INTO t SELECT 'FORMAT CSV\n1'") is None
    assert split_insert(b"INSERT INTO t VALUES (1, 'FORMAT x')") is None
    assert split_insert(b"INSERT INTO t SELECT number FROM numbers(3) FORMAT Native") is None
    assert split_insert(b"SELECT 1 FORMAT Native\n\x01") is None


def test_statement_kind_skips_comments_and_is_case_insensitive() -> None:
    assert statement_kind(b"  /* x */ -- y\n select 1") == "SELECT"
    assert statement_kind(b"(SELECT 1)") == "SELECT"
    assert statement_kind(b"create table t (a Int8) engine = Memory") == "CREATE"
    assert statement_kind(b"") == ""


def test_engine_errors_keep_code_and_message() -> None:
    err = ClickHouseError.from_engine(
        RuntimeError(
            "Streaming insert finish failed: Code: 33. DB::Exception: Cannot read all data. (CANNOT_READ_ALL_DATA)"
        )
    )
    assert err.code == 33
    assert err.body() == b"Code: 33. DB::Exception: Cannot read all data. (CANNOT_READ_ALL_DATA)\n"
    opaque = ClickHouseError.from_engine(RuntimeError("boom"))
    assert opaque.code == 1001
    assert opaque.body() == b"Code: 1001. DB::Exception: boom\n"
