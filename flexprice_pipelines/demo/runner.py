"""``flexprice demo`` end to end: fresh home → seeded tenant → events → billed partitions → PDFs → summary.

Each phase is timed. The run is deterministic for a given ``now``, event count and seed: the same
invoices, numbers and amounts every time (only generated ids differ).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from flexprice_pipelines.catalog import db
from flexprice_pipelines.defs import resources as pipeline_resources
from flexprice_pipelines.defs.runs import PartitionOutcome, bill_month
from flexprice_pipelines.demo.events import batches, customer_spans, generate_items
from flexprice_pipelines.demo.ingest import drain, publish_batches
from flexprice_pipelines.demo.scenario import demo_customers, demo_months
from flexprice_pipelines.demo.seed import close_backfill_window, open_backfill_window, seed_tenant
from flexprice_pipelines.demo.summary import InvoiceRow, invoice_rows
from flexprice_pipelines.events.schema import TenantScope, TimestampPolicy
from flexprice_pipelines.integrations.object_store import object_store_from_settings
from flexprice_pipelines.integrations.pdf import write_invoice_pdfs
from flexprice_pipelines.settings import Settings
from flexprice_pipelines.warehouse import make_warehouse

MARKER = ".flexprice-demo"
DEFAULT_EVENTS = 1_000_000
DEFAULT_SEED = 42
_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster_instances" / "embedded" / "dagster.yaml"


class DemoHomeError(RuntimeError):
    """The chosen home holds files the demo did not create; it is never wiped."""


@dataclass(slots=True)
class DemoResult:
    """What a demo run produced."""

    home: Path
    tenant_id: str
    environment_id: str
    months: list[str]
    events_sent: int
    events_inserted: int
    events_distinct: int
    partitions: list[PartitionOutcome]
    rows: list[InvoiceRow]
    pdf_dir: Path
    pdfs_written: int
    timings: dict[str, float] = field(default_factory=dict)


def prepare_home(home: Path) -> None:
    """Wipe and re-create ``home``: only an empty directory or one a previous demo marked is removed."""
    if home.exists():
        if not (home / MARKER).exists() and any(home.iterdir()):
            raise DemoHomeError(
                f"{home} is not empty and was not created by `flexprice demo`; refusing to wipe it"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / MARKER).write_text("created by `flexprice demo`; wiped by the next run\n", encoding="utf-8")
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    if _DAGSTER_YAML.exists():
        shutil.copy(_DAGSTER_YAML, dagster_home / "dagster.yaml")


def demo_settings(home: Path) -> Settings:
    """The embedded default under ``home``, whatever ``FLEXPRICE_*`` the shell exports."""
    return Settings(
        home=home.resolve(), database_url=None, warehouse_url=None, object_store=None, event_bus="outbox"
    )


@contextmanager
def dagster_home(path: Path) -> Iterator[None]:
    """Point ``DAGSTER_HOME`` at the demo's instance for the duration (runs show in its ``dagster dev``)."""
    before = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = before


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Send this process's (and its children's) stdout and stderr to ``log`` at the descriptor level.

    Dagster's run logs and dbt's subprocess output would otherwise bury the progress bars; the console
    the demo prints with must write to a duplicate of the original stdout (see ``cli.demo``).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        fds = (sys.__stdout__.fileno(), sys.__stderr__.fileno())  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):  # no real descriptors (e.g. captured in tests)
        yield
        return
    saved = [os.dup(fd) for fd in fds]
    with log.open("ab") as sink:
        for fd in fds:
            os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip(fds, saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def run_demo(
    home: Path,
    now: datetime,
    *,
    events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
    engine: str = "dbt",
    console: Console | None = None,
) -> DemoResult:
    """Run the whole demo in ``home`` with the clock at ``now``; see the module docstring."""
    console = console or Console()
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = time.perf_counter() - clock
        clock = time.perf_counter()

    prepare_home(home)
    # After the home is wiped, cached engines' pooled connections would still read the deleted catalog.
    pipeline_resources.dispose_engines()
    settings = demo_settings(home)
    db.migrate(settings.resolved_database_url)
    factory = db.session_factory(db.make_engine(settings.resolved_database_url))
    months = demo_months(now)
    customers = demo_customers(now)
    tenant = seed_tenant(factory, customers, now)
    console.print(
        f"tenant {tenant.scope.tenant_id}: {tenant.catalog_summary}; {len(customers)} customers subscribed"
    )
    lap("seed")

    scope = TenantScope(tenant.scope.tenant_id, tenant.scope.environment_id)
    start, end = months[0].start, months[-1].end
    # A historical import: the tenant opens its timestamp policy to the first demo month, then closes it.
    days = (now - start).days + 2
    bounds = open_backfill_window(factory, tenant.scope, days)
    policy = TimestampPolicy(max_past=timedelta(days=days), max_future=timedelta(minutes=bounds[1]))
    outbox = settings.home / "outbox.db"
    items = generate_items(customers, customer_spans(customers, start, end), events, seed)
    expected = events + events // 100
    with _progress(console) as progress:
        task = progress.add_task("publish (POST /v1/events/bulk)", total=expected)
        sent, _ = publish_batches(
            outbox, scope, batches(items, seed), now, policy, lambda n: progress.advance(task, n)
        )
        progress.update(task, total=sent, completed=sent)
    close_backfill_window(factory, tenant.scope, bounds)
    lap("publish")
    with _progress(console) as progress:
        task = progress.add_task("sink → warehouse", total=sent)
        totals = drain(outbox, settings.resolved_warehouse_url, lambda n: progress.advance(task, n))
    warehouse = make_warehouse(settings.resolved_warehouse_url)
    try:
        [(distinct,)] = warehouse.query(
            "select count(*) from raw_events_latest where tenant_id = $tenant", {"tenant": scope.tenant_id}
        )
    finally:
        warehouse.close()
    lap("sink")

    outcomes = []
    log = settings.home / "demo.log"
    with dagster_home(settings.home / "dagster"), output_to(log), _progress(console) as progress:
        for month in months:
            task = progress.add_task(f"bill {month.key}", total=None)
            outcome = bill_month(
                settings,
                tenant.scope.tenant_id,
                month,
                now.isoformat(),
                engine,
                lambda done, total, task=task: progress.update(task, completed=done, total=total),  # type: ignore[misc]
            )
            outcomes.append(outcome)
            if not outcome.success:
                console.print(f"[red]billing {month.key} failed (run {outcome.run_id}); see {log}")
    lap("bill")

    store = object_store_from_settings(settings)
    written = 0
    with factory() as session:
        for month in months:
            written += write_invoice_pdfs(session, tenant.scope, month.key, store).rendered
        session.commit()
    lap("pdfs")

    with factory() as session:
        rows = invoice_rows(session, tenant.scope, start, end)
    timings["total"] = sum(timings.values())
    return DemoResult(
        home=settings.home,
        tenant_id=tenant.scope.tenant_id,
        environment_id=tenant.scope.environment_id,
        months=[m.key for m in months],
        events_sent=sent,
        events_inserted=totals.inserted,
        events_distinct=int(distinct),
        partitions=outcomes,
        rows=rows,
        pdf_dir=settings.home / "pdfs",
        pdfs_written=written,
        timings=timings,
    )
