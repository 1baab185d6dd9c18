"""The app's shared clients are built once per start by its lifespan and closed at shutdown; the lean
entitlement-check routes refuse a parameter they cannot supply."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import APIRouter, Request, Response
from fastapi.testclient import TestClient

from api.app import create_app
from api.clients import SHARED
from api.deps import ApiKeyCache, ScopeDep
from api.routing import LeanRoute
from flexprice_pipelines.catalog import db
from flexprice_pipelines.catalog.tenancy import create_tenant
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.events.outbox import OutboxBus
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.service import EntitlementService


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    db.migrate(url)
    return url


def test_clients_are_built_at_startup_kept_across_requests_and_closed_at_shutdown(
    url: str, tmp_path: Path
) -> None:
    app = create_app(Settings(database_url=url, home=tmp_path / "home"))
    assert all(getattr(app.state, name, None) is None for name in SHARED)  # nothing built by create_app
    with TestClient(app) as client:
        clients = {name: getattr(app.state, name) for name in SHARED}
        assert all(client is not None for client in clients.values())
        with app.state.database.session() as session:
            _, _, key = create_tenant(session, "clients")
            session.commit()
        for _ in range(2):
            response = client.post(
                "/v1/entitlements/check",
                json={"customer_id": "cust_x", "feature_id": "feat_x"},
                headers={"x-api-key": key},
            )
            assert response.status_code == 404, response.text
        assert {name: getattr(app.state, name) for name in SHARED} == clients  # nothing rebuilt per request
        cache = clients["api_key_cache"]
    assert all(getattr(app.state, name) is None for name in SHARED)
    with pytest.raises(ValueError):  # the revocation watch's mapping is closed
        cache.watch.generation()
    with TestClient(app):  # a second start builds fresh clients
        assert app.state.api_key_cache is not cache
        assert app.state.api_key_cache.generation() is not None


def test_a_client_installed_before_startup_is_kept_and_one_installed_later_is_closed_too(
    url: str, tmp_path: Path
) -> None:
    app = create_app(Settings(database_url=url, home=tmp_path / "home"))
    mine = app.state.entitlement_service = EntitlementService(config_ttl=0)
    with TestClient(app):
        assert app.state.entitlement_service is mine
        assert isinstance(app.state.api_key_cache, ApiKeyCache)
        bus = OutboxBus(tmp_path / "other-outbox.db")
        bus.publish([])  # no connection yet: publish of nothing opens none
        app.state.ingest_service = IngestService(bus)
        bus._connection()  # opened, as a publish would
        assert bus._conn is not None
    assert bus._conn is None  # closed by the lifespan with the app's own clients
    assert app.state.entitlement_service is None


def test_a_lean_route_refuses_a_parameter_it_cannot_supply() -> None:
    router = APIRouter(route_class=LeanRoute)

    async def with_query(scope: ScopeDep, request: Request, limit: int = 5) -> Response:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="no other parameters"):
        router.post("/x")(with_query)

    def not_async(scope: ScopeDep) -> Response:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="must be async"):
        router.post("/y")(not_async)


_STARTED_MODULES = """
import sys
from fastapi.testclient import TestClient
from api.app import create_app
from flexprice_pipelines.settings import Settings

app = create_app(Settings(database_url=sys.argv[1], home=sys.argv[2], event_bus="outbox"))
with TestClient(app) as client:
    assert client.get("/health").status_code == 200
    assert app.state.ingest_service is not None
    print(sorted(name for name in ("pyarrow", "pandas", "numpy") if name in sys.modules))
"""


def test_a_started_api_process_does_not_load_arrow(url: str, tmp_path: Path) -> None:
    # The API publishes events (``encode_event``) and never decodes an Arrow batch: building the ingest
    # service at startup must not load pyarrow, pandas and numpy into every worker (~100 MB, two threads).
    done = subprocess.run(
        [sys.executable, "-c", _STARTED_MODULES, url, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
