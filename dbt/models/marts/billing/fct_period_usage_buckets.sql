{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ flexprice.delete_partition_slice() }}",
        order_by='(tenant_id, environment_id, period_key, window_id, bucket_start)',
    )
}}

with windows as (
    {{ flexprice.partition_windows() }}
),

bucketed_meter_events as (
{%- if flexprice.partition_has_bucketed_meters() %}
    select *
    from {{ ref('int_meter_events') }}
    where bucket_size is not null and aggregation_type in ('SUM', 'MAX')
{%- else %}
    -- No window of the partition bills a bucketed meter, so no event is read: both engines would still
    -- de-duplicate every event behind a filter that rejects them all. Same column types, no rows.
    select
        tenant_id,
        environment_id,
        meter_id,
        external_customer_id,
        usage_start_us as event_us,
        meter_id as aggregation_type,
        {{ flexprice.try_quantity("'0'") }} as value,
        meter_id as bucket_size
    from windows
    where 1 = 0
{%- endif %}
),

-- a bucket that starts before the window is clipped to the window's start
window_events as (
    select
        w.window_id as window_id,
        e.aggregation_type as aggregation_type,
        e.value as value,
        greatest({{ flexprice.bucket_start_us('e.event_us', 'e.bucket_size') }}, w.usage_start_us) as bucket_start_us
    -- the windows are the small side: ClickHouse builds its hash table from the right
    from bucketed_meter_events as e
    inner join windows as w
        on e.tenant_id = w.tenant_id
        and e.environment_id = w.environment_id
        and e.meter_id = w.meter_id
        and e.external_customer_id = w.external_customer_id
    where e.event_us >= w.usage_start_us and e.event_us < w.window_end_us
),

bucket_aggregates as (
    select
        window_id,
        bucket_start_us,
        max(aggregation_type) as aggregation_type,
        count(*) as event_count,
        count(value) as value_count,
        {{ flexprice.exact_sum('value') }} as value_sum,
        max(value) as value_max
    from window_events
    group by window_id, bucket_start_us
),

final as (
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
        {{ flexprice.known_not_null(flexprice.timestamp_from_us('b.bucket_start_us')) }} as bucket_start,
        b.event_count as event_count,
        {{ flexprice.to_quantity("case when b.aggregation_type = 'MAX' then b.value_max else b.value_sum end") }}
            as bucket_quantity,
        '{{ invocation_id }}' as dbt_invocation_id
    from bucket_aggregates as b
    inner join windows as w on b.window_id = w.window_id
    -- a bucket whose events carry no value is "no usage" and is left out, like an empty one
    where b.value_count > 0
)

select * from final
