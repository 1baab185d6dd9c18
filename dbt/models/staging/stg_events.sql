with event_versions as (
    select * from {{ ref('stg_event_versions') }}
),

latest_versions as (
    {{ flexprice.latest_event_versions('event_versions') }}
),

final as (
    select * from latest_versions
)

select * from final
