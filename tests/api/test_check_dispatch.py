"""``LeanDispatch`` (``api/dispatch.py``): a POST to an entitlement check's exact path, answered straight by
its ``LeanRoute`` handler ahead of Starlette's stack, gets the very response the full stack gives.

Each request is sent twice to one started app: through the dispatcher alone (its fall-through stack
refuses any request, so the dispatched path really answered) and through FastAPI's full middleware
stack without the dispatcher (the router, ``ExceptionMiddleware``, ``ServerErrorMiddleware``: the rest of
the app). Status, body and the headers a client reads must be the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import create_app
from api.deps import now
from api.dispatch import LeanDispatch, dispatched_routes
from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.settings import Settings
from tests.api.conftest import FROZEN_NOW

CHECK = "/v1/entitlements/check"
BATCH = "/v1/entitlements/check/batch"
JSON = "application/json"


async def _full_stack_refused(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError(f"{scope['method']} {scope['path']} was not dispatched")


def _as_app(app: FastAPI, stack: ASGIApp) -> ASGIApp:
    """``stack`` called as the app calls its middleware stack (``scope["app"]`` set first)."""

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app
        await stack(scope, receive, send)

    return asgi


@dataclass
class Stacks:
    app: FastAPI
    key: str
    dispatched: TestClient  # LeanDispatch, nothing behind it
    full: TestClient  # FastAPI's stack without LeanDispatch

    def both(self, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
        return self.dispatched.request(method, path, **kwargs), self.full.request(method, path, **kwargs)


def _stacks(app: FastAPI, key: str, raise_server_exceptions: bool = True) -> Stacks:
    lean = LeanDispatch(app, _full_stack_refused)
    full = FastAPI.build_middleware_stack(app)  # what create_app's API wraps
    return Stacks(
        app,
        key,
        TestClient(_as_app(app, lean), raise_server_exceptions=raise_server_exceptions),
        TestClient(_as_app(app, full), raise_server_exceptions=raise_server_exceptions),
    )


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[Stacks]:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db.migrate(url)
    app = create_app(Settings(database_url=url, home=tmp_path / "home"))
    app.dependency_overrides[now] = lambda: FROZEN_NOW
    with TestClient(app):  # the lifespan builds the shared clients both stacks use
        with app.state.database.session() as session:
            _, _, key = create_tenant(session, "dispatch")
            session.commit()
        yield _stacks(app, key)


def _same(dispatched: httpx.Response, full: httpx.Response, status: int) -> dict[str, Any]:
    assert dispatched.status_code == full.status_code == status, (dispatched.text, full.text)
    assert dispatched.content == full.content
    for header in ("content-type", "content-length", "www-authenticate", "allow", "location"):
        assert dispatched.headers.get(header) == full.headers.get(header), header
    body: dict[str, Any] = dispatched.json() if dispatched.content else {}
    return body


def _created(stacks: Stacks, path: str, body: dict[str, Any]) -> str:
    response = stacks.full.post(path, json=body, headers={"x-api-key": stacks.key})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_the_app_dispatches_exactly_the_two_checks(stacks: Stacks) -> None:
    assert set(dispatched_routes(stacks.app)) == {CHECK, BATCH}
    assert isinstance(stacks.app.build_middleware_stack(), LeanDispatch)
    with TestClient(stacks.app) as client:  # the app itself: its stack is built on the first request
        client.get("/health")
        assert isinstance(stacks.app.middleware_stack, LeanDispatch)


def test_an_answer_is_the_full_stacks(stacks: Stacks) -> None:
    meter = _created(
        stacks, "/v1/meters", {"event_name": "call", "name": "calls", "aggregation": {"type": "COUNT"}}
    )
    feature = _created(stacks, "/v1/features", {"name": "calls", "type": "metered", "meter_id": meter})
    customer = _created(stacks, "/v1/customers", {"external_id": "acme", "name": "Acme"})
    headers = {"x-api-key": stacks.key}
    one = _same(
        *stacks.both("POST", CHECK, json={"customer_id": customer, "feature_id": feature}, headers=headers),
        200,
    )
    assert (one["customer_id"], one["feature_id"], one["allowed"]) == (customer, feature, False)
    body = {"customer_id": customer, "features": [{"feature_id": feature}, {"feature_lookup_key": "nope"}]}
    missing = _same(*stacks.both("POST", BATCH, json=body, headers=headers), 404)
    assert missing["code"] == "not_found"
    body = {"external_customer_id": "acme", "features": [{"feature_id": feature}]}
    batch = _same(*stacks.both("POST", BATCH, json=body, headers=headers), 200)
    assert [r["feature_id"] for r in batch["results"]] == [feature]


@pytest.mark.parametrize("path", [CHECK, BATCH])
@pytest.mark.parametrize(
    ("content_type", "status", "field"),
    [
        ("text/plain", 415, "header.content-type"),
        (None, 415, "header.content-type"),
        ("application/x-www-form-urlencoded", 415, "header.content-type"),
        (JSON, 400, "body"),  # malformed JSON
        ("application/merge-patch+json; charset=utf-8", 400, "body"),  # JSON, so parsed: still malformed
    ],
)
def test_media_type_and_malformed_json(
    stacks: Stacks, path: str, content_type: str | None, status: int, field: str
) -> None:
    headers = {"x-api-key": stacks.key, **({"content-type": content_type} if content_type else {})}
    body = _same(*stacks.both("POST", path, content=b'{"customer_id": ', headers=headers), status)
    assert body["details"][0]["field"] == field


@pytest.mark.parametrize("path", [CHECK, BATCH])
@pytest.mark.parametrize("repeated", ["x-api-key", "content-type", "content-length"])
def test_a_repeated_header_is_refused(stacks: Stacks, path: str, repeated: str) -> None:
    content = b'{"customer_id": "cust_x", "feature_id": "feat_x"}'
    headers = [("x-api-key", stacks.key), ("content-type", JSON), ("content-length", str(len(content)))]
    headers += [(name, value) for name, value in headers if name == repeated]
    body = _same(*stacks.both("POST", path, content=content, headers=headers), 400)
    assert body["details"][0]["field"] == f"header.{repeated}"


@pytest.mark.parametrize("path", [CHECK, BATCH])
@pytest.mark.parametrize("key", [None, "", "fp_not_a_key"])
def test_a_missing_or_unknown_key_is_401(stacks: Stacks, path: str, key: str | None) -> None:
    headers = {} if key is None else {"x-api-key": key}
    # the key is checked before the body: even a malformed one is a 401
    for content in (b'{"customer_id": "cust_x", "feature_id": "feat_x"}', b"{"):
        response = _same(
            *stacks.both("POST", path, content=content, headers={**headers, "content-type": JSON}), 401
        )
        assert response["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        (CHECK, {"customer_id": "cust_x", "feature_id": 5}, 400, "body.feature_id"),
        # An unknown field is ignored (as Flexprice binds JSON): the unknown customer answers.
        (CHECK, {"customer_id": "cust_x", "feature_id": "feat_x", "extra": 1}, 404, "customer_id"),
        (CHECK, [1, 2], 400, "body"),
        (BATCH, {"customer_id": "cust_x", "features": "x"}, 400, "body.features"),
        (BATCH, {"customer_id": "cust_x", "features": []}, 400, "body.features"),
        (CHECK, {"customer_id": "cust_x", "feature_id": "feat_x"}, 404, None),
        (BATCH, {"external_customer_id": "nobody", "features": [{"feature_id": "feat_x"}]}, 404, None),
    ],
)
def test_invalid_input_and_unknown_ids(
    stacks: Stacks, path: str, body: Any, status: int, field: str | None
) -> None:
    response = _same(*stacks.both("POST", path, json=body, headers={"x-api-key": stacks.key}), status)
    fields = [d["field"] for d in response["details"]]
    assert field is None or field in fields, fields


def test_what_is_not_dispatched_takes_the_full_stack(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db.migrate(url)
    app = create_app(Settings(database_url=url, home=tmp_path / "home"))
    plain = _as_app(app, FastAPI.build_middleware_stack(app))
    with TestClient(app) as client, TestClient(plain) as full:
        for method, path in [
            ("GET", CHECK),
            ("PUT", BATCH),
            ("POST", CHECK + "/"),
            ("POST", "/v1/entitlements"),
        ]:
            ours = client.request(method, path, json={}, follow_redirects=False)
            theirs = full.request(method, path, json={}, follow_redirects=False)
            assert ours.status_code == theirs.status_code != 200, (method, path)
            assert ours.content == theirs.content
            assert ours.headers.get("allow") == theirs.headers.get("allow")
            assert ours.headers.get("location") == theirs.headers.get("location")
        # A proxy prefix (root_path): the router strips it, so the full stack answers (a 401, as routed).
        prefixed = TestClient(app, root_path="/api")
        response = prefixed.post(CHECK, json={"customer_id": "c", "feature_id": "f"})
        assert response.status_code == 401, response.text


def test_an_unhandled_error_is_the_500_of_every_route(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A catalog without tables: resolving any API key fails in the database, a bug-class error.
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", home=tmp_path / "home"))
    with TestClient(app):
        stacks = _stacks(app, "fp_any", raise_server_exceptions=False)
        headers = {"x-api-key": "fp_any"}
        for path in (CHECK, BATCH):
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="api"):
                dispatched = stacks.dispatched.post(
                    path, json={"customer_id": "c", "feature_id": "f"}, headers=headers
                )
            assert [r.getMessage() for r in caplog.records] == [f"unhandled error on POST {path}"]
            assert (
                caplog.records[0].exc_info is not None and caplog.records[0].exc_info[0] is OperationalError
            )
            full = stacks.full.post(path, json={"customer_id": "c", "feature_id": "f"}, headers=headers)
            body = _same(dispatched, full, 500)
            elsewhere = stacks.full.get("/v1/customers", headers=headers)
            assert elsewhere.status_code == 500 and elsewhere.json() == body  # the body of any route's 500
        # Re-raised to the server after the 500 is sent, as ServerErrorMiddleware does for every route.
        raising = _stacks(app, "fp_any")
        for client in (raising.dispatched, raising.full):
            with pytest.raises(OperationalError):
                client.post(CHECK, json={"customer_id": "c", "feature_id": "f"}, headers=headers)
