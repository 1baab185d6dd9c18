"""A ClickHouse HTTP interface in front of one embedded chdb session — test infrastructure only.

No modern ClickHouse server installs on the build machines, but chdb embeds the real ClickHouse
engine. dbt-clickhouse and clickhouse-connect's HTTP client cannot talk to chdb in-process, so this
module serves the subset of https://clickhouse.com/docs/interfaces/http they use, letting both run
unchanged against the real engine in tests and benchmarks. See README_chdb_http.md for the list of
supported and unsupported features.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import ipaddress
import json
import re
import signal
import socket
import threading
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from chdb import session as chdb_session

# chdb ships no type hints; one typed handle keeps the untyped surface to this line.
_new_session: Any = chdb_session.Session

# URL parameters that steer the HTTP transport rather than the query. The progress, compression
# and cancel-on-close settings only shape how a real server streams its answer; this front always
# answers in one piece, so they are consumed here instead of being SET on the shared session.
_TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "session_id",
        "session_timeout",
        "session_check",
        "query_id",
        "quota_key",
        "user",
        "password",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "role",
        "stacktrace",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "enable_http_compression",
        "http_zlib_compression_level",
        "cancel_http_readonly_queries_on_client_close",
    }
)
# Statements that produce a result set; the rest get no X-ClickHouse-Format header, which is how
# clickhouse-connect's command() tells an empty result from a DDL acknowledgement.
_RESULT_KINDS = frozenset(
    {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK", "VALUES"}
)
# GET implies readonly in ClickHouse; these are the statements a readonly user may run.
_READONLY_KINDS = _RESULT_KINDS - {"CHECK"} | {"SET", "USE"}
_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TRAILING_FORMAT = re.compile(
    r"\bFORMAT\s+([A-Za-z0-9_]+)\s*(?:SETTINGS\b[^;]*)?;?\s*\Z", re.IGNORECASE | re.DOTALL
)
_ERROR_CODE = re.compile(r"Code: (\d+)\. ")

# ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by name;
# numeric codes are resolved from the engine itself at start-up so they cannot drift.
_STATUS_BY_ERROR_NAME: Mapping[int, Sequence[str]] = {
    401: ("REQUIRED_PASSWORD",),
    403: ("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"),
    400: [
        "BAD_ARGUMENTS",
        "CANNOT_COMPILE_REGEXP",
        "CANNOT_PARSE_TEXT",
        "CANNOT_PARSE_ESCAPE_SEQUENCE",
        "CANNOT_PARSE_QUOTED_STRING",
        "CANNOT_PARSE_DATE",
        "CANNOT_PARSE_DATETIME",
        "CANNOT_PARSE_NUMBER",
        "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
        "CANNOT_PARSE_IPV4",
        "CANNOT_PARSE_IPV6",
        "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        "CANNOT_PARSE_UUID",
        "DUPLICATE_COLUMN",
        "ILLEGAL_COLUMN",
        "UNKNOWN_ELEMENT_IN_AST",
        "UNKNOWN_TYPE_OF_AST_NODE",
        "THERE_IS_NO_COLUMN",
        "TOO_DEEP_AST",
        "TOO_BIG_AST",
        "UNEXPECTED_AST_STRUCTURE",
        "SYNTAX_ERROR",
        "INCORRECT_DATA",
        "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
    ],
    404: [
        "UNKNOWN_TABLE",
        "UNKNOWN_FUNCTION",
        "UNKNOWN_IDENTIFIER",
        "UNKNOWN_TYPE",
        "UNKNOWN_STORAGE",
        "UNKNOWN_DATABASE",
        "UNKNOWN_SETTING",
        "UNKNOWN_DIRECTION_OF_SORTING",
        "UNKNOWN_AGGREGATE_FUNCTION",
        "UNKNOWN_FORMAT",
        "UNKNOWN_DATABASE_ENGINE",
        "UNKNOWN_TYPE_OF_QUERY",
        "UNKNOWN_ROLE",
    ],
    413: ("QUERY_IS_TOO_LARGE",),
    501: ("NOT_IMPLEMENTED",),
    # 503/504 are deliberately absent: clickhouse-connect retries those, hiding the real error.
}
SYNTAX_ERROR = 62
NOT_IMPLEMENTED = 48
READONLY = 164
CANNOT_DECOMPRESS = 271
STD_EXCEPTION = 1001


class ClickHouseError(Exception):
    """An error reported to the client the way ClickHouse does: a numeric code and a message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """Wrap a chdb exception, keeping the engine's own ``Code: N. DB::Exception: ...`` text."""
        text = str(exc)
        match = _ERROR_CODE.search(text)
        if match is None:
            return cls(STD_EXCEPTION, text)
        return cls(int(match.group(1)), text[match.start() :].split(". ", 1)[1])

    def body(self) -> bytes:
        """The response body ClickHouse sends for this error."""
        message = (
            self.message if self.message.startswith("DB::Exception") else f"DB::Exception: {self.message}"
        )
        return f"Code: {self.code}. {message}\n".encode()


@dataclass
class Reply:
    """One HTTP answer: status, ClickHouse headers and body."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InsertWithData:
    """An ``INSERT ... FORMAT X`` statement split from the data block that follows it."""

    statement: str
    fmt: str
    data: bytes


def _skip_quoted(buf: bytes, i: int) -> int:
    quote = buf[i]
    i += 1
    while i < len(buf):
        if buf[i] == 0x5C:  # backslash escapes the next byte
            i += 2
        elif buf[i] == quote:
            if i + 1 < len(buf) and buf[i + 1] == quote:
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return i


def _skip_space_and_comments(buf: bytes, i: int) -> int:
    while i < len(buf):
        if buf[i : i + 1].isspace():
            i += 1
        elif buf.startswith(b"--", i):
            end = buf.find(b"\n", i)
            i = len(buf) if end < 0 else end + 1
        elif buf.startswith(b"/*", i):
            end = buf.find(b"*/", i + 2)
            i = len(buf) if end < 0 else end + 2
        else:
            return i
    return i


def _words(buf: bytes, start: int = 0) -> Iterator[tuple[bytes, int, int]]:
    """Yield (upper-cased word, start, end) for each bare word outside quotes and comments."""
    i = start
    while i < len(buf):
        i = _skip_space_and_comments(buf, i)
        if i >= len(buf):
            return
        char = buf[i]
        if char in b"'\"`":
            i = _skip_quoted(buf, i)
        elif chr(char).isalpha() or char == 0x5F:
            end = i
            while end < len(buf) and (chr(buf[end]).isalnum() or buf[end] == 0x5F):
                end += 1
            yield buf[i:end].upper(), i, end
            i = end
        else:
            i += 1


def statement_kind(sql: bytes) -> str:
    """The leading keyword of a statement (``SELECT``, ``INSERT``, ``CREATE``...), upper-cased."""
    for word, _, _ in _words(sql):
        return word.decode("ascii", "replace")
    return ""


def split_insert(buf: bytes) -> InsertWithData | None:
    """Split ``INSERT INTO t [(cols)] FORMAT X\\n<data>`` into statement, format and data.

    Returns None for statements carrying no data block (``INSERT ... SELECT``, ``INSERT ... VALUES``
    inline, or a FORMAT with nothing after it), which run as plain SQL. Data starts after the
    format name, past spaces and at most one line break, as in ClickHouse's ParserInsertQuery.
    """
    words = _words(buf)
    first = next(words, None)
    if first is None or first[0] != b"INSERT":
        return None
    for word, start, _ in words:
        if word in (b"SELECT", b"WITH", b"VALUES"):
            return None
        if word == b"FORMAT":
            fmt_word = next(words, None)
            if fmt_word is None:
                return None
            _, fmt_start, fmt_end = fmt_word
            pos = fmt_end
            while pos < len(buf) and buf[pos] in b" \t\f":
                pos += 1
            if buf.startswith(b"\r", pos):
                pos += 1
            if buf.startswith(b"\n", pos):
                pos += 1
            data = buf[pos:]
            if not data.strip():
                return None
            return InsertWithData(buf[:start].decode(), buf[fmt_start:fmt_end].decode(), data)
    return None


def _content_type(fmt: str) -> str:
    if fmt.startswith("JSON"):
        return "application/json; charset=UTF-8"
    if fmt.startswith(("TabSeparated", "TSV")):
        return "text/tab-separated-values; charset=UTF-8"
    if fmt.startswith("CSV"):
        return "text/csv; charset=UTF-8"
    if fmt.startswith(("Native", "RowBinary", "Parquet", "Arrow", "ORC", "Avro", "Protobuf", "MsgPack")):
        return "application/octet-stream"
    return "text/plain; charset=UTF-8"


def decode_body(body: bytes, content_encoding: str | None) -> bytes:
    """Undo an HTTP ``Content-Encoding`` on a request body (gzip, deflate, lz4, zstd, br)."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "lz4":
        return _lz4_frames(body)
    if encoding == "zstd":
        from backports import zstd

        return bytes(zstd.decompress(body))
    if encoding == "br":
        import brotli

        return bytes(brotli.decompress(body))
    raise ClickHouseError(NOT_IMPLEMENTED, f"Unsupported Content-Encoding: {content_encoding}")


def _lz4_frames(body: bytes) -> bytes:
    """Every LZ4 frame of ``body``: clients stream one frame per block, and ``lz4.frame.decompress`` reads only the first."""
    import lz4.frame

    parts: list[bytes] = []
    rest = body
    while rest:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        parts.append(decompressor.decompress(rest))
        if not decompressor.eof:
            raise ClickHouseError(CANNOT_DECOMPRESS, "Truncated LZ4 frame in the request body")
        rest = decompressor.unused_data
    return b"".join(parts)


class ChdbEngine:
    """One chdb session that runs ClickHouse HTTP requests one at a time.

    chdb allows one data directory per process and one session shares its settings and current
    database between callers, so every request runs under one lock with its own database and
    settings applied first.
    """

    def __init__(self, path: str) -> None:
        self._session: Any = _new_session(path)
        self._lock = threading.Lock()
        self._database: str | None = None
        self._applied: dict[str, str] = {}
        self._startup_settings = dict(self._rows("SELECT name, value FROM system.settings"))
        version, self.timezone = self._rows("SELECT version(), timezone()")[0]
        self.version = version
        self._status_by_code = self._resolve_statuses()

    def _rows(self, sql: str) -> list[list[str]]:
        text = self._session.query(sql, "TabSeparated").bytes().decode()
        return [line.split("\t") for line in text.splitlines()]

    def _resolve_statuses(self) -> dict[int, int]:
        status_of_name = {name: status for status, names in _STATUS_BY_ERROR_NAME.items() for name in names}
        quoted = ", ".join(f"'{name}'" for name in status_of_name)
        rows = self._rows(
            f"SELECT number, errorCodeToName(number) AS n FROM numbers(2000) WHERE n IN ({quoted})"
        )
        return {int(code): status_of_name[name] for code, name in rows}

    def http_status(self, code: int) -> int:
        """The HTTP status ClickHouse answers for an exception code."""
        return self._status_by_code.get(code, 500)

    def close(self) -> None:
        """Close the chdb session, freeing the process-wide data directory."""
        with self._lock:
            self._session.close()

    def execute(self, query: bytes, params: Mapping[str, str], readonly: bool) -> Reply:
        """Run one statement with the request's database, settings and parameters."""
        if not query.strip():
            raise ClickHouseError(SYNTAX_ERROR, "Empty query. (SYNTAX_ERROR)")
        if params.get("compress", "0") not in ("", "0") or params.get("decompress", "0") not in ("", "0"):
            raise ClickHouseError(
                NOT_IMPLEMENTED, "ClickHouse native compression (compress/decompress) is not supported"
            )
        kind = statement_kind(query)
        if readonly and kind not in _READONLY_KINDS:
            raise ClickHouseError(
                READONLY,
                "Cannot execute query in readonly mode. For queries over HTTP, method GET implies readonly. "
                "You should use method POST for modifying queries. (READONLY)",
            )
        settings = {
            k: v for k, v in params.items() if k not in _TRANSPORT_PARAMS and not k.startswith("param_")
        }
        query_params = {k.removeprefix("param_"): v for k, v in params.items() if k.startswith("param_")}
        insert = split_insert(query) if kind == "INSERT" else None
        with self._lock:
            try:
                self._use(params.get("database") or "default")
                self._apply(settings)
                if insert is not None:
                    return self._insert(insert)
                return self._query(query, kind, params.get("default_format") or "TabSeparated", query_params)
            except ClickHouseError:
                raise
            except Exception as exc:  # chdb raises RuntimeError/ChdbError carrying the engine's code
                raise ClickHouseError.from_engine(exc) from exc
            finally:
                if kind in ("USE", "DROP", "RENAME", "DETACH"):
                    self._database = None  # the statement may have moved or removed our database

    def _use(self, database: str) -> None:
        if database != self._database:
            self._database = None
            self._session.query(
                "USE `" + database.replace("\\", "\\\\").replace("`", "\\`") + "`", "TabSeparated"
            )
            self._database = database

    def _set(self, name: str, value: str) -> None:
        if not _SETTING_NAME.match(name):
            raise ClickHouseError(115, f"Unknown setting '{name}'. (UNKNOWN_SETTING)")
        literal = value.replace("\\", "\\\\").replace("'", "\\'")
        self._session.query(f"SET {name} = '{literal}'", "TabSeparated")

    def _apply(self, wanted: Mapping[str, str]) -> None:
        # A setting keeps its value until a request without it restores the start-up value, so
        # each request sees exactly start-up settings plus its own, with few SETs in steady state.
        for name in [n for n in self._applied if n not in wanted]:
            self._set(name, self._startup_settings[name])
            del self._applied[name]
        for name, value in wanted.items():
            if self._applied.get(name) != value:
                self._set(name, value)
                if name in self._startup_settings:
                    self._applied[name] = value

    def _insert(self, insert: InsertWithData) -> Reply:
        with self._session.send_insert(insert.statement, insert.fmt) as inserter:
            inserter.append(insert.data)
            result = inserter.finish()
        summary = {"written_rows": result.rows_written, "written_bytes": result.bytes_written}
        return Reply(200, b"", {"X-ClickHouse-Summary": _summary(summary, result.elapsed)})

    def _query(self, query: bytes, kind: str, default_format: str, query_params: dict[str, str]) -> Reply:
        sql = query.decode()
        trailing = _TRAILING_FORMAT.search(sql)
        fmt = trailing.group(1) if trailing else default_format
        result = self._session.query(sql, fmt, params=query_params)
        body = result.bytes() or b""
        summary = {
            "read_rows": result.storage_rows_read(),
            "read_bytes": result.storage_bytes_read(),
            "written_rows": result.rows_written(),
            "written_bytes": result.bytes_written(),
            "result_rows": result.rows_read() if kind in _RESULT_KINDS else 0,
            "result_bytes": len(body),
        }
        headers = {"X-ClickHouse-Summary": _summary(summary, result.elapsed())}
        if kind in _RESULT_KINDS:
            headers["X-ClickHouse-Format"] = fmt
            headers["Content-Type"] = _content_type(fmt)
        return Reply(200, body, headers)


def _summary(counts: Mapping[str, int], elapsed_s: float) -> str:
    full = {"read_rows": 0, "read_bytes": 0, "written_rows": 0, "written_bytes": 0, "total_rows_to_read": 0}
    full.update(counts)
    full["elapsed_ns"] = int(elapsed_s * 1_000_000_000)
    # ClickHouse renders every summary value as a JSON string.
    return json.dumps({k: str(v) for k, v in full.items()}, separators=(",", ":"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clickhouse-connect pools connections
    disable_nagle_algorithm = True  # headers and body go out as separate writes; avoid delayed-ACK stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and benchmarks drive thousands of requests."""

    def do_GET(self) -> None:
        self._dispatch(readonly=True)

    def do_POST(self) -> None:
        self._dispatch(readonly=False)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self, readonly: bool) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        engine = self.server.engine
        if url.path in ("/ping", "/replicas_status"):
            self._send(Reply(200, b"Ok.\n"))
            return
        if url.path != "/":
            self._send(
                Reply(404, f"There is no handle {url.path}\n\nUse / or /ping for health checks.\n".encode())
            )
            return
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        try:
            if "multipart/form-data" in self.headers.get("Content-Type", ""):
                raise ClickHouseError(
                    NOT_IMPLEMENTED, "multipart/form-data requests (external data) are not supported"
                )
            data = decode_body(body, self.headers.get("Content-Encoding"))
            if "query" in params:
                # As in ClickHouse, the URL's query is followed by the body (data or the query's tail).
                query = params["query"].encode() + (b"\n" + data if data else b"")
            elif not data and readonly:
                self._send(Reply(200, b"Ok.\n"))
                return
            else:
                query = data
            reply = engine.execute(query, params, readonly)
        except ClickHouseError as err:
            reply = Reply(
                engine.http_status(err.code),
                err.body(),
                {"X-ClickHouse-Exception-Code": str(err.code), "Content-Type": "text/plain; charset=UTF-8"},
            )
        except Exception as exc:  # a bug here must still reach the client as a ClickHouse error
            unexpected = ClickHouseError(STD_EXCEPTION, f"{type(exc).__name__}: {exc}")
            reply = Reply(500, unexpected.body(), {"X-ClickHouse-Exception-Code": str(STD_EXCEPTION)})
        reply.headers.setdefault("X-ClickHouse-Summary", _summary({}, 0.0))
        reply.headers["X-ClickHouse-Query-Id"] = query_id
        reply.headers["X-ClickHouse-Timezone"] = engine.timezone
        reply.headers["X-ClickHouse-Server-Display-Name"] = self.server.display_name
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        reply.headers.setdefault("Content-Type", "text/plain; charset=UTF-8")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Keep-Alive", "timeout=10")
        self.end_headers()
        self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], engine: ChdbEngine) -> None:
        super().__init__(address, _Handler)
        self.engine = engine
        self.display_name = socket.gethostname()


def _require_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"ChdbHttpServer binds loopback addresses only, not {host!r}")


class ChdbHttpServer:
    """A ClickHouse HTTP endpoint over a persistent chdb data directory, for tests.

    ``port=0`` picks a free port; read it back from ``.port`` or ``.url`` after ``start()``.
    Only one data directory can be open per process (a chdb limit).
    """

    def __init__(self, path: str, host: str = "127.0.0.1", port: int = 0) -> None:
        _require_loopback(host)
        self.path = path
        self.host = host
        self.port = port
        self._engine: ChdbEngine | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ChdbHttpServer:
        """Open the chdb session and serve requests on a background thread."""
        if self._server is not None:
            raise RuntimeError("ChdbHttpServer is already running")
        self._engine = ChdbEngine(self.path)
        try:
            self._server = _Server((self.host, self.port), self._engine)
        except BaseException:
            self._engine.close()
            self._engine = None
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="chdb-http", daemon=True)
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the server thread ends (for the command line)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        """Stop serving and close the chdb session. Safe to call twice."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self) -> ChdbHttpServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.support.chdb_http --path DIR --port N``."""
    parser = argparse.ArgumentParser(
        description="Serve the ClickHouse HTTP interface over a chdb data directory."
    )
    parser.add_argument("--path", required=True, help="chdb data directory (created if missing)")
    parser.add_argument("--port", type=int, default=8123)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly, closing the chdb data directory
    with ChdbHttpServer(args.path, port=args.port) as server:
        print(f"serving ClickHouse HTTP on {server.url} over {args.path}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.wait()


if __name__ == "__main__":
    main()
