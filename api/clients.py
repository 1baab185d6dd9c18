"""The app's shared clients, built once per start by its lifespan (``api/app.py``) onto ``app.state``.

- ``api_key_cache``: scopes of recently seen API keys, emptied by a revocation (``api/deps.py``);
- ``entitlement_service``: entitlement answers, catalog configuration cached ``CONFIG_TTL_SECONDS``
  per customer (``routers/entitlement_checks.py``);
- ``ingest_service``: usage events onto the bus the settings name (``routers/events.py``);
- ``object_store``: invoice PDFs, from the settings (``routers/invoices.py``);
- ``warehouse``: the usage history reads (``routers/usage.py``), a ``WarehouseReads`` that opens the
  warehouse the settings name on first use.

Routes read them from ``app.state``; nothing is built on a request. They are built from
``app.state.settings`` as it is at startup. A client already on ``app.state`` when the app starts (a
test's) is kept; one installed later replaces the built one for later requests. At shutdown the
lifespan closes the clients it built and the ones on ``app.state`` then, and clears the names, so an
app can be started again (tests start one app many times) with fresh clients.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api.deps import ApiKeyCache
from flexprice_pipelines.catalog.key_revocations import watch_key_changes
from flexprice_pipelines.events.bus import make_bus
from flexprice_pipelines.events.ingest import IngestService
from flexprice_pipelines.integrations.object_store import object_store_from_settings
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.usage.service import EntitlementService

# Subscriptions, plans and entitlements are re-read at most this often per customer; usage is always live.
CONFIG_TTL_SECONDS = 1.0


if TYPE_CHECKING:
    from flexprice_pipelines.warehouse.base import Warehouse

# How long a usage read waits for its turn on the embedded DuckDB file (a sink batch, a billing step, a
# dbt build hold it) before answering 503 with Retry-After; ClickHouse reads never wait.
WAREHOUSE_READ_WAIT_SECONDS = 30.0

SHARED = ("api_key_cache", "entitlement_service", "ingest_service", "object_store", "warehouse")


class WarehouseReads:
    """The warehouse of the usage read routes, opened (and its schema ensured) on the first read.

    Nothing is opened at startup, so the API starts while ClickHouse is down or before the first event
    created the DuckDB file. DuckDB reads take the file's turn like every other process (the warehouse
    README): they wait for a sink batch or a billing step, up to ``WAREHOUSE_READ_WAIT_SECONDS``.
    """

    def __init__(self, url: str, *, wait_seconds: float = WAREHOUSE_READ_WAIT_SECONDS) -> None:
        self.url = url
        self.wait_seconds = wait_seconds
        self._warehouse: Warehouse | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, store: Warehouse) -> WarehouseReads:
        """Reads over a store already open, its schema ensured (tests, embedding)."""
        reads = cls("")
        reads._warehouse = store
        return reads

    def get(self) -> Warehouse:
        """The store, built and its schema ensured once."""
        if self._warehouse is None:
            with self._lock:
                if self._warehouse is None:
                    # Imported here: the stores pull in pyarrow and pandas, which the API's start need not pay.
                    from flexprice_pipelines.warehouse.base import make_warehouse
                    from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

                    store = make_warehouse(self.url)
                    if isinstance(store, DuckDBWarehouse):
                        store.lock_timeout = self.wait_seconds
                    store.ensure_schema()
                    self._warehouse = store
        return self._warehouse

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None


def _builders(settings: Settings, database_url: str) -> dict[str, Callable[[], Any]]:
    return {
        "api_key_cache": lambda: ApiKeyCache(watch_key_changes(database_url)),
        "entitlement_service": lambda: EntitlementService(config_ttl=CONFIG_TTL_SECONDS),
        "ingest_service": lambda: IngestService(make_bus(settings)),
        "object_store": lambda: object_store_from_settings(settings),
        "warehouse": lambda: WarehouseReads(settings.resolved_warehouse_url),
    }


def open_clients(state: Any) -> dict[str, Any]:
    """Build every shared client that ``state`` does not hold yet; the ones built, by name."""
    builders = _builders(state.settings, state.database.url)
    assert tuple(builders) == SHARED, "a shared client is built here and closed by close_clients"
    built: dict[str, Any] = {}
    try:
        for name, build in builders.items():
            if getattr(state, name, None) is None:
                built[name] = build()
                setattr(state, name, built[name])
    except BaseException:
        close_clients(state, built)
        raise
    return built


def _close(client: Any) -> None:
    if isinstance(client, IngestService):
        client.bus.close()  # a Kafka producer delivers what it still holds
    elif isinstance(client, ApiKeyCache | WarehouseReads):
        client.close()  # stop watching revocations; close the warehouse client


def close_clients(state: Any, built: dict[str, Any]) -> None:
    """Close the clients ``open_clients`` built and those on ``state`` now; clear the names on ``state``."""
    clients = [*built.values(), *(getattr(state, name, None) for name in SHARED)]
    for name in SHARED:
        setattr(state, name, None)
    closed: set[int] = set()
    for client in clients:
        if client is not None and id(client) not in closed:
            closed.add(id(client))
            _close(client)
