{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ flexprice.delete_partition_slice() }}",
        order_by='(tenant_id, environment_id, period_key, window_id)',
    )
}}

with windows as (
    {{ flexprice.partition_windows() }}
),

meters as (
    select
        tenant_id,
        environment_id,
        meter_id,
        aggregation_type,
        multiplier,
        nullif(bucket_size, '') as bucket_size
    from {{ source('warehouse', 'billing_meters') }}
),

meter_events as (
    select * from {{ ref('int_meter_events') }}
),

bucket_quantities as (
    select * from {{ ref('fct_period_usage_buckets') }}
    where {{ flexprice.partition_predicate() }}
),

-- half-open windows: usage_start <= ts < window_end
window_events as (
    select
        w.window_id as window_id,
        w.window_end_us as window_end_us,
        e.event_id as event_id,
        e.aggregation_type as aggregation_type,
        e.event_us as event_us,
        e.ingested_us as ingested_us,
        e.value as value,
        e.string_value as string_value,
        w.window_end_us - e.event_us as held_us
    -- the windows are the small side: ClickHouse builds its hash table from the right
    from meter_events as e
    inner join windows as w
        on e.tenant_id = w.tenant_id
        and e.environment_id = w.environment_id
        and e.meter_id = w.meter_id
        and e.external_customer_id = w.external_customer_id
    where e.event_us >= w.usage_start_us and e.event_us < w.window_end_us
),

window_aggregates as (
    select
        window_id,
        count(*) as event_count,
        count(value) as value_count,
        {{ flexprice.exact_sum('value') }} as value_sum,
        min(value) as value_min,
        max(value) as value_max,
        count(distinct string_value) as unique_value_count,
        {{ flexprice.arg_max_if('value', ['event_us', 'ingested_us', 'event_id'],
                                "aggregation_type = 'LATEST' and value is not null") }} as latest_value,
        -- Σ value × held µs in whole and fractional 1e-18 units: on DuckDB the sum can exceed 128 bits
        sum(case when aggregation_type = 'WEIGHTED_SUM'
                then {{ flexprice.quantity_whole('value') }} * {{ flexprice.wide_int('held_us') }} end)
            as weighted_whole_us,
        sum(case when aggregation_type = 'WEIGHTED_SUM'
                then {{ flexprice.quantity_fraction('value') }} * {{ flexprice.wide_int('held_us') }} end)
            as weighted_fraction_us
    from window_events
    group by window_id
),

bucket_totals as (
    select window_id, count(*) as bucket_count, {{ flexprice.exact_sum('bucket_quantity') }} as bucketed_quantity
    from bucket_quantities
    group by window_id
),

-- missing aggregates are guarded by the counts, not by nulls: ClickHouse joins fill defaults
joined as (
    select
        w.tenant_id as tenant_id,
        w.environment_id as environment_id,
        w.period_key as period_key,
        w.window_id as window_id,
        w.subscription_id as subscription_id,
        w.line_item_id as line_item_id,
        w.price_id as price_id,
        w.meter_id as meter_id,
        w.customer_id as customer_id,
        w.external_customer_id as external_customer_id,
        w.window_start as window_start,
        w.window_end as window_end,
        w.usage_start as usage_start,
        w.usage_start_us as usage_start_us,
        w.window_end_us as window_end_us,
        m.aggregation_type as aggregation_type,
        m.multiplier as multiplier,
        m.bucket_size as bucket_size,
        coalesce(a.event_count, 0) as event_count,
        coalesce(a.value_count, 0) as value_count,
        coalesce(a.unique_value_count, 0) as unique_value_count,
        a.value_sum as value_sum,
        a.value_min as value_min,
        a.value_max as value_max,
        a.latest_value as latest_value,
        a.weighted_whole_us as weighted_whole_us,
        a.weighted_fraction_us as weighted_fraction_us,
        coalesce(b.bucket_count, 0) as bucket_count,
        b.bucketed_quantity as bucketed_quantity
    from windows as w
    left join meters as m
        on w.tenant_id = m.tenant_id and w.environment_id = m.environment_id and w.meter_id = m.meter_id
    left join window_aggregates as a on w.window_id = a.window_id
    left join bucket_totals as b on w.window_id = b.window_id
),

-- The inexact quantities as (whole × 1e18 + fraction) / denominator in 1e-18 units (macros/arithmetic.sql):
-- AVG Σ / n, WEIGHTED_SUM Σ value × held µs / window µs, SUM_WITH_MULTIPLIER Σ × multiplier / 1e18 with
-- both factors split in whole and fractional units, so that no product needs more than 128 bits.
ratios as (
    select
        *,
        case
            when value_count = 0 or bucket_size is not null then null
            when aggregation_type = 'AVG' then {{ flexprice.wide_int(0) }}
            when aggregation_type = 'WEIGHTED_SUM' then weighted_whole_us
            when aggregation_type = 'SUM_WITH_MULTIPLIER'
                then {{ flexprice.quantity_whole('value_sum') }} * {{ flexprice.quantity_whole('multiplier') }}
                    * {{ flexprice.wide_int("'1000000000000000000'") }}
                    + {{ flexprice.quantity_whole('value_sum') }} * {{ flexprice.quantity_fraction('multiplier') }}
                    + {{ flexprice.quantity_fraction('value_sum') }} * {{ flexprice.quantity_whole('multiplier') }}
        end as ratio_whole,
        case
            when value_count = 0 or bucket_size is not null then null
            when aggregation_type = 'AVG'
                then {{ flexprice.quantity_whole('value_sum') }} * {{ flexprice.wide_int("'1000000000000000000'") }}
                    + {{ flexprice.quantity_fraction('value_sum') }}
            when aggregation_type = 'WEIGHTED_SUM' then weighted_fraction_us
            when aggregation_type = 'SUM_WITH_MULTIPLIER'
                then {{ flexprice.quantity_fraction('value_sum') }} * {{ flexprice.quantity_fraction('multiplier') }}
        end as ratio_fraction,
        case
            when aggregation_type = 'AVG' then {{ flexprice.wide_int('value_count') }}
            when aggregation_type = 'WEIGHTED_SUM'
                then {{ flexprice.wide_int('nullif(window_end_us - usage_start_us, 0)') }}
            when aggregation_type = 'SUM_WITH_MULTIPLIER' then {{ flexprice.wide_int("'1000000000000000000'") }}
        end as ratio_denominator
    from joined
),

ratio_quotients as (
    select *, {{ flexprice.ratio_quotients() }} from ratios
),

ratio_truncations as (
    select *, {{ flexprice.ratio_truncation() }} from ratio_quotients
),

ratio_roundings as (
    select *, {{ flexprice.ratio_rounding() }} from ratio_truncations
),

quantities as (
    select
        *,
        case
            when aggregation_type = 'COUNT' then {{ flexprice.to_quantity('event_count') }}
            when aggregation_type = 'COUNT_UNIQUE' then {{ flexprice.to_quantity('unique_value_count') }}
            -- Flexprice's bucketed total: the sum of the per-bucket results
            when bucket_size is not null and bucket_count > 0 then {{ flexprice.to_quantity('bucketed_quantity') }}
            when bucket_size is not null then null
            when value_count = 0 then null
            when aggregation_type = 'SUM' then {{ flexprice.to_quantity('value_sum') }}
            when aggregation_type in ('SUM_WITH_MULTIPLIER', 'AVG', 'WEIGHTED_SUM')
                then {{ flexprice.quantity_from_units('rounded_units') }}
            when aggregation_type = 'MIN' then {{ flexprice.to_quantity('value_min') }}
            when aggregation_type = 'MAX' then {{ flexprice.to_quantity('value_max') }}
            when aggregation_type = 'LATEST' then {{ flexprice.to_quantity('latest_value') }}
        end as quantity
    from ratio_roundings
),

final as (
    select
        tenant_id,
        environment_id,
        period_key,
        window_id,
        subscription_id,
        line_item_id,
        price_id,
        meter_id,
        customer_id,
        external_customer_id,
        window_start,
        window_end,
        usage_start,
        aggregation_type,
        bucket_size,
        event_count,
        quantity,
        '{{ invocation_id }}' as dbt_invocation_id
    from quantities
)

select * from final
