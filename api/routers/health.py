"""``/health``: liveness and catalog reachability, without authentication."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.routing import DocumentedRoute

router = APIRouter(tags=["health"], route_class=DocumentedRoute)


class HealthStatus(BaseModel):
    status: Literal["ok", "unavailable"]


@router.get(
    "/health",
    response_model=HealthStatus,
    responses={503: {"model": HealthStatus, "description": "The catalog database is unreachable."}},
)
def health(request: Request) -> JSONResponse:
    """``{"status": "ok"}`` when the catalog database answers, else 503."""
    try:
        ok = request.app.state.database.ping()
    except Exception:  # any driver error means "not healthy", which is the answer, not a failure
        ok = False
    return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)
