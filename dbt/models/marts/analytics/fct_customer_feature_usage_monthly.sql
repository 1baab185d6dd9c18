{{ config(materialized='view') }}

with daily_usage as (
    select * from {{ ref('fct_meter_usage_daily') }}
),

meters as (
    select * from {{ source('warehouse', 'billing_meters') }}
),

monthly_usage as (
    select
        tenant_id,
        environment_id,
        external_customer_id,
        meter_id,
        {{ flexprice.month_start_date('usage_date') }} as usage_month,
        count(*) as active_days,
        sum(event_count) as event_count,
        sum(value_count) as value_count,
        {{ flexprice.to_quantity(flexprice.exact_sum('value_sum')) }} as value_sum,
        min(value_min) as value_min,
        max(value_max) as value_max
    from daily_usage
    group by tenant_id, environment_id, external_customer_id, meter_id, {{ flexprice.month_start_date('usage_date') }}
),

final as (
    select
        u.tenant_id as tenant_id,
        u.environment_id as environment_id,
        u.external_customer_id as external_customer_id,
        u.meter_id as meter_id,
        m.event_name as event_name,
        m.feature_id as feature_id,
        m.feature_name as feature_name,
        u.usage_month as usage_month,
        u.active_days as active_days,
        u.event_count as event_count,
        u.value_count as value_count,
        u.value_sum as value_sum,
        u.value_min as value_min,
        u.value_max as value_max
    from monthly_usage as u
    left join meters as m
        on u.tenant_id = m.tenant_id and u.environment_id = m.environment_id and u.meter_id = m.meter_id
)

select * from final
