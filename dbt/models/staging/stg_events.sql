-- the view itself, not a CTE over it: DuckDB would copy every version into a materialized CTE (read 3 times)
with latest_versions as (
    {{ flexprice.latest_event_versions(ref('stg_event_versions')) }}
),

final as (
    select * from latest_versions
)

select * from final
