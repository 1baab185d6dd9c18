"""Usage from the dbt project: write the dbt inputs, run the partition's models, read ``fct_period_usage``.

``billing_windows`` writes the partition's windows and meter snapshot with ``warehouse.billing_inputs``;
the ``@dbt_assets`` below build ``stg_events → int_meter_events → fct_period_usage(_buckets)`` with the
partition vars (``tenant_id``, ``period``); ``period_usage`` reads the rows back as ``UsageRow``.

The manifest is prepared at install time (``flexprice dbt-prepare``, ``dbt_project.py``); importing this
module only reads it, and fails with ``ManifestNotPrepared`` when it is missing or stale.
"""

import json
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from flexprice_pipelines.billing.meters import ARITHMETIC, Meter
from flexprice_pipelines.billing.months import YearMonth
from flexprice_pipelines.billing.rating.rate import UsageRow
from flexprice_pipelines.billing.rating.windows import UsageWindow, WindowRole
from flexprice_pipelines.dbt_project import (
    connection_profile,
    dbt_executable,
    dbt_project_dir,
    require_manifest,
    write_profiles_dir,
)
from flexprice_pipelines.defs.partitions import BILLING_PARTITIONS, partition_keys
from flexprice_pipelines.defs.resources import WAREHOUSE_POOL, WarehouseResource
from flexprice_pipelines.warehouse import billing_inputs as inputs
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

DBT_DIR = dbt_project_dir()
USAGE_MODELS = "+fct_period_usage +fct_period_usage_buckets"

# One profiles directory per warehouse URL for the process (``DbtUsageResource.profiles_dir``).
_PROFILES: dict[str, Path] = {}
_PROFILES_LOCK = threading.Lock()


class UsageTranslator(DagsterDbtTranslator):
    """Puts the usage models in the billing group; a source's key is its table name (``billing_windows``
    is the pipeline's own asset, which also writes the meter snapshot tables)."""

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return dg.AssetSpec(key=props["name"])
        return super().get_asset_spec(manifest, unique_id, project).replace_attributes(group_name="billing")


class DbtUsageResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """dbt pointed at the same warehouse as ``WarehouseResource`` (DuckDB file or ClickHouse over HTTP)."""

    warehouse_url: str

    def profile_env(self) -> dict[str, str]:
        """The values of the variables ``dbt/profiles.yml`` reads, for this warehouse URL (what the profile
        written by ``profiles_dir`` holds)."""
        if self.warehouse_url.startswith("duckdb://"):
            return {
                "FLEXPRICE_DBT_TARGET": "duckdb",
                "FLEXPRICE_DUCKDB_PATH": self.warehouse_url.removeprefix("duckdb:///"),
            }
        parsed = urlparse(self.warehouse_url)
        return {
            "FLEXPRICE_DBT_TARGET": "clickhouse",
            "FLEXPRICE_CLICKHOUSE_HOST": parsed.hostname or "127.0.0.1",
            "FLEXPRICE_CLICKHOUSE_PORT": str(parsed.port or 8123),
            "FLEXPRICE_CLICKHOUSE_USER": parsed.username or "default",
            "FLEXPRICE_CLICKHOUSE_PASSWORD": parsed.password or "",
            "FLEXPRICE_CLICKHOUSE_DATABASE": parsed.path.strip("/") or "default",
        }

    @contextmanager
    def warehouse_turn(self) -> Iterator[None]:
        """The DuckDB file to this step while dbt runs (dbt-duckdb fails at once on a taken file); a no-op
        on ClickHouse."""
        if self.warehouse_url.startswith("duckdb://"):
            with DuckDBWarehouse(self.warehouse_url.removeprefix("duckdb:///")).exclusive():
                yield
        else:
            yield

    def target(self) -> str:
        """The ``dbt/profiles.yml`` output for this warehouse: ``duckdb`` or ``clickhouse``."""
        return self.profile_env()["FLEXPRICE_DBT_TARGET"]

    def profiles_dir(self) -> Path:
        """A profiles directory whose ``flexprice`` profile connects to this warehouse (written once per
        process and URL): the connection travels in ``DbtCliResource`` arguments, never in ``os.environ``."""
        with _PROFILES_LOCK:
            directory = _PROFILES.get(self.warehouse_url)
            if directory is None:
                profile = connection_profile(self.target(), self.profile_env(), DBT_DIR)
                directory = _PROFILES[self.warehouse_url] = write_profiles_dir(profile)
            return directory

    def cli(self) -> DbtCliResource:
        """A ``DbtCliResource`` with the venv's dbt, pointed at this warehouse by ``profiles_dir`` and ``target``."""
        return DbtCliResource(
            project_dir=str(DBT_DIR),
            profiles_dir=str(self.profiles_dir()),
            target=self.target(),
            dbt_executable=dbt_executable(),
        )


# Late-usage re-checks and audits reach back 2 × (max_past + grace) before the previous invoice: with the
# default 35-day policy and periods up to a quarter, four months of slices hold every re-checked window.
RECHECK_MONTHS = 4


def _vars(tenant_id: str, month: YearMonth) -> list[str]:
    periods = [m.key for m in recheck_months(month)] + [month.key]
    return ["--vars", json.dumps({"tenant_id": tenant_id, "periods": periods})]


def recheck_months(month: YearMonth, count: int = RECHECK_MONTHS) -> list[YearMonth]:
    """The months before ``month`` whose usage slices are rebuilt for the late-usage re-check, oldest first."""
    months = [month.previous]
    while len(months) < count:
        months.append(months[-1].previous)
    return months[::-1]


@dbt_assets(
    manifest=require_manifest(DBT_DIR),
    select=USAGE_MODELS,
    partitions_def=BILLING_PARTITIONS,
    dagster_dbt_translator=UsageTranslator(),
    pool=WAREHOUSE_POOL,
    name="usage_models",
)
def usage_models(context: dg.AssetExecutionContext, dbt_usage: DbtUsageResource) -> Iterator[Any]:
    """Exact usage per window × meter in SQL (dbt), for the partition's month and the month before it."""
    tenant, month = partition_keys(context)
    dbt = dbt_usage.cli()
    # One dbt invocation (each costs seconds of start-up and parsing): the partition's slice and the earlier
    # months' slices, rebuilt so the late-usage check sees events that arrived since they were billed.
    # dbt unit tests run on fixed fixtures, which the partition vars would filter out; CI runs them unscoped.
    build = ["build", "--exclude-resource-type", "unit_test", *_vars(tenant, month)]
    with dbt_usage.warehouse_turn():
        yield from dbt.cli(build, context=context).stream()


def write_dbt_inputs(
    warehouse: WarehouseResource,
    tenant_id: str,
    environment_id: str,
    period_key: str,
    windows: Sequence[UsageWindow],
    meters: Mapping[str, Meter],
) -> int:
    """Replace the partition's ``billing_windows`` slice and the environment's meter snapshot."""
    rows = [
        inputs.BillingWindow(
            subscription_id=w.subscription_id,
            line_item_id=w.line_item_id,
            price_id=w.price_id,
            meter_id=w.meter_id,
            customer_id=w.customer_id,
            external_customer_id=w.external_customer_id,
            window_start=w.window_start,
            window_end=w.window_end,
        )
        for w in windows
        if w.role is WindowRole.CYCLE
    ]
    snapshot = [meter.model_copy(update={"id": meter_id}) for meter_id, meter in sorted(meters.items())]
    with warehouse.open() as store, store.billing_inputs_target() as (target, database):
        inputs.ensure_billing_inputs(target, database=database)
        inputs.write_billing_meters(target, tenant_id, environment_id, snapshot, database=database)
        return inputs.write_billing_windows(
            target, tenant_id, environment_id, period_key, rows, database=database
        )


def dbt_window_id(window: UsageWindow) -> str:
    """The id dbt gives ``window`` (``billing_inputs.window_id``)."""
    return inputs.window_id(
        window.tenant_id,
        window.environment_id,
        inputs.BillingWindow(
            subscription_id=window.subscription_id,
            line_item_id=window.line_item_id,
            price_id=window.price_id,
            meter_id=window.meter_id,
            customer_id=window.customer_id,
            external_customer_id=window.external_customer_id,
            window_start=window.window_start,
            window_end=window.window_end,
        ),
    )


def read_period_usage(
    warehouse: WarehouseResource, tenant_id: str, months: Sequence[YearMonth], meters: Mapping[str, Meter]
) -> dict[str, UsageRow]:
    """``fct_period_usage`` (+ buckets) rows of the tenant's months, keyed by dbt window id."""
    keys = [m.key for m in months]
    with warehouse.open() as store:
        usage = store.period_usage_rows(tenant_id, keys)
        bucket_rows = store.period_usage_buckets(tenant_id, keys)
    buckets: dict[str, list[tuple[Any, Decimal]]] = defaultdict(list)
    for window_id, start, quantity in bucket_rows:
        buckets[window_id].append((start, _plain(Decimal(str(quantity)))))
    rows: dict[str, UsageRow] = {}
    for window_id, meter_id, quantity, event_count in usage:
        bucketed = meter_id in meters and meters[meter_id].aggregation.bucket_size is not None
        rows[window_id] = UsageRow(
            window_id=window_id,
            quantity=None if quantity is None else _plain(Decimal(str(quantity))),
            event_count=int(event_count),
            buckets=tuple(q for _, q in sorted(buckets.get(window_id, []))) if bucketed else None,
        )
    return rows


def _plain(value: Decimal) -> Decimal:
    """A SQL decimal without its fixed scale's trailing zeros (``1600.000…`` → ``1600``, ``25.50…`` → ``25.5``).

    In the meters' 60-digit context: the default 28 digits would round a 38-digit decimal(38, 18).
    """
    with localcontext(ARITHMETIC):
        if value == value.to_integral_value():
            return value.quantize(Decimal(1))
        return value.normalize()
