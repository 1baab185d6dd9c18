"""The tenant + environment pair that every catalog read and write is confined to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scope:
    """Who is asking: rows of other tenants or environments are invisible through this scope."""

    tenant_id: str
    environment_id: str

    def __post_init__(self) -> None:
        if not self.tenant_id or not self.environment_id:
            raise ValueError("a scope needs both tenant_id and environment_id")
