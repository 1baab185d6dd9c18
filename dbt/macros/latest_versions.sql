{#-
  One row per (tenant_id, environment_id, event_id): the latest ingested version, ties to the later
  timestamp, then to the greater properties text (as the warehouse's raw_events_latest view), then to the
  greatest remaining columns (deterministic, the same on both engines). Computed on every
  read, so the result never depends on whether ClickHouse has merged its ReplacingMergeTree parts.
-#}
{% macro latest_event_versions(relation) -%}
  {{ return(adapter.dispatch('latest_event_versions', 'flexprice')(relation)) }}
{%- endmacro %}

{% macro duckdb__latest_event_versions(relation) -%}
select *
from {{ relation }}
qualify row_number() over (
    partition by tenant_id, environment_id, event_id
    order by
        ingested_us desc, event_us desc, cast(properties as varchar) desc, event_name desc,
        external_customer_id desc, coalesce(customer_id, '') desc, coalesce(event_source, '') desc
) = 1
{%- endmacro %}

{% macro clickhouse__latest_event_versions(relation) -%}
{%- set columns = ['event_name', 'external_customer_id', 'customer_id', 'event_source', 'properties',
                   'event_at', 'ingested_at', 'event_us', 'ingested_us'] -%}
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
    group by tenant_id, environment_id, event_id
)
{%- endmacro %}
