"""A small local Stripe API for tests and benchmarks (127.0.0.1 only).

It implements only what the sync calls — customers create/retrieve, invoice items create, invoices
create/finalize/retrieve — with Stripe's form encoding, bearer auth, ``Idempotency-Key`` replay
(same key and parameters → the stored response, no new object; other parameters → 400
``idempotency_error``) and Stripe's error JSON. ``Fault``s inject failures: ``lose_response``
makes Stripe do the work but the client see a 500 (a crash between Stripe's answer and our commit);
otherwise the request fails before anything happens.

    with StripeStub() as stub:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": stub.url}, max_network_retries=0)
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]


def decode_form(body: str) -> Params:
    """Stripe's form encoding back to nested values: ``metadata[k]=v``, ``period[start]=1``, ``expand[0]=x``."""
    out: Params = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    decoded: Params = _lists(out)
    return decoded


def _lists(node: Any) -> Any:
    # Stripe encodes arrays as a[0], a[1]; turn all-digit keyed dicts back into lists.
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


@dataclass
class Fault:
    """Fail requests matching ``method`` and ``path`` (a regex); the first ``skip`` matches pass."""

    method: str = "POST"
    path: str = ".*"
    status: int = 500
    times: int = 1
    skip: int = 0
    lose_response: bool = False
    when: Callable[[Params], bool] | None = None
    error_type: str = "api_error"
    message: str = "injected failure"

    def matches(self, method: str, path: str, params: Params) -> bool:
        return (
            method == self.method
            and re.fullmatch(self.path, path) is not None
            and (self.when is None or self.when(params))
        )


class StubError(Exception):
    def __init__(
        self, status: int, error_type: str, message: str, code: str | None = None, param: str | None = None
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": error_type, "message": message, "code": code, "param": param}}
        self.body["error"] = {k: v for k, v in self.body["error"].items() if v is not None}


@dataclass
class StubState:
    customers: dict[str, Params] = field(default_factory=dict)
    invoice_items: dict[str, Params] = field(default_factory=dict)
    invoices: dict[str, Params] = field(default_factory=dict)
    idempotency: dict[str, tuple[tuple[str, str, str], int, Params]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


class StripeStub:
    """The stub server; ``url`` is its base address. Thread-safe: one lock around all state."""

    def __init__(self, api_key_prefix: str = "sk_test_") -> None:
        self.api_key_prefix = api_key_prefix
        self.state = StubState()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="stripe-stub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StripeStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StripeStub:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every object, key, request and fault."""
        with self._lock:
            self.state = StubState()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.state.faults.append(fault)

    def count(self, kind: str) -> int:
        """Objects of ``kind`` (customers, invoice_items, invoices) that exist."""
        with self._lock:
            return len(getattr(self.state, kind))

    def objects(self, kind: str) -> list[Params]:
        with self._lock:
            return [json.loads(json.dumps(o)) for o in getattr(self.state, kind).values()]

    # -- request handling ------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, auth: str | None, idem_key: str | None, body: str
    ) -> tuple[int, Params, bool]:
        """(status, JSON body, replayed) of one request."""
        params = decode_form(body) if body else {}
        with self._lock:
            if not auth or not auth.startswith(f"Bearer {self.api_key_prefix}"):
                return 401, StubError(401, "invalid_request_error", "Invalid API Key provided").body, False
            fault = self._take_fault(method, path, params)
            if fault is not None and not fault.lose_response:
                self.state.requests.append((method, path, idem_key, fault.status))
                return fault.status, StubError(fault.status, fault.error_type, fault.message).body, False
            fingerprint = (method, path, json.dumps(params, sort_keys=True))
            if method == "POST" and idem_key and idem_key in self.state.idempotency:
                first, status, stored = self.state.idempotency[idem_key]
                if first != fingerprint:
                    err = StubError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                    )
                    return 400, err.body, False
                self.state.requests.append((method, path, idem_key, status))
                return status, stored, True
            try:
                status, result = 200, self._route(method, path, params)
            except StubError as exc:
                status, result = exc.status, exc.body
            if method == "POST" and idem_key:
                self.state.idempotency[idem_key] = (fingerprint, status, result)
            if fault is not None:  # lose_response: the work is done, the client never hears of it
                self.state.requests.append((method, path, idem_key, fault.status))
                return fault.status, StubError(fault.status, fault.error_type, fault.message).body, False
            self.state.requests.append((method, path, idem_key, status))
            return status, json.loads(json.dumps(result)), False

    def _take_fault(self, method: str, path: str, params: Params) -> Fault | None:
        for fault in self.state.faults:
            if fault.times > 0 and fault.matches(method, path, params):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                return fault
        return None

    def _route(self, method: str, path: str, params: Params) -> Params:
        routes: list[tuple[str, str, Callable[..., Params]]] = [
            ("POST", r"/v1/customers", self._create_customer),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", self._get("customers", "customer")),
            ("POST", r"/v1/invoiceitems", self._create_item),
            ("POST", r"/v1/invoices", self._create_invoice),
            ("POST", r"/v1/invoices/(?P<id>[^/]+)/finalize", self._finalize),
            ("GET", r"/v1/invoices/(?P<id>[^/]+)", self._get("invoices", "invoice")),
        ]
        for verb, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return fn(params, **match.groupdict())
        raise StubError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_stub{next(self._ids):010d}"

    def _get(self, kind: str, name: str) -> Callable[..., Params]:
        def get(_: Params, id: str) -> Params:
            found = getattr(self.state, kind).get(id)
            if found is None:
                raise StubError(
                    404, "invalid_request_error", f"No such {name}: '{id}'", "resource_missing", "id"
                )
            return dict(found)

        return get

    def _create_customer(self, params: Params) -> Params:
        customer = {
            "id": self._new_id("cus"),
            "object": "customer",
            "name": params.get("name"),
            "email": params.get("email"),
            "metadata": params.get("metadata", {}),
        }
        self.state.customers[customer["id"]] = customer
        return customer

    def _amount(self, params: Params) -> int:
        raw = params.get("amount")
        if raw is None or not re.fullmatch(r"-?\d+", str(raw)):
            raise StubError(
                400, "invalid_request_error", f"Invalid integer: {raw}", "parameter_invalid_integer", "amount"
            )
        return int(raw)

    def _create_item(self, params: Params) -> Params:
        customer = params.get("customer")
        if customer not in self.state.customers:
            raise StubError(
                400,
                "invalid_request_error",
                f"No such customer: '{customer}'",
                "resource_missing",
                "customer",
            )
        amount = self._amount(params)
        invoice_id = params.get("invoice")
        if invoice_id is not None:
            invoice = self.state.invoices.get(invoice_id)
            if invoice is None:
                raise StubError(
                    400,
                    "invalid_request_error",
                    f"No such invoice: '{invoice_id}'",
                    "resource_missing",
                    "invoice",
                )
            if invoice["status"] != "draft":
                raise StubError(
                    400,
                    "invalid_request_error",
                    "You can only add items to a draft invoice.",
                    "invoice_not_editable",
                    "invoice",
                )
            if invoice["customer"] != customer or invoice["currency"] != params.get("currency"):
                raise StubError(
                    400,
                    "invalid_request_error",
                    "The invoice belongs to another customer or currency.",
                    param="invoice",
                )
        period = params.get("period") or {}
        item = {
            "id": self._new_id("ii"),
            "object": "invoiceitem",
            "customer": customer,
            "invoice": invoice_id,
            "amount": amount,
            "currency": params.get("currency"),
            "description": params.get("description"),
            "metadata": params.get("metadata", {}),
            "period": {k: int(v) for k, v in period.items()} or None,
        }
        self.state.invoice_items[item["id"]] = item
        if invoice_id is not None:
            self._recompute(self.state.invoices[invoice_id])
        return item

    def _create_invoice(self, params: Params) -> Params:
        customer = params.get("customer")
        if customer not in self.state.customers:
            raise StubError(
                400,
                "invalid_request_error",
                f"No such customer: '{customer}'",
                "resource_missing",
                "customer",
            )
        invoice: Params = {
            "id": self._new_id("in"),
            "object": "invoice",
            "customer": customer,
            "currency": params.get("currency"),
            "status": "draft",
            "auto_advance": params.get("auto_advance") == "true",
            "collection_method": params.get("collection_method", "charge_automatically"),
            "description": params.get("description"),
            "metadata": params.get("metadata", {}),
            "number": None,
        }
        self.state.invoices[invoice["id"]] = invoice
        if params.get("pending_invoice_items_behavior", "exclude") == "include":
            for item in self.state.invoice_items.values():
                if item["customer"] == customer and item["invoice"] is None:
                    item["invoice"] = invoice["id"]
        self._recompute(invoice)
        return invoice

    def _recompute(self, invoice: Params) -> None:
        items = [i for i in self.state.invoice_items.values() if i["invoice"] == invoice["id"]]
        total = sum(i["amount"] for i in items)
        lines = [
            {"id": i["id"], "object": "line_item", "amount": i["amount"], "metadata": i["metadata"]}
            for i in items
        ]
        invoice.update(
            lines={"object": "list", "data": lines, "has_more": False, "total_count": len(lines)},
            subtotal=total,
            total=total,
            amount_due=max(total, 0),
            amount_paid=0,
            amount_remaining=max(total, 0),
        )

    def _finalize(self, _: Params, id: str) -> Params:
        invoice = self.state.invoices.get(id)
        if invoice is None:
            raise StubError(
                404, "invalid_request_error", f"No such invoice: '{id}'", "resource_missing", "id"
            )
        if invoice["status"] != "draft":
            raise StubError(
                400,
                "invalid_request_error",
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                "invoice_not_editable",
            )
        invoice["number"] = f"STUB-{sum(1 for i in self.state.invoices.values() if i['number']) + 1:04d}"
        # Stripe marks an invoice with nothing to collect as paid when it is finalized.
        invoice["status"] = "open" if invoice["amount_due"] > 0 else "paid"
        return dict(invoice)


def _handler(stub: StripeStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without TCP_NODELAY, Nagle + delayed ACK add ~40 ms.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path, _, query = self.path.partition("?")
            status, payload, replayed = stub.handle(
                method,
                path,
                self.headers.get("Authorization"),
                self.headers.get("Idempotency-Key"),
                body or query,
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_stub{len(stub.state.requests)}")
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler
