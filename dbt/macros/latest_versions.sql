{#-
  One row per (tenant_id, environment_id, event_id): the latest ingested version, ties to the later
  timestamp, then to the greater properties text (as the warehouse's raw_events_latest view), then to the
  greatest remaining columns (deterministic, the same on both engines). Computed on every
  read, so the result never depends on whether ClickHouse has merged its ReplacingMergeTree parts.
-#}
{% macro latest_event_versions(relation) -%}
  {{ return(adapter.dispatch('latest_event_versions', 'flexprice')(relation)) }}
{%- endmacro %}

{#-
  Both engines: ids with one version (nearly all) pass straight through; only ids sent more than once are
  ordered. Ranking or arg-maxing every id costs 2-3x the two cheap passes (a count per id, then a semi-join).
-#}
{% macro versioned_event_ids(relation) -%}
(
    select tenant_id, environment_id, event_id
    from {{ relation }}
    group by tenant_id, environment_id, event_id
    having count(*) > 1
)
{%- endmacro %}

{% macro duckdb__latest_event_versions(relation) -%}
{%- set same_id -%}
v.tenant_id = r.tenant_id and v.environment_id = r.environment_id and v.event_id = r.event_id
{%- endset -%}
-- computed once (DuckDB materializes a CTE read twice)
with versioned_ids as {{ flexprice.versioned_event_ids(relation) }}
select r.*
from {{ relation }} as r
where not exists (select 1 from versioned_ids as v where {{ same_id }})
union all
(
    select r.*
    from {{ relation }} as r
    where exists (select 1 from versioned_ids as v where {{ same_id }})
    qualify row_number() over (
        partition by tenant_id, environment_id, event_id
        order by
            ingested_us desc, event_us desc, cast(properties as varchar) desc, event_name desc,
            external_customer_id desc, coalesce(customer_id, '') desc, coalesce(event_source, '') desc
    ) = 1
)
{%- endmacro %}

{% macro clickhouse__latest_event_versions(relation) -%}
{%- set columns = ['event_name', 'external_customer_id', 'customer_id', 'event_source', 'properties',
                   'event_at', 'ingested_at', 'event_us', 'ingested_us'] -%}
{%- set versioned_ids = flexprice.versioned_event_ids(relation) -%}
select tenant_id, environment_id, event_id, {{ columns | join(', ') }}
from {{ relation }}
where (tenant_id, environment_id, event_id) not in {{ versioned_ids }}
union all
select
    tenant_id,
    environment_id,
    event_id,
    {%- for column in columns %}
    tupleElement(latest_version, {{ loop.index }}) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from (
    select
        tenant_id,
        environment_id,
        event_id,
        argMax(
            tuple({{ columns | join(', ') }}),
            tuple(ingested_us, event_us, properties, event_name, external_customer_id, ifNull(customer_id, ''),
                  ifNull(event_source, ''))
        ) as latest_version
    from {{ relation }}
    where (tenant_id, environment_id, event_id) in {{ versioned_ids }}
    group by tenant_id, environment_id, event_id
)
{%- endmacro %}
