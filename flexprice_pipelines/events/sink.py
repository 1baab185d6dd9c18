"""The sink: bus → warehouse ``raw_events``, at least once, with poison messages set aside.

Per batch: poll, decode (refusals become dead letters), insert the good events, tell the listeners, then
commit the dead letters and the position together. A crash anywhere before the commit redelivers the batch;
the warehouse counts an ``event_id`` once, so the re-insert is harmless. Listeners see every event at least
once, after it is durable in the warehouse — the seam for the real-time usage read model.

Throughput: a batch is decoded into Arrow columns in one pass (``codec.decode_batch``) and inserted as one
Arrow table; ``Event`` objects are built only when a listener (or a store without ``insert_arrow``) needs
them. A store with ``holding()`` (DuckDB) keeps its file open for one drain cycle — consecutive non-empty
batches, at most ``hold_seconds`` — and releases it whenever the bus is idle or, between two batches, as soon
as another process waits for it (``turn_wanted()``), so a billing run waits for one batch, not for the backlog.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from flexprice_pipelines.events.codec import DecodedBatch, bounded_reason, decode_batch
from flexprice_pipelines.events.schema import Event
from flexprice_pipelines.events.source import DeadLetter, SinkSource, SourceMessage

if TYPE_CHECKING:
    from flexprice_pipelines.settings import Settings
    from flexprice_pipelines.warehouse.base import Warehouse


class SinkListener(Protocol):
    """Called with each batch once it is durable in the warehouse; must tolerate redelivered events."""

    def on_events(self, events: Sequence[Event]) -> None:
        """Take note of the events (keyed by ``Event.identity`` to stay idempotent)."""
        ...


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did."""

    polled: int
    inserted: int
    dead: int
    seconds: float


@dataclass(slots=True)
class SinkTotals:
    """Running totals of a sink run."""

    batches: int = 0
    polled: int = 0
    inserted: int = 0
    dead: int = 0
    seconds: float = 0.0

    def add(self, batch: BatchResult) -> None:
        """Fold one batch into the totals."""
        self.batches += 1
        self.polled += batch.polled
        self.inserted += batch.inserted
        self.dead += batch.dead
        self.seconds += batch.seconds


class Sink:
    """Drains a ``SinkSource`` into a ``Warehouse``."""

    def __init__(
        self,
        source: SinkSource,
        warehouse: Warehouse,
        *,
        listeners: Sequence[SinkListener] = (),
        batch_size: int = 20_000,
        poll_timeout: float = 0.5,
        hold_seconds: float = 5.0,
    ) -> None:
        self.source = source
        self.warehouse = warehouse
        self.listeners = list(listeners)
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.hold_seconds = hold_seconds

    def process_batch(self) -> BatchResult | None:
        """Move one batch from the bus to the warehouse; ``None`` if nothing arrived."""
        messages = self.source.poll(self.batch_size, self.poll_timeout)
        if not messages:
            return None
        return self._move(messages)

    def _move(self, messages: list[SourceMessage]) -> BatchResult:
        # Every stage sets aside the rows it cannot take, with the reason, and passes the rest on: no
        # message can stop the sink. A row refused by a listener is already in the warehouse.
        started = time.perf_counter()
        batch = decode_messages(messages)
        refused = list(batch.dead)
        if len(batch):
            batch = apply_isolating("warehouse", batch, self._insert, refused)
        inserted = len(batch)
        for number, listener in enumerate(self.listeners):
            if len(batch):
                name = f"listener {number} ({type(listener).__name__}, row is in the warehouse)"
                batch = apply_isolating(name, batch, telling(listener), refused)
        dead = [DeadLetter(messages[index], reason) for index, reason in sorted(refused)]
        self.source.commit(messages, dead)
        return BatchResult(len(messages), inserted, len(dead), time.perf_counter() - started)

    def _insert(self, batch: DecodedBatch) -> None:
        insert_arrow = getattr(self.warehouse, "insert_arrow", None)
        if insert_arrow is not None:
            insert_arrow(batch.table)
        else:
            self.warehouse.insert_events(batch.events())

    def run(
        self,
        *,
        once: bool = False,
        should_stop: Callable[[], bool] = lambda: False,
        on_batch: Callable[[BatchResult, SinkTotals], None] | None = None,
    ) -> SinkTotals:
        """Process batches until stopped, or with ``once`` until the bus is drained."""
        totals = SinkTotals()
        holding = getattr(self.warehouse, "holding", None)
        wanted: Callable[[], bool] = getattr(self.warehouse, "turn_wanted", lambda: False)
        held: ExitStack | None = None
        held_since = 0.0
        try:
            while not should_stop():
                messages = self.source.poll(self.batch_size, self.poll_timeout)
                if not messages:
                    # Idle: give the file back before waiting, so other writers are not kept out.
                    if held is not None:
                        held.close()
                        held = None
                    if once and self.source.drained():
                        break
                    continue
                if holding is not None and held is None:
                    held = ExitStack()
                    held.enter_context(holding())
                    held_since = time.monotonic()
                batch = self._move(messages)
                totals.add(batch)
                if on_batch is not None:
                    on_batch(batch, totals)
                if held is not None and (time.monotonic() - held_since >= self.hold_seconds or wanted()):
                    held.close()
                    held = None
        finally:
            if held is not None:
                held.close()
        return totals


def decode_messages(messages: Sequence[SourceMessage]) -> DecodedBatch:
    """``messages`` decoded; what cannot be decoded is in the batch's ``dead`` with the reason."""
    # ``decode_batch`` sets poison aside itself; should it still fail on the batch, decode one by one.
    try:
        return decode_batch(messages)
    except Exception as exc:
        if not refuses_data(exc):
            raise
    parts: list[DecodedBatch] = []
    dead: list[tuple[int, str]] = []
    for index, message in enumerate(messages):
        try:
            part = decode_batch([message])
        except Exception as exc:
            if not refuses_data(exc):
                raise
            dead.append((index, bounded_reason(f"decode: {type(exc).__name__}: {exc}")))
            continue
        dead.extend((index, reason) for _, reason in part.dead)
        part.rows[:] = [index] * len(part)
        parts.append(part)
    batch = DecodedBatch.concat(parts) if parts else decode_batch([])
    batch.dead = dead
    return batch


def telling(listener: SinkListener) -> Callable[[DecodedBatch], None]:
    def tell(batch: DecodedBatch) -> None:
        listener.on_events(batch.events())

    return tell


def apply_isolating(
    stage: str,
    batch: DecodedBatch,
    apply: Callable[[DecodedBatch], None],
    refused: list[tuple[int, str]],
) -> DecodedBatch:
    """Apply one stage to the batch; if it refuses the data, find the rows it refuses by halving.

    Returns the rows the stage took (each part was applied once, in one call, so a stage that is one
    transaction per call never holds a refused row); the refused ones join ``refused`` with the stage and
    the error as the reason. An error that is not about the data (disk, lock, network) propagates: the
    batch is redelivered whole, never dead-lettered for an outage.
    """
    try:
        apply(batch)
        return batch
    except Exception as exc:
        if not refuses_data(exc):
            raise
        if len(batch) == 1:
            refused.append((batch.rows[0], bounded_reason(f"{stage}: {type(exc).__name__}: {exc}")))
            return batch.take([])
    middle = len(batch) // 2
    kept = [
        apply_isolating(stage, batch.take(range(start, end)), apply, refused)
        for start, end in ((0, middle), (middle, len(batch)))
    ]
    return DecodedBatch.concat(kept)


# DB-API data/constraint classes as duckdb, SQLAlchemy, psycopg and clickhouse-connect name them.
_DATA_ERROR_NAMES = frozenset({"DataError", "IntegrityError", "InvalidInputException"})


def refuses_data(exc: BaseException) -> bool:
    """Whether ``exc`` says a stage cannot take these rows (versus: it cannot work right now).

    Python's data errors (``ValueError`` and ``TypeError`` with their kin, arithmetic such as
    ``decimal.InvalidOperation``, recursion) and the drivers' data/constraint classes count; I/O, locks
    (``WarehouseBusy``), connections and anything unknown do not, so an outage is never dead-lettered.
    """
    if isinstance(exc, MemoryError | OSError):
        return False
    if isinstance(exc, ValueError | TypeError | ArithmeticError | LookupError | RecursionError):
        return True
    return any(kind.__name__ in _DATA_ERROR_NAMES for kind in type(exc).__mro__)


def make_source(settings: Settings) -> SinkSource:
    """The consuming side of the bus chosen by ``FLEXPRICE_EVENT_BUS``."""
    kind = settings.event_bus.strip().lower()
    if kind == "outbox":
        from flexprice_pipelines.events.outbox import OutboxSource

        return OutboxSource(settings.home / "outbox.db")
    if kind == "kafka":
        from flexprice_pipelines.events.kafka import DLQ_TOPIC, EVENTS_TOPIC, KafkaSource, ensure_topics

        ensure_topics(settings.kafka_bootstrap_servers, [EVENTS_TOPIC, DLQ_TOPIC])
        return KafkaSource(
            settings.kafka_bootstrap_servers, session_timeout_ms=settings.kafka_session_timeout_ms
        )
    raise ValueError(f"FLEXPRICE_EVENT_BUS must be 'outbox' or 'kafka', not {settings.event_bus!r}")
