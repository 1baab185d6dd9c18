"""``/health``: liveness and catalog reachability, without authentication."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "The catalog database is unreachable."}})
def health(request: Request) -> JSONResponse:
    """``{"status": "ok"}`` when the catalog database answers, else 503."""
    try:
        ok = request.app.state.database.ping()
    except Exception:  # any driver error means "not healthy", which is the answer, not a failure
        ok = False
    return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)
