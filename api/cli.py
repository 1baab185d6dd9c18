"""``flexprice api``: serve the REST API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer


def api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the REST API (catalog from FLEXPRICE_DATABASE_URL, or the SQLite file under FLEXPRICE_HOME)."""
    import uvicorn

    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, reload=reload)
