{#-
  The partition scope of a billing run: vars tenant_id, environment_id (optional) and period ('YYYY-MM',
  the month a window ends in) or periods (a list of them: the late-usage re-check rebuilds several months in
  one run). Unset vars widen the scope, so a run without vars rebuilds everything.
-#}
{% macro partition_predicate(alias=none) -%}
{%- set prefix = (alias ~ '.') if alias else '' -%}
1 = 1
{%- for column, name in [('tenant_id', 'tenant_id'), ('environment_id', 'environment_id'), ('period_key', 'period')] %}
  {%- if var(name, none) is not none %} and {{ prefix }}{{ column }} = {{ flexprice.sql_string(var(name)) }}{% endif %}
{%- endfor %}
{%- if var('periods', none) is not none %} and {{ prefix }}period_key in (
  {%- for period in var('periods') %}{{ flexprice.sql_string(period) }}{{ ', ' if not loop.last }}{% endfor -%}
){% endif %}
{%- endmacro %}

{#- The run's billing windows with their bounds in epoch microseconds (both billing marts start here). -#}
{% macro partition_windows() -%}
select
    *,
    {{ flexprice.epoch_us('usage_start') }} as usage_start_us,
    {{ flexprice.epoch_us('window_end') }} as window_end_us
from {{ source('warehouse', 'billing_windows') }}
where {{ flexprice.partition_predicate() }}
{%- endmacro %}

{#- Pre-hook of the partition-scoped marts: a run replaces exactly its slice (delete, then append). -#}
{% macro delete_partition_slice() -%}
{%- if is_incremental() -%}
delete from {{ this }} where {{ flexprice.partition_predicate() }}
{%- else -%}
select 1
{%- endif -%}
{%- endmacro %}

{% macro sql_string(value) -%}
  {{ return(adapter.dispatch('sql_string', 'flexprice')(value)) }}
{%- endmacro %}
{% macro default__sql_string(value) -%} '{{ value | string | replace("'", "''") }}' {%- endmacro %}
{% macro clickhouse__sql_string(value) -%}
'{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#-
  Whether any window of the run's partition bills a bucketed SUM / MAX meter, asked when the model runs
  (at parse time, and when sqlfluff lints with var lint=true, the answer is yes, so the compiled SQL, the docs and
  the linter see the full model).
-#}
{% macro partition_has_bucketed_meters() -%}
{%- if not execute or var('lint', false) -%}{{ return(true) }}{%- endif -%}
{%- set query -%}
select count(*)
from {{ source('warehouse', 'billing_windows') }} as w
inner join {{ source('warehouse', 'billing_meters') }} as m
    on w.tenant_id = m.tenant_id and w.environment_id = m.environment_id and w.meter_id = m.meter_id
where {{ flexprice.partition_predicate('w') }}
    and coalesce(m.bucket_size, '') != '' and m.aggregation_type in ('SUM', 'MAX')
{%- endset -%}
{{ return(run_query(query).columns[0].values()[0] > 0) }}
{%- endmacro %}
