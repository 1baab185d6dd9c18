with raw_events as (
    select * from {{ source('warehouse', 'raw_events') }}
),

renamed as (
    select
        tenant_id,
        environment_id,
        event_id,
        event_name,
        external_customer_id,
        customer_id,
        source as event_source,
        properties,
        "timestamp" as event_at,
        ingested_at,
        {{ flexprice.epoch_us('"timestamp"') }} as event_us,
        {{ flexprice.epoch_us('ingested_at') }} as ingested_us
    from raw_events
)

select * from renamed
