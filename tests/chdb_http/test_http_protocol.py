"""The ClickHouse HTTP interface as seen on the wire (https://clickhouse.com/docs/interfaces/http)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.chdb_http import ChdbHttpServer


@pytest.fixture(scope="module")
def http(chdb_server: ChdbHttpServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chdb_server.url, timeout=30) as client:
        yield client


def test_ping_and_root_answer_ok(http: httpx.Client) -> None:
    assert http.get("/ping").text == "Ok.\n"
    assert http.get("/").text == "Ok.\n"
    missing = http.get("/play")
    assert missing.status_code == 404


def test_get_query_in_url_answers_tab_separated_with_clickhouse_headers(http: httpx.Client) -> None:
    response = http.get("/", params={"query": "SELECT 1, 'a\tb'", "query_id": "q-42"})
    assert response.status_code == 200
    assert response.text == "1\ta\\tb\n"
    assert response.headers["X-ClickHouse-Format"] == "TabSeparated"
    assert response.headers["X-ClickHouse-Query-Id"] == "q-42"
    assert response.headers["X-ClickHouse-Timezone"]
    assert response.headers["X-ClickHouse-Server-Display-Name"]
    summary = json.loads(response.headers["X-ClickHouse-Summary"])
    assert summary["result_rows"] == "1"
    assert all(isinstance(v, str) for v in summary.values())


def test_post_body_query_and_default_format(http: httpx.Client) -> None:
    response = http.post(
        "/", params={"default_format": "JSONEachRow"}, content=b"SELECT number AS n FROM numbers(2)"
    )
    assert response.text == '{"n":0}\n{"n":1}\n'
    assert response.headers["X-ClickHouse-Format"] == "JSONEachRow"
    # a FORMAT clause in the query wins over default_format
    explicit = http.post(
        "/", params={"default_format": "JSONEachRow"}, content=b"SELECT 7 AS n FORMAT CSVWithNames"
    )
    assert explicit.text == '"n"\n7\n'
    assert explicit.headers["X-ClickHouse-Format"] == "CSVWithNames"


def test_url_query_is_continued_by_the_body(http: httpx.Client) -> None:
    assert http.post("/", params={"query": "SELECT 40"}, content=b"+ 2").text == "42\n"


def test_query_parameters_bind_typed_placeholders(http: httpx.Client) -> None:
    response = http.get(
        "/", params={"query": "SELECT {n:UInt32} * 2, {s:String}", "param_n": "21", "param_s": "x'y"}
    )
    assert response.text == "42\tx\\'y\n"


def test_errors_carry_code_header_and_clickhouse_status(http: httpx.Client) -> None:
    unknown = http.post("/", content=b"SELECT * FROM no_such_table")
    assert unknown.status_code == 404
    assert unknown.headers["X-ClickHouse-Exception-Code"] == "60"
    assert unknown.text.startswith("Code: 60. DB::Exception: ")
    assert "no_such_table" in unknown.text
    syntax = http.post("/", content=b"SELEC 1")
    assert syntax.status_code == 400
    assert syntax.headers["X-ClickHouse-Exception-Code"] == "62"
    empty = http.post("/", content=b"  ")
    assert empty.headers["X-ClickHouse-Exception-Code"] == "62"


def test_get_is_readonly_like_clickhouse(http: httpx.Client, table_name: str) -> None:
    refused = http.get("/", params={"query": f"CREATE TABLE {table_name} (a UInt8) ENGINE = Memory"})
    assert refused.status_code == 500
    assert refused.headers["X-ClickHouse-Exception-Code"] == "164"
    assert http.get("/", params={"query": f"EXISTS TABLE {table_name}"}).text == "0\n"


def test_database_parameter_selects_the_current_database(http: httpx.Client, table_name: str) -> None:
    http.post("/", content=b"CREATE DATABASE IF NOT EXISTS proto_db").raise_for_status()
    ddl = f"CREATE TABLE {table_name} (a UInt8) ENGINE = MergeTree ORDER BY a"
    http.post("/", params={"database": "proto_db"}, content=ddl.encode()).raise_for_status()
    assert http.get("/", params={"query": f"EXISTS TABLE proto_db.{table_name}"}).text == "1\n"
    assert (
        http.get("/", params={"query": "SELECT currentDatabase()", "database": "proto_db"}).text
        == "proto_db\n"
    )
    # without the parameter the request runs in `default` again
    assert http.get("/", params={"query": "SELECT currentDatabase()"}).text == "default\n"
    missing = http.get("/", params={"query": "SELECT 1", "database": "no_such_db"})
    assert (missing.status_code, missing.headers["X-ClickHouse-Exception-Code"]) == (404, "81")


def test_url_settings_apply_to_their_request_only(http: httpx.Client) -> None:
    query = "SELECT getSetting('max_block_size')"
    before = http.get("/", params={"query": query}).text
    assert before != "1234\n"
    assert http.get("/", params={"query": query, "max_block_size": "1234"}).text == "1234\n"
    assert http.get("/", params={"query": query}).text == before
    unknown = http.get("/", params={"query": "SELECT 1", "no_such_setting": "1"})
    assert unknown.headers["X-ClickHouse-Exception-Code"] == "115"


def test_transport_parameters_are_accepted(http: httpx.Client) -> None:
    params = {
        "query": "SELECT 1",
        "session_id": "s1",
        "wait_end_of_query": "1",
        "send_progress_in_http_headers": "1",
        "http_headers_progress_interval_ms": "1000",
        "enable_http_compression": "1",
        "cancel_http_readonly_queries_on_client_close": "1",
    }
    assert http.get("/", params=params).text == "1\n"
    native = http.get("/", params={"query": "SELECT 1", "compress": "1"})
    assert native.status_code == 501  # ClickHouse-native block compression is not implemented


def test_insert_with_format_and_data_in_body(http: httpx.Client, table_name: str) -> None:
    http.post(
        "/", content=f"CREATE TABLE {table_name} (a UInt32, s String) ENGINE = MergeTree ORDER BY a".encode()
    )
    plain = http.post(
        "/", params={"query": f"INSERT INTO {table_name} FORMAT TSV"}, content=b"1\tone\n2\ttwo\n"
    )
    assert plain.status_code == 200
    assert json.loads(plain.headers["X-ClickHouse-Summary"])["written_rows"] == "2"
    assert "X-ClickHouse-Format" not in plain.headers
    gz = http.post(
        "/",
        headers={"Content-Encoding": "gzip"},
        content=gzip.compress(f"INSERT INTO {table_name} FORMAT CSV\n3,three\n".encode()),
    )
    assert gz.status_code == 200

    def chunks() -> Iterator[bytes]:
        yield f"INSERT INTO {table_name} (a, s) FORMAT JSONEachRow\n".encode()
        yield b'{"a": 4, "s": "four"}\n'
        yield b'{"a": 5, "s": "five"}\n'

    chunked = http.post("/", content=chunks())
    assert chunked.status_code == 200
    rows = http.get("/", params={"query": f"SELECT a, s FROM {table_name} ORDER BY a"}).text
    assert rows == "1\tone\n2\ttwo\n3\tthree\n4\tfour\n5\tfive\n"


def test_bad_insert_data_is_an_error_and_leaves_the_session_usable(
    http: httpx.Client, table_name: str
) -> None:
    http.post("/", content=f"CREATE TABLE {table_name} (a UInt32) ENGINE = MergeTree ORDER BY a".encode())
    bad = http.post("/", params={"query": f"INSERT INTO {table_name} FORMAT TSV"}, content=b"not-a-number\n")
    assert (bad.status_code, bad.headers["X-ClickHouse-Exception-Code"]) == (400, "27")
    assert bad.text.startswith("Code: 27. DB::Exception: Cannot parse input")
    assert http.get("/", params={"query": f"SELECT count() FROM {table_name}"}).text == "0\n"


def test_only_loopback_binds_are_allowed(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="loopback"):
        ChdbHttpServer(str(tmp_path), host="0.0.0.0")
