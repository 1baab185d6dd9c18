"""What the sink reads from: a bus seen from the consuming side (outbox table or Kafka consumer group)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol


class SourceMessage(NamedTuple):
    """One raw bus message and where it sits (outbox sequence, or Kafka topic/partition/offset).

    A named tuple rather than a frozen dataclass: the sink makes one per message, and a tuple is several
    times cheaper to build.
    """

    payload: bytes | None
    position: Any
    key: bytes | None = None
    fallback_ingested_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message the sink refused, and why."""

    message: SourceMessage
    reason: str


class SinkSource(Protocol):
    """A consuming view of the bus with an explicit, durable position."""

    def poll(self, max_messages: int, timeout: float) -> list[SourceMessage]:
        """Up to ``max_messages`` messages after the committed position (empty if none arrive in ``timeout``)."""
        ...

    def commit(self, messages: Sequence[SourceMessage], dead: Sequence[DeadLetter]) -> None:
        """Durably record ``dead`` in the DLQ, then move the position past ``messages``."""
        ...

    def drained(self) -> bool:
        """True when nothing is left after the committed position (used by ``flexprice sink --once``)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
