{#-
  Incremental bookkeeping of fct_meter_usage_daily. A run recomputes only the (tenant, environment, UTC day)
  slices touched by event versions ingested since the last run, including the days an id's earlier versions
  sat on (a re-sent id that moved must leave its old day). The touched set is frozen in a scratch table
  before the delete, so the delete and the recomputation see the same slices.
-#}
{% macro touched_days_relation() -%}
  {{ return(api.Relation.create(database=this.database, schema=this.schema, identifier=this.identifier ~ '__touched_days')) }}
{%- endmacro %}

{% macro capture_touched_usage_days() -%}
{%- if is_incremental() -%}
{%- set touched_sql -%}
with watermark as (
    select coalesce(max(source_watermark_us), -1) as watermark_us from {{ this }}
),

raw_versions as (
    select
        tenant_id,
        environment_id,
        event_id,
        {{ flexprice.epoch_us('"timestamp"') }} as event_us,
        {{ flexprice.epoch_us('ingested_at') }} as ingested_us
    from {{ source('warehouse', 'raw_events') }}
),

new_ids as (
    select distinct r.tenant_id, r.environment_id, r.event_id
    from raw_versions as r
    cross join watermark as w
    where r.ingested_us >= w.watermark_us
),

touched as (
    select distinct
        r.tenant_id,
        r.environment_id,
        {{ flexprice.utc_date_from_us('r.event_us') }} as usage_date
    from raw_versions as r
    inner join new_ids as n
        on r.tenant_id = n.tenant_id and r.environment_id = n.environment_id and r.event_id = n.event_id
)

select
    tenant_id,
    environment_id,
    usage_date,
    (select max(ingested_us) from raw_versions) as source_watermark_us
from touched
{%- endset -%}
{{ flexprice.create_scratch_table(flexprice.touched_days_relation(), touched_sql) }}
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}

{% macro delete_touched_usage_days() -%}
{%- if is_incremental() -%}
delete from {{ this }}
where (tenant_id, environment_id, usage_date) in (
    select tenant_id, environment_id, usage_date from {{ flexprice.touched_days_relation() }}
)
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}

{% macro drop_touched_usage_days() -%}
drop table if exists {{ flexprice.touched_days_relation() }}
{%- endmacro %}

{% macro create_scratch_table(relation, sql) -%}
  {{ return(adapter.dispatch('create_scratch_table', 'flexprice')(relation, sql)) }}
{%- endmacro %}
{% macro duckdb__create_scratch_table(relation, sql) -%}
create or replace table {{ relation }} as {{ sql }}
{%- endmacro %}
{% macro clickhouse__create_scratch_table(relation, sql) -%}
create or replace table {{ relation }} engine = MergeTree order by tuple() as {{ sql }}
{%- endmacro %}

{% macro month_start_date(day) -%}
  {{ return(adapter.dispatch('month_start_date', 'flexprice')(day)) }}
{%- endmacro %}
{% macro duckdb__month_start_date(day) -%} cast(date_trunc('month', {{ day }}) as date) {%- endmacro %}
{% macro clickhouse__month_start_date(day) -%} toStartOfMonth({{ day }}) {%- endmacro %}
