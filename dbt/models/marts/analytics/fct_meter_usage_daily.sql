{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        order_by='(tenant_id, environment_id, usage_date, meter_id, external_customer_id)',
        pre_hook=[
            "{{ flexprice.capture_touched_usage_days() }}",
            "{{ flexprice.delete_touched_usage_days() }}",
        ],
        post_hook=["{{ flexprice.drop_touched_usage_days() }}"],
    )
}}

with meter_events as (
    select * from {{ ref('int_meter_events') }}
),

daily_events as (
    select
        tenant_id,
        environment_id,
        meter_id,
        external_customer_id,
        {{ flexprice.utc_date_from_us('event_us') }} as usage_date,
        ingested_us,
        value,
        string_value
    from meter_events
),

{% if is_incremental() %}
touched_days as (
    select * from {{ flexprice.touched_days_relation() }}
),

scoped_events as (
    select
        d.tenant_id as tenant_id,
        d.environment_id as environment_id,
        d.meter_id as meter_id,
        d.external_customer_id as external_customer_id,
        d.usage_date as usage_date,
        d.ingested_us as ingested_us,
        d.value as value,
        d.string_value as string_value
    from daily_events as d
    inner join touched_days as t
        on d.tenant_id = t.tenant_id and d.environment_id = t.environment_id and d.usage_date = t.usage_date
),

watermark as (
    select max(source_watermark_us) as source_watermark_us from touched_days
),
{% else %}
scoped_events as (
    select * from daily_events
),

watermark as (
    select max({{ flexprice.epoch_us('ingested_at') }}) as source_watermark_us
    from {{ source('warehouse', 'raw_events') }}
),
{% endif %}

daily_usage as (
    select
        tenant_id,
        environment_id,
        meter_id,
        external_customer_id,
        usage_date,
        count(*) as event_count,
        count(value) as value_count,
        {{ flexprice.exact_sum('value') }} as value_sum,
        min(value) as value_min,
        max(value) as value_max,
        count(distinct string_value) as unique_value_count
    from scoped_events
    group by tenant_id, environment_id, meter_id, external_customer_id, usage_date
),

final as (
    select
        d.tenant_id as tenant_id,
        d.environment_id as environment_id,
        d.meter_id as meter_id,
        d.external_customer_id as external_customer_id,
        d.usage_date as usage_date,
        d.event_count as event_count,
        d.value_count as value_count,
        {{ flexprice.to_quantity('d.value_sum') }} as value_sum,
        {{ flexprice.to_quantity('d.value_min') }} as value_min,
        {{ flexprice.to_quantity('d.value_max') }} as value_max,
        d.unique_value_count as unique_value_count,
        w.source_watermark_us as source_watermark_us,
        '{{ invocation_id }}' as dbt_invocation_id
    from daily_usage as d
    cross join watermark as w
)

select * from final
