"""The event bus seam: the API publishes accepted events; the sink drains them into the warehouse.

``publish`` returns only once the bus holds the whole batch durably and raises ``BusUnavailable`` otherwise;
the API answers 202 on return and 503 on the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from flexprice_pipelines.events.schema import Event

if TYPE_CHECKING:
    from flexprice_pipelines.settings import Settings


class BusUnavailable(RuntimeError):
    """The bus could not acknowledge a batch; the caller must treat it as not accepted (HTTP 503)."""


class EventBus(Protocol):
    """Where accepted events go."""

    def publish(self, events: Sequence[Event]) -> None:
        """Durably hand over the whole batch, or raise ``BusUnavailable``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def make_bus(settings: Settings) -> EventBus:
    """The bus chosen by ``FLEXPRICE_EVENT_BUS``: ``outbox`` (embedded default) or ``kafka``."""
    kind = settings.event_bus.strip().lower()
    if kind == "outbox":
        from flexprice_pipelines.events.outbox import OutboxBus

        return OutboxBus(settings.home / "outbox.db")
    if kind == "kafka":
        from flexprice_pipelines.events.kafka import KafkaBus

        return KafkaBus(settings.kafka_bootstrap_servers)
    raise ValueError(f"FLEXPRICE_EVENT_BUS must be 'outbox' or 'kafka', not {settings.event_bus!r}")
