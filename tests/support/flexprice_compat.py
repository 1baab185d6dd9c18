"""Flexprice's operations against ours: what we serve, what we spell differently, and the table of it.

Inputs: Flexprice's OpenAPI document (``tests/support/flexprice_spec.py`` finds it; never committed), our
app (its router and ``api.app.openapi_schema()``), and the installed official ``flexprice`` SDK (method
names). Output: ``docs/flexprice-compatibility.md``, regenerated with::

    make compat-table            # or: .venv/bin/python -m tests.support.flexprice_compat

``--check`` exits 1 (printing a diff) instead of writing when the committed file is stale;
``tests/api/test_flexprice_operations.py`` runs the same comparison.

Nothing here is a typed list of what we serve: an operation is *claimed* when our router dispatches
Flexprice's method and path to a route of ours whose template equals Flexprice's (path parameter names
aside). What is typed is judgement: which issue brings an operation (``BROUGHT_BY``), which of our
routes are deliberate extensions (``EXTENSIONS``), and which differences are known and tracked
(``KNOWN_MISMATCHES``) — each with its reason, all rendered into the document.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[2]
TABLE = CHECKOUT / "docs" / "flexprice-compatibility.md"
REGENERATE = "make compat-table"
FLEXPRICE_BASE = "/v1"  # Flexprice's server URLs end in /v1; its spec's paths are relative to it
METHODS = ("get", "post", "put", "patch", "delete")
NEUTRAL_MARK = "x-flexprice-neutral"  # api/schemas/common.py NEUTRAL_MARK; read from the document
WEBHOOK_PREFIX = "/webhook-events/"  # the spec documents outbound payloads as pseudo-operations

SERVED = "served"
NEUTRAL = "accepted at neutral values"
DIFFERS = "differs"
NOT_YET = "not yet"
NOT_PLANNED = "not planned"
STATUSES = (SERVED, NEUTRAL, DIFFERS, NOT_YET, NOT_PLANNED)

# Which open issue brings an operation we do not serve, from the issues' own texts. First match wins:
# (method or "*", a regular expression on Flexprice's path, issue, why). Unmatched → "not planned".
BROUGHT_BY: tuple[tuple[str, str, int, str], ...] = (
    # 13: the SDK's usage reads, lookups and shapes, named in the issue
    ("*", r"^/events/(usage|usage/meter|query|analytics|lookup)$", 13, "usage reads"),
    ("GET", r"^/customers/usage$", 13, "usage reads"),
    ("POST", r"^/subscriptions/usage$", 13, "usage reads"),
    ("GET", r"^/wallets/\{[^}]+\}/balance/real-time$", 13, "usage reads"),
    ("GET", r"^/customers/\{[^}]+\}/wallets$", 13, "usage reads"),
    ("GET", r"^/prices/lookup/\{[^}]+\}$", 13, "lookups"),
    ("GET", r"^/coupons/code/\{[^}]+\}$", 13, "lookups"),
    ("GET", r"^/plans/\{[^}]+\}/(entitlements|creditgrants)$", 13, "lookups"),
    ("GET", r"^/subscriptions/\{[^}]+\}/entitlements$", 13, "lookups"),
    ("GET", r"^/customers/\{[^}]+\}/invoices/summary$", 13, "lookups"),
    ("PUT", r"^/customers$", 13, "the SDK's update_customer"),
    ("POST", r"^/wallets/\{[^}]+\}/terminate$", 13, "wallet terminate shape"),
    (
        "POST",
        r"^/(customers|features|plans|prices|entitlements|subscriptions(/lineitems)?|invoices|coupons"
        r"|wallets(/transactions)?)/search$",
        13,
        "search on every resource we have",
    ),
    # 17: payments and dunning, integrations, invoice email
    ("*", r"^/payments(/|$)", 17, "payments"),
    ("*", r"^/invoices/\{[^}]+\}/payment(/attempt)?$", 17, "payments"),
    ("*", r"^/checkout/", 17, "checkout sessions"),
    ("*", r"^/integrations/", 17, "integrations"),
    ("POST", r"^/invoices/\{[^}]+\}/comms/trigger$", 17, "invoice email (Resend)"),
    # 16: the subscription and invoice lifecycle
    ("*", r"^/addons(/|$)", 16, "add-ons"),
    ("*", r"^/creditnotes(/|$)", 16, "credit notes"),
    ("*", r"^/coupons/associations", 16, "line-item coupons"),
    ("*", r"^(/v1)?/subscriptions?(-schedules|/)", 16, "subscription lifecycle"),
    ("POST", r"^/invoices(/preview)?$", 16, "one-off invoices, preview"),
    ("*", r"^/invoices/\{[^}]+\}(/finalize|/recalculate(-v2)?)?$", 16, "invoice lifecycle"),
    ("GET", r"^/customers/\{[^}]+\}/grants/upcoming$", 16, "upcoming grants"),
    # 15: tenant settings feed the invoice's seller block and payment terms
    ("PUT", r"^/tenants/update$", 15, "seller legal block and payment terms from tenant settings"),
)

# Our routes that Flexprice's document does not have, on purpose: (METHOD, our path) → why.
EXTENSIONS: dict[tuple[str, str], str] = {
    ("GET", "/health"): "liveness probe for deployments; not a Flexprice resource",
    ("GET", "/v1/events"): "Flexprice's router serves GET /events (list raw events, named by issue 13); its "
    "document lists only POST /events/query, which the SDK's list_raw_events calls (served too)",
    ("PUT", "/v1/customers/{id}"): "our update by path, kept for existing clients; the SDK's update_customer "
    "is PUT /v1/customers?id= (served too)",
    ("POST", "/v1/entitlements/check"): "our latency-critical entitlement check (Flexprice answers "
    "entitlements per customer only)",
    ("POST", "/v1/entitlements/check/batch"): "several entitlement checks in one request",
    **{
        (method, f"/v1/meters{suffix}"): "Flexprice's router still serves meters (internal/api/router.go), "
        "its document dropped them for features with inline meters; catalog-as-code manages meters"
        for method, suffix in (
            ("POST", ""),
            ("GET", ""),
            ("GET", "/{id}"),
            ("PUT", "/{id}"),
            ("DELETE", "/{id}"),
        )
    },
    **{
        ("GET", f"/v1/{resource}"): "paginated GET list; Flexprice's router serves it too, its document "
        "lists only POST …/search (kept per issue 13)"
        for resource in (
            "features",
            "plans",
            "prices",
            "entitlements",
            "customers",
            "subscriptions",
            "coupons",
            "wallets",
            "creditgrants",
            "invoices",
        )
    },
    ("GET", "/v1/features/{id}"): "get one feature; Flexprice's router serves GET /features/:id, its "
    "document omits it",
    ("GET", "/v1/wallets/{id}/balance"): "the stored balance (Flexprice's real-time balance is "
    "GET /wallets/{id}/balance/real-time, issue 13)",
    ("POST", "/v1/subscriptions/{id}/pause"): "pause a subscription (Flexprice has no public pause route)",
    ("POST", "/v1/subscriptions/{id}/resume"): "resume a paused subscription",
    ("POST", "/v1/webhooks/stripe/{tenant_id}/{environment_id}"): "inbound Stripe webhooks",
    **{
        (method, f"/v1/webhooks/endpoints{suffix}"): "outbound webhook endpoints (Flexprice delegates "
        "them to Svix)"
        for method, suffix in (
            ("POST", ""),
            ("GET", ""),
            ("GET", "/{id}"),
            ("PUT", "/{id}"),
            ("DELETE", "/{id}"),
            ("GET", "/{id}/attempts"),
        )
    },
}

# Known differences, each tracked by an issue. Keys: ("flexprice", METHOD, Flexprice's path) for a
# claimed operation answering another success status; ("ours", METHOD, our path) for a route of ours
# spelled near a Flexprice path. The tests expect them to fail (strictly: fixing one fails the test
# until its entry is removed here).
KNOWN_MISMATCHES: dict[tuple[str, str, str], str] = {
    ("flexprice", "POST", "/v1/taxes/associations"): "issue 13: Flexprice's create answers 200",
    ("ours", "GET", "/v1/customers/{id}/usage"): "issue 13: the SDK reads GET /v1/customers/usage?"
    "customer_id=; Flexprice's router also serves /customers/:id/usage (not in its document)",
}


def normalize(path: str) -> str:
    """A path template with parameter names erased: ``/customers/{id}`` → ``/customers/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def flexprice_path(spec_path: str) -> str:
    """The path the SDK requests (server URL ``…/v1`` + the spec's path)."""
    return FLEXPRICE_BASE + spec_path


@dataclass(frozen=True)
class FlexOp:
    method: str
    path: str  # as the SDK requests it, /v1 included
    spec_path: str
    tag: str
    operation_id: str | None
    success: frozenset[str]


@dataclass(frozen=True)
class OurOp:
    method: str
    path: str
    success: frozenset[str]
    neutral: tuple[str, ...]  # request fields marked x-flexprice-neutral, with the issue bringing them


@dataclass
class Row:
    op: FlexOp
    sdk: str
    status: str
    note: str
    ours: OurOp | None = None
    issue: int | None = None  # the issue bringing a "not yet" operation


@dataclass
class Report:
    rows: list[Row]
    webhooks: list[tuple[str, str]]  # (Flexprice event name, status)
    our_events_not_flexprice: list[str]
    ours_unmatched: list[tuple[OurOp, str, list[FlexOp]]]  # (op, verdict, near Flexprice ops)
    sdk_version: str
    spec_version: str
    counts: Counter[str] = field(default_factory=Counter)


# ---------------------------------------------------------------- reading the inputs


def flexprice_operations(spec: dict[str, Any]) -> list[FlexOp]:
    """Every callable operation of the spec (the ``/webhook-events/*`` payload documents excluded)."""
    ops = []
    for spec_path, item in spec["paths"].items():
        if spec_path.startswith(WEBHOOK_PREFIX):
            continue
        for method in METHODS:
            if method in item:
                operation = item[method]
                ops.append(
                    FlexOp(
                        method=method.upper(),
                        path=flexprice_path(spec_path),
                        spec_path=spec_path,
                        tag=(operation.get("tags") or ["(untagged)"])[0],
                        operation_id=operation.get("x-speakeasy-name-override")
                        or operation.get("operationId"),
                        success=frozenset(c for c in operation.get("responses", {}) if c.startswith("2")),
                    )
                )
    return ops


def flexprice_webhook_events(spec: dict[str, Any]) -> list[str]:
    return sorted(p[len(WEBHOOK_PREFIX) :] for p in spec["paths"] if p.startswith(WEBHOOK_PREFIX))


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def neutral_fields(document: dict[str, Any], operation: dict[str, Any]) -> tuple[str, ...]:
    """The request's fields (body, nested, and parameters) carrying ``x-flexprice-neutral``."""
    found: list[str] = []
    seen: set[int] = set()

    def walk(schema: Any, where: str) -> None:
        if not isinstance(schema, dict) or id(schema) in seen:
            return
        seen.add(id(schema))
        schema = _resolve(document, schema)
        for name, prop in (schema.get("properties") or {}).items():
            mark = prop.get(NEUTRAL_MARK) if isinstance(prop, dict) else None
            if mark is not None:
                brought = mark.get("brought_by") if isinstance(mark, dict) else None
                found.append(f"{where}{name}" + (f" ({brought})" if brought else ""))
            walk(prop, f"{where}{name}.")
        for key in ("anyOf", "oneOf", "allOf"):
            for part in schema.get(key) or []:
                walk(part, where)
        walk(schema.get("items"), f"{where}[].")
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], f"{where}*.")

    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    walk(body.get("schema"), "")
    for parameter in operation.get("parameters", []):
        if NEUTRAL_MARK in parameter.get("schema", {}) or NEUTRAL_MARK in parameter:
            found.append(f"{parameter['in']} {parameter['name']}")
    return tuple(sorted(set(found)))


def our_operations(document: dict[str, Any]) -> list[OurOp]:
    ops = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                ops.append(
                    OurOp(
                        method=method.upper(),
                        path=path,
                        success=frozenset(c for c in operation.get("responses", {}) if c.startswith("2")),
                        neutral=neutral_fields(document, operation),
                    )
                )
    return ops


def _flat_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(prefix, route) in the order the router tries them; included routers are opened in place (FastAPI
    ≥ 0.16x keeps an included router as one entry holding ``original_router``)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _flat_routes(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
        elif getattr(route, "path_regex", None) is not None:
            yield prefix, route


def dispatched_route(routes: Iterable[Any], method: str, path: str) -> str | None:
    """The template of the route our router sends ``method path`` to (concrete values for parameters):
    the first route whose path and method match, as Starlette's router picks it."""
    concrete = re.sub(r"\{[^}]*\}", "x_1", path)
    for prefix, route in _flat_routes(routes):
        if not concrete.startswith(prefix):
            continue
        methods = getattr(route, "methods", None)
        if route.path_regex.match(concrete[len(prefix) :]) and (not methods or method in methods):
            return prefix + str(getattr(route, "path_format", None) or route.path)
    return None


@cache
def our_app_inputs() -> tuple[dict[str, Any], tuple[Any, ...]]:
    """Our OpenAPI document and our router's routes (no database opened)."""
    from api.app import create_app
    from flexprice_pipelines.settings import Settings

    app = create_app(Settings(database_url="sqlite://"))
    return app.openapi(), tuple(app.router.routes)


@dataclass(frozen=True)
class SdkMethod:
    name: str  # group.method on the Flexprice client
    method: str  # the HTTP method and path it requests (relative to the server URL)
    path: str


def _keyword(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


def sdk_methods() -> tuple[dict[str, SdkMethod], str]:
    """operationId → the installed official SDK's method (read from its source, not run)."""
    found = importlib.util.find_spec("flexprice")
    if found is None or not found.submodule_search_locations:
        return {}, "not installed"
    root = Path(next(iter(found.submodule_search_locations)))
    version_match = re.search(r'__version__: str = "([^"]+)"', (root / "_version.py").read_text())
    groups: dict[str, str] = {}  # class name → attribute on the Flexprice client
    sdk_class = next(
        n
        for n in ast.parse((root / "sdk.py").read_text()).body
        if isinstance(n, ast.ClassDef) and n.name == "Flexprice"
    )
    for statement in sdk_class.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotation = statement.annotation
            if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
                groups[annotation.value] = statement.target.id
    methods: dict[str, SdkMethod] = {}
    for module in sorted(root.glob("*.py")):
        for node in ast.parse(module.read_text()).body:
            if not isinstance(node, ast.ClassDef) or node.name not in groups:
                continue
            for function in node.body:
                if not isinstance(function, ast.FunctionDef):  # the sync method; *_async mirrors it
                    continue
                calls = [c for c in ast.walk(function) if isinstance(c, ast.Call)]
                operation_id = next(filter(None, (_keyword(c, "operation_id") for c in calls)), None)
                request = next((c for c in calls if _keyword(c, "path") and _keyword(c, "method")), None)
                if operation_id and request is not None:
                    methods.setdefault(
                        operation_id,
                        SdkMethod(
                            name=f"{groups[node.name]}.{function.name}",
                            method=str(_keyword(request, "method")),
                            path=str(_keyword(request, "path")),
                        ),
                    )
    return methods, version_match.group(1) if version_match else "unknown"


def our_event_types() -> tuple[str, ...]:
    """The outbound webhook event names we emit."""
    from flexprice_pipelines.ledger import events

    return tuple(getattr(events, "EVENT_TYPES", ()))


# ---------------------------------------------------------------- judging


def brought_by(method: str, spec_path: str) -> tuple[int, str] | None:
    for wanted, pattern, issue, why in BROUGHT_BY:
        if wanted in ("*", method) and re.search(pattern, spec_path):
            return issue, why
    return None


def _segment(text: str) -> str:
    """A path segment spelled canonically: case, separators and a plural ``s`` erased."""
    if text.startswith("{"):
        return "{}"
    text = re.sub(r"[-_.]", "", text.lower())
    if text.endswith("ies"):
        return text[:-3] + "y"
    return text[:-1] if text.endswith("s") and not text.endswith("ss") else text


def _segments(path: str) -> list[str]:
    return [_segment(s) for s in path.strip("/").split("/") if s]


def _close(a: str, b: str) -> bool:
    """Two literal segments one or two edits apart (a typo, not another word)."""
    if "{}" in (a, b) or min(len(a), len(b)) < 4:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def near_miss(method: str, path: str, theirs: FlexOp) -> bool:
    """``method path`` (ours) is Flexprice's ``theirs`` spelled differently: same method and resource,
    and the paths differ only in spelling or plurals, in segment order, by one path parameter (except a
    GET collection vs its item), or by a typo in one segment."""
    if method != theirs.method or normalize(path) == normalize(theirs.path):
        return False
    ours_s, their_s = _segments(path), _segments(theirs.path)
    if ours_s[:2] != their_s[:2]:  # same version and resource
        return False
    if ours_s == their_s or sorted(ours_s) == sorted(their_s):
        return True
    if abs(len(ours_s) - len(their_s)) == 1:
        longer, shorter = (ours_s, their_s) if len(ours_s) > len(their_s) else (their_s, ours_s)
        for i in range(len(longer)):
            if longer[i] == "{}" and longer[:i] + longer[i + 1 :] == shorter:
                collection_vs_item = method == "GET" and i == len(longer) - 1
                return not collection_vs_item
        return False
    if len(ours_s) == len(their_s):
        differing = [(a, b) for a, b in zip(ours_s, their_s, strict=True) if a != b]
        return len(differing) == 1 and _close(*differing[0])
    return False


def judge_ours(ours: list[OurOp], flex: list[FlexOp]) -> list[tuple[OurOp, str, list[FlexOp]]]:
    """Each of our operations that is not one of Flexprice's: ``near miss``, ``extension`` (declared in
    ``EXTENSIONS``) or ``undeclared``."""
    exact = {(f.method, normalize(f.path)) for f in flex}
    judged = []
    for op in ours:
        if (op.method, normalize(op.path)) in exact:
            continue
        near = [f for f in flex if near_miss(op.method, op.path, f)]
        if (op.method, op.path) in EXTENSIONS:
            verdict = "extension"
        elif near:
            verdict = "near miss"
        else:
            verdict = "undeclared"
        judged.append((op, verdict, near))
    return judged


def _query_names(document: dict[str, Any], op: FlexOp | OurOp) -> set[str]:
    path = op.spec_path if isinstance(op, FlexOp) else op.path
    operation = document["paths"][path][op.method.lower()]
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}


def build_report(
    spec: dict[str, Any],
    document: dict[str, Any],
    routes: Iterable[Any],
    sdk: tuple[dict[str, SdkMethod], str],
    event_types: Iterable[str],
) -> Report:
    flex = flexprice_operations(spec)
    ours = our_operations(document)
    by_template = {(o.method, normalize(o.path)): o for o in ours}
    methods, sdk_version = sdk
    rows = []
    routes = tuple(routes)
    unmatched = judge_ours(ours, flex)
    for op in flex:
        client = methods.get(op.operation_id or "")
        sdk_name = client.name if client else ""
        sdk_request = f"{client.method} {flexprice_path(client.path)}" if client else ""
        requests_elsewhere = client is not None and (
            client.method,
            normalize(flexprice_path(client.path)),
        ) != (
            op.method,
            normalize(op.path),
        )
        mine = by_template.get((op.method, normalize(op.path)))
        issue_number = None
        reached = dispatched_route(routes, op.method, op.path)
        if mine is not None and reached is not None and normalize(reached) == normalize(mine.path):
            if mine.success != op.success:
                status = DIFFERS
                note = f"answers {'/'.join(sorted(mine.success))}, Flexprice {'/'.join(sorted(op.success))}"
                tracked = KNOWN_MISMATCHES.get(("flexprice", op.method, op.path))
                note += f" ({tracked})" if tracked else ""
            elif mine.neutral:
                status, note = NEUTRAL, "neutral: " + ", ".join(mine.neutral)
            else:
                status, note = SERVED, ""
            ignored = sorted(_query_names(spec, op) - _query_names(document, mine))
            if ignored:
                ignored_note = "query parameters of Flexprice's not declared here (ignored): " + ", ".join(
                    ignored
                )
                note = "; ".join(n for n in [note, ignored_note] if n)
        else:
            issue = brought_by(op.method, op.spec_path)
            issue_number = issue[0] if issue else None
            status = NOT_YET if issue else NOT_PLANNED
            note = f"issue {issue[0]} ({issue[1]})" if issue else ""
            extra = []
            if mine is not None:
                extra.append(f"our route is shadowed by {op.method} {reached}")
            elif reached is not None:
                extra.append(f"reaches our {op.method} {reached}")
            extra += [f"ours: {o.method} {o.path}" for o, _, near in unmatched if op in near]
            note = "; ".join(n for n in [note, *extra] if n)
        if requests_elsewhere:
            note = "; ".join(n for n in [note, f"SDK {sdk_version} requests {sdk_request}"] if n)
        rows.append(Row(op=op, sdk=sdk_name, status=status, note=note, ours=mine, issue=issue_number))
    emitted = set(event_types)
    theirs = flexprice_webhook_events(spec)
    webhooks = [(name, "emitted" if name in emitted else "not emitted") for name in theirs]
    report = Report(
        rows=rows,
        webhooks=webhooks,
        our_events_not_flexprice=sorted(emitted - set(theirs)),
        ours_unmatched=unmatched,
        sdk_version=sdk_version,
        spec_version=str(spec.get("info", {}).get("version", "unknown")),
    )
    report.counts = Counter(r.status for r in rows)
    return report


def current_report(spec: dict[str, Any]) -> Report:
    document, routes = our_app_inputs()
    return build_report(spec, document, routes, sdk_methods(), our_event_types())


# ---------------------------------------------------------------- rendering


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _issue_counts(rows: Iterable[Row]) -> str:
    issues = Counter(r.issue for r in rows if r.status == NOT_YET)
    return ", ".join(f"issue {k}: {v}" for k, v in sorted(issues.items()))


def render(report: Report) -> str:
    lines = [
        "# Flexprice compatibility",
        "",
        "<!-- Generated by tests/support/flexprice_compat.py; do not edit by hand. -->",
        "",
        f"**Regenerate with `{REGENERATE}`** (`.venv/bin/python -m tests.support.flexprice_compat`) after any",
        "change to our routes or schemas, or to Flexprice's OpenAPI document; "
        "`tests/api/test_flexprice_operations.py`",
        "fails while this file is stale, and is skipped where Flexprice's document is absent "
        "(`tests/support/flexprice_spec.py`",
        "says where it is looked for, or set `FLEXPRICE_OPENAPI`).",
        "",
        f"Flexprice's OpenAPI document version {report.spec_version}; SDK method names from the official "
        f"Python SDK `flexprice` {report.sdk_version}.",
        "Paths are Flexprice's server URL path `/v1` + the spec's path, which the SDK requests: `/customers` "
        "is `/v1/customers`",
        "(a few spec paths already begin with `/v1`, which would be `/v1/v1/…`: the note then says what the "
        "SDK requests instead).",
        "",
        "## Summary",
        "",
        "| status | operations |",
        "|---|---|",
    ]
    for status in STATUSES:
        extra = f" ({_issue_counts(report.rows)})" if status == NOT_YET and report.counts[status] else ""
        lines.append(f"| {status} | {report.counts[status]}{extra} |")
    lines.append(f"| **total** | {len(report.rows)} |")
    lines += [
        "",
        "What the statuses mean:",
        "",
        f"- **{SERVED}**: our router sends Flexprice's method and path (parameter names aside) to a route "
        "of ours documenting exactly Flexprice's success status.",
        f"- **{NEUTRAL}**: served, but some request fields Flexprice defines are accepted only at their "
        "neutral values (the SDK's defaults) and refused with a 4xx naming the field otherwise "
        f"(marked `{NEUTRAL_MARK}` in our OpenAPI document; the fields are listed).",
        f"- **{DIFFERS}**: the route exists but documents another success status than Flexprice's.",
        f"- **{NOT_YET}**: not served; the note names the open issue that brings it (assigned from the "
        "issues' texts by `BROUGHT_BY` in the generator: 13 Flexprice's clients, 15 the finance user, 16 the "
        "subscription and invoice lifecycle, 17 payments and integrations; 14, scale, brings no operation).",
        f"- **{NOT_PLANNED}**: not served and no open issue brings it.",
        "",
        "Notes also say where a Flexprice path reaches another route of ours (e.g. a literal segment read as "
        "an id), which of our routes is spelled near it, and which query parameters Flexprice defines for an "
        "operation we serve without declaring them (FastAPI ignores undeclared query parameters).",
        "",
        "## Operations by resource",
    ]
    by_tag: dict[str, list[Row]] = {}
    for row in report.rows:
        by_tag.setdefault(row.op.tag, []).append(row)
    for tag in sorted(by_tag):
        rows = sorted(by_tag[tag], key=lambda r: (r.op.path, METHODS.index(r.op.method.lower())))
        counts = Counter(r.status for r in rows)
        summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
        lines += [
            "",
            f"### {tag}",
            "",
            summary,
            "",
            "| operation | SDK method | status | note |",
            "|---|---|---|---|",
        ]
        for row in rows:
            sdk = f"`{row.sdk}`" if row.sdk else (f"({row.op.operation_id})" if row.op.operation_id else "—")
            lines.append(f"| `{row.op.method} {row.op.path}` | {sdk} | {row.status} | {_cell(row.note)} |")
    lines += [
        "",
        "## Our routes that are not Flexprice's",
        "",
        "Every operation of our OpenAPI document that Flexprice's does not have: a declared extension (with "
        "its reason, `EXTENSIONS` in the generator), or a near miss — the same method and resource as a "
        "Flexprice operation with the path spelled differently (spelling, plurals, segment order, a "
        "path parameter more or less, a typo), which the SDK cannot reach.",
        "",
        "| our operation | verdict | Flexprice operation it is near | reason or tracking |",
        "|---|---|---|---|",
    ]
    for op, verdict, near in sorted(report.ours_unmatched, key=lambda t: (t[0].path, t[0].method)):
        near_text = ", ".join(f"`{f.method} {f.path}`" for f in near) or "—"
        why = EXTENSIONS.get((op.method, op.path)) or KNOWN_MISMATCHES.get(("ours", op.method, op.path), "")
        lines.append(f"| `{op.method} {op.path}` | {verdict} | {near_text} | {_cell(why)} |")
    emitted = sum(1 for _, s in report.webhooks if s == "emitted")
    lines += [
        "",
        "## Webhook events",
        "",
        f"Flexprice documents {len(report.webhooks)} outbound webhook payloads (as `POST /webhook-events/<name>` "
        f"pseudo-operations, not routes). We emit {emitted} of them by name (`EVENT_TYPES` of "
        "`flexprice_pipelines.ledger.events`); issue 13 brings Flexprice's names and payload shapes for "
        "everything we emit.",
        "",
    ]
    if report.our_events_not_flexprice:
        names = ", ".join(f"`{n}`" for n in report.our_events_not_flexprice)
        lines += [f"Event names we emit that Flexprice does not have: {names}.", ""]
    lines += ["| event | status |", "|---|---|"]
    lines += [f"| `{name}` | {status} |" for name, status in report.webhooks]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- command line


def _iter_diff(old: str, new: str) -> Iterator[str]:
    return difflib.unified_diff(
        old.splitlines(), new.splitlines(), "committed", "generated", lineterm="", n=1
    )


def stale_diff(spec: dict[str, Any]) -> str:
    """Empty when the committed table is what the spec and the app generate, else a unified diff."""
    committed = TABLE.read_text() if TABLE.is_file() else ""
    return "\n".join(_iter_diff(committed, render(current_report(spec))))


def main(argv: list[str]) -> int:
    from tests.support.flexprice_spec import _load, spec_candidates

    spec = _load()
    if spec is None:
        print(f"Flexprice's OpenAPI document is not at any of {[str(p) for p in spec_candidates()]}")
        return 2
    if "--check" in argv:
        diff = stale_diff(spec)
        if diff:
            print(diff)
            print(f"\n{TABLE.relative_to(CHECKOUT)} is stale: run `{REGENERATE}`")
            return 1
        return 0
    TABLE.write_text(render(current_report(spec)))
    print(f"wrote {TABLE.relative_to(CHECKOUT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
