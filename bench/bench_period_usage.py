"""fct_period_usage over N events / C customers / 5 meters on DuckDB and chdb, beside a hand-written ceiling.

    .venv/bin/python bench/bench_period_usage.py --events 10000000 --customers 10000

Each engine gets the same synthetic month (1% re-sent ids, JSON properties, one monthly window per customer
× meter, five meters: SUM, COUNT, MAX, COUNT_UNIQUE, LATEST). The dbt figure is the execution time (run_results)
of every table the partition run builds (both billing marts, any stored intermediate); the ceiling is
one hand-written GROUP BY computing the same quantities in the same engine (de-duplication, JSON extraction,
window join). Prints seconds and the ratio (target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import clickhouse_connect
import duckdb

from flexprice_pipelines.billing.meters import Meter
from flexprice_pipelines.warehouse.billing_inputs import (
    BillingWindow,
    ensure_billing_inputs,
    write_billing_meters,
    write_billing_windows,
)
from flexprice_pipelines.warehouse.clickhouse_store import ClickHouseWarehouse
from flexprice_pipelines.warehouse.duckdb_store import DuckDBWarehouse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: reuse the test harness
from tests.dbt.dbt_harness import DbtProject
from tests.support.chdb_http import ChdbHttpServer

TENANT, ENVIRONMENT, PERIOD = "t_bench", "prod", "2024-04"  # windows end on Apr 1
MONTH_START, MONTH_END = datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)
MONTH_US = int((MONTH_END - MONTH_START).total_seconds() * 1_000_000)
START_US = int(MONTH_START.timestamp() * 1_000_000)
METERS = [
    Meter.model_validate(
        {"id": "m0", "event_name": "ev0", "aggregation": {"type": "SUM", "field": "tokens"}}
    ),
    Meter.model_validate({"id": "m1", "event_name": "ev1", "aggregation": {"type": "COUNT"}}),
    Meter.model_validate(
        {"id": "m2", "event_name": "ev2", "aggregation": {"type": "MAX", "field": "tokens"}}
    ),
    Meter.model_validate(
        {"id": "m3", "event_name": "ev3", "aggregation": {"type": "COUNT_UNIQUE", "field": "model"}}
    ),
    Meter.model_validate(
        {"id": "m4", "event_name": "ev4", "aggregation": {"type": "LATEST", "field": "tokens"}}
    ),
]
VARS = {"tenant_id": TENANT, "environment_id": ENVIRONMENT, "period": PERIOD}


def _windows(customers: int) -> list[BillingWindow]:
    return [
        BillingWindow(
            f"sub{c}", f"li{c}_{m.id}", f"p_{m.id}", str(m.id), f"cust{c}", f"c{c}", MONTH_START, MONTH_END
        )
        for c in range(customers)
        for m in METERS
    ]


def _events_sql(dialect: str, events: int, customers: int) -> str:
    """Synthetic events (``i``: id, ``v``: version); every 100th id is re-sent and the later version wins."""
    total = events + events // 100
    ts = f"{START_US} + (i * 7919 * 1000003 + v * 3600000000) % {MONTH_US}"
    ingested = f"{START_US} + {MONTH_US} + n"
    if dialect == "duckdb":
        return f"""
            insert into raw_events
            select '{TENANT}', '{ENVIRONMENT}', 'e' || i, 'ev' || (i % 5), 'c' || ((i * 31) % {customers}), null,
                   make_timestamp({ts}) at time zone 'UTC', null,
                   '{{"tokens":' || ((i * 13 + v) % 1000) || ',"model":"m' || (i % 97) || '"}}',
                   make_timestamp({ingested}) at time zone 'UTC'
            from (select range as n, range % {events} as i, range // {events} as v from range({total}))
        """
    return f"""
        insert into {{database}}.raw_events
        select '{TENANT}', '{ENVIRONMENT}', concat('e', toString(i)), concat('ev', toString(i % 5)),
               concat('c', toString((i * 31) % {customers})), null, fromUnixTimestamp64Micro(toInt64({ts}), 'UTC'), null,
               concat('{{"tokens":', toString((i * 13 + v) % 1000), ',"model":"m', toString(i % 97), '"}}'),
               fromUnixTimestamp64Micro(toInt64({ingested}), 'UTC')
        from (select number as n, number % {events} as i, intDiv(number, {events}) as v from numbers({total}))
    """


def _ceiling(prefix: str, dialect: str) -> str:
    if dialect == "duckdb":
        latest = f"""select * from {prefix}raw_events where tenant_id = '{TENANT}'
            qualify row_number() over (partition by tenant_id, environment_id, event_id
                                       order by ingested_at desc, "timestamp" desc) = 1"""
        tokens = "try_cast(json_extract_string(e.properties, '$.tokens') as decimal(38, 18))"
        model = "json_extract_string(e.properties, '$.model')"
        latest_value = f"""arg_max({tokens}, (e."timestamp", e.ingested_at, e.event_id))"""
    else:
        latest = f"""select event_id, v.1 as event_name, v.2 as external_customer_id, v.3 as `timestamp`,
                v.4 as properties, v.5 as ingested_at
            from (select event_id, argMax((event_name, external_customer_id, `timestamp`, properties, ingested_at),
                                          (ingested_at, `timestamp`)) as v
                  from {prefix}raw_events where tenant_id = '{TENANT}' group by tenant_id, environment_id, event_id)"""
        tokens = "toDecimal128OrNull(JSONExtractRaw(e.properties, 'tokens'), 18)"
        model = "JSONExtractString(e.properties, 'model')"
        latest_value = f"argMax({tokens}, (e.`timestamp`, e.ingested_at, e.event_id))"
    return f"""
        select w.window_id as window_id,
            multiIf_placeholder
        from {prefix}billing_windows as w
        inner join {prefix}billing_meters as m on w.meter_id = m.meter_id and m.tenant_id = w.tenant_id
        inner join ({latest}) as e
            on e.external_customer_id = w.external_customer_id and e.event_name = m.event_name
        where w.tenant_id = '{TENANT}' and w.period_key = '{PERIOD}'
            and e."timestamp" >= w.window_start and e."timestamp" < w.window_end
        group by w.window_id, m.aggregation_type
    """.replace(
        "multiIf_placeholder",
        f"""case m.aggregation_type when 'SUM' then sum({tokens}) when 'COUNT' then count(*)
                 when 'MAX' then max({tokens}) when 'COUNT_UNIQUE' then count(distinct {model})
                 else {latest_value} end as quantity""",
    ).replace('e."timestamp"', "e.`timestamp`" if dialect != "duckdb" else 'e."timestamp"')


# views and ephemeral models cost nothing until a table reads them
UNTIMED = {"view", "ephemeral"}


def _model_seconds(project: DbtProject) -> float:
    """Seconds of the partition run's tables (run_results), printed per model on stderr."""
    result = project.invoke("run", "--select", "+fct_period_usage", vars=VARS)
    timings = {
        r.node.name: r.execution_time
        for r in result.result.results
        if r.node.config.materialized not in UNTIMED
    }
    print(
        "  " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in sorted(timings.items())),
        file=sys.stderr,
    )
    return sum(timings.values())


def bench_duckdb(events: int, customers: int, work: Path) -> tuple[float, float]:
    """(dbt model seconds, ceiling seconds) on DuckDB."""
    path = work / "bench.duckdb"
    warehouse = DuckDBWarehouse(path)
    warehouse.ensure_schema()
    with warehouse.connect() as conn:
        conn.execute(_events_sql("duckdb", events, customers))
        ensure_billing_inputs(conn)
        write_billing_meters(conn, TENANT, ENVIRONMENT, METERS)
        write_billing_windows(conn, TENANT, ENVIRONMENT, PERIOD, _windows(customers))
    project = DbtProject("duckdb", {"FLEXPRICE_DUCKDB_PATH": str(path)}, work)
    project.invoke("run", "--select", "+int_meter_events")
    model = _model_seconds(project)
    with duckdb.connect(str(path)) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        started = time.perf_counter()
        conn.execute(f"create or replace table ceiling as {_ceiling('', 'duckdb')}")
        ceiling = time.perf_counter() - started
        _check_same(
            conn.execute("select * from ceiling").fetchall(),
            conn.execute("select window_id, quantity from fct_period_usage").fetchall(),
        )
    return model, ceiling


def bench_chdb(events: int, customers: int, work: Path) -> tuple[float, float]:
    """(dbt model seconds, ceiling seconds) on chdb through the ClickHouse HTTP front."""
    database = "bench"
    with ChdbHttpServer(str(work / "chdb")) as server:
        client = clickhouse_connect.get_client(host="127.0.0.1", port=server.port, send_receive_timeout=3600)
        ClickHouseWarehouse(client, database=database).ensure_schema()
        client.command(_events_sql("clickhouse", events, customers).replace("{database}", database))
        ensure_billing_inputs(client, database=database)
        write_billing_meters(client, TENANT, ENVIRONMENT, METERS, database=database)
        write_billing_windows(client, TENANT, ENVIRONMENT, PERIOD, _windows(customers), database=database)
        env = {"FLEXPRICE_CLICKHOUSE_PORT": str(server.port), "FLEXPRICE_CLICKHOUSE_DATABASE": database}
        project = DbtProject("clickhouse", env, work)
        project.invoke("run", "--select", "+int_meter_events")
        model = _model_seconds(project)
        client.command(f"drop table if exists {database}.ceiling")
        started = time.perf_counter()
        client.command(
            f"create table {database}.ceiling engine = MergeTree order by window_id as {_ceiling(database + '.', 'ch')}"
        )
        ceiling = time.perf_counter() - started
        _check_same(
            client.query(f"select * from {database}.ceiling").result_rows,
            client.query(f"select window_id, quantity from {database}.fct_period_usage").result_rows,
        )
        client.close()
    return model, ceiling


def _check_same(ceiling: list[tuple], model: list[tuple]) -> None:
    # the ceiling must compute the same thing, or the ratio means nothing
    expected = {key: value for key, value in model if value not in (None, 0)}
    assert {k: v for k, v in ceiling if v not in (None, 0)} == expected, "ceiling and model disagree"


def main() -> None:
    """Parse flags, run both engines, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--customers", type=int, default=1_000)
    parser.add_argument("--engines", default="duckdb,chdb")
    args = parser.parse_args()
    print(f"fct_period_usage: {args.events:,} events, {args.customers:,} customers, {len(METERS)} meters")
    runners = {"duckdb": bench_duckdb, "chdb": bench_chdb}
    for name in args.engines.split(","):
        with tempfile.TemporaryDirectory() as work:
            model, ceiling = runners[name](args.events, args.customers, Path(work))
        print(
            f"{name:7s} dbt partition run {model:7.2f} s   hand-written GROUP BY {ceiling:7.2f} s   ratio {model / ceiling:5.2f}"
        )


if __name__ == "__main__":
    main()
