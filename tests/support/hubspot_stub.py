"""A small local stand-in for HubSpot's CRM v3 objects API, for tests and benchmarks.

Serves companies, contacts and deals on 127.0.0.1: create (``POST /crm/v3/objects/{type}``, 201 with
associations), update (``PATCH …/{id}``), read (``GET …/{id}``). Like HubSpot it wants a bearer token,
refuses properties the object type does not have (400 ``VALIDATION_ERROR``) and answers 404 for
unknown ids. ``fail_when`` injects failures (a 500 or 429 for matching requests).
Not a mock of our code: the real ``hubspot-api-client`` talks to it over HTTP.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Standard properties of each object type that the sync may write (a subset of HubSpot's own).
KNOWN_PROPERTIES = {
    "companies": {"name", "domain", "address", "address2", "city", "state", "zip", "country", "description"},
    "contacts": {"email", "firstname", "lastname", "company", "address", "city", "state", "zip", "country"},
    "deals": {
        "dealname",
        "amount",
        "closedate",
        "deal_currency_code",
        "pipeline",
        "dealstage",
        "description",
    },
}
_PATH_PREFIX = "/crm/v3/objects/"


@dataclass(frozen=True)
class StubRequest:
    """What a failure rule sees: the method, object type, id (updates/reads) and sent properties."""

    method: str
    object_type: str
    object_id: str | None
    properties: dict[str, str]


@dataclass
class _Rule:
    matches: Callable[[StubRequest], bool]
    status: int
    remaining: int | None


@dataclass
class HubSpotStub:
    """State of a running stub: ``objects[type][id]`` and per-(method, type) request counts."""

    url: str = ""
    access_token: str = "stub-token"
    objects: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in KNOWN_PROPERTIES}
    )
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    rules: list[_Rule] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def fail_when(
        self, matches: Callable[[StubRequest], bool], status: int = 500, times: int | None = None
    ) -> None:
        """Answer ``status`` to requests ``matches`` accepts (``times`` times, or forever)."""
        with self.lock:
            self.rules.append(_Rule(matches, status, times))

    def clear_failures(self) -> None:
        with self.lock:
            self.rules.clear()

    def count(self, object_type: str) -> int:
        """How many objects of ``object_type`` exist."""
        with self.lock:
            return len(self.objects[object_type])

    def _injected(self, request: StubRequest) -> int | None:
        for rule in self.rules:
            if (rule.remaining is None or rule.remaining > 0) and rule.matches(request):
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule.status
        return None

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """One request → (status, JSON body)."""
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return 401, _error("INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if not path.startswith(_PATH_PREFIX):
            return 404, _error("OBJECT_NOT_FOUND", f"no route {path}")
        parts = path.removeprefix(_PATH_PREFIX).split("?")[0].split("/")
        object_type, object_id = parts[0], (parts[1] if len(parts) > 1 else None)
        if object_type not in KNOWN_PROPERTIES or len(parts) > 2:
            return 404, _error("OBJECT_NOT_FOUND", f"unknown object type {object_type}")
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return 400, _error("VALIDATION_ERROR", "Invalid input JSON")
        properties = payload.get("properties") or {}
        request = StubRequest(method, object_type, object_id, dict(properties))
        with self.lock:
            self.requests[(method, object_type)] += 1
            injected = self._injected(request)
            if injected is not None:
                return injected, _error("INJECTED", f"injected failure {injected}")
            return self._serve(request, payload)

    def _serve(self, request: StubRequest, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        store = self.objects[request.object_type]
        unknown = set(request.properties) - KNOWN_PROPERTIES[request.object_type]
        if unknown:
            return 400, _error("VALIDATION_ERROR", f"Property values were not valid: {sorted(unknown)}")
        if any(not isinstance(v, str) for v in request.properties.values()):
            return 400, _error("VALIDATION_ERROR", "property values must be strings")
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if request.method == "POST" and request.object_id is None:
            object_id = str(next(self._ids))
            store[object_id] = {
                "id": object_id,
                "properties": request.properties,
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
                "associations": payload.get("associations") or [],
            }
            return 201, _public(store[object_id])
        if request.object_id is None or request.object_id not in store:
            return 404, _error("OBJECT_NOT_FOUND", "resource not found")
        current = store[request.object_id]
        if request.method == "PATCH":
            current["properties"] = {**current["properties"], **request.properties}
            current["updatedAt"] = now
            return 200, _public(current)
        if request.method == "GET":
            return 200, _public(current)
        return 405, _error("METHOD_NOT_ALLOWED", request.method)


def _public(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k != "associations"}


def _error(category: str, message: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": "stub", "category": category}


@contextmanager
def running_stub(access_token: str = "stub-token") -> Iterator[HubSpotStub]:
    """A stub on a free 127.0.0.1 port (``stub.url``), stopped on exit."""
    stub = HubSpotStub(access_token=access_token)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = stub.handle(self.command, self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
