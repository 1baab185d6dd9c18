with events as (
    select * from {{ ref('stg_events') }}
),

meters as (
    select * from {{ source('warehouse', 'billing_meters') }}
),

meter_filters as (
    select * from {{ source('warehouse', 'billing_meter_filters') }}
),

filter_key_counts as (
    select tenant_id, environment_id, meter_id, count(distinct filter_key) as filter_key_count
    from meter_filters
    group by tenant_id, environment_id, meter_id
),

meters_with_filter_counts as (
    select
        m.tenant_id as tenant_id,
        m.environment_id as environment_id,
        m.meter_id as meter_id,
        m.event_name as event_name,
        m.aggregation_type as aggregation_type,
        nullif(m.aggregation_field, '') as aggregation_field,
        nullif(m.bucket_size, '') as bucket_size,
        coalesce(k.filter_key_count, 0) as filter_key_count
    from meters as m
    left join filter_key_counts as k
        on m.tenant_id = k.tenant_id and m.environment_id = k.environment_id and m.meter_id = k.meter_id
),

-- the trimmed event name selects the candidate meters
named_matches as (
    select
        e.tenant_id as tenant_id,
        e.environment_id as environment_id,
        e.event_id as event_id,
        e.external_customer_id as external_customer_id,
        e.customer_id as customer_id,
        e.properties as properties,
        e.event_us as event_us,
        e.ingested_us as ingested_us,
        m.meter_id as meter_id,
        m.aggregation_type as aggregation_type,
        m.aggregation_field as aggregation_field,
        m.bucket_size as bucket_size,
        m.filter_key_count as filter_key_count
    from events as e
    inner join meters_with_filter_counts as m
        on e.tenant_id = m.tenant_id
        and e.environment_id = m.environment_id
        and {{ flexprice.trim_whitespace('e.event_name') }} = m.event_name
),

-- Filters need the properties of the events of filtered meters only. They are read from the versions of the
-- ids that have a version named like a filtered meter (a superset of the ids whose latest version is), de-
-- duplicated again there: named_matches is read once, so an engine that inlines CTEs (ClickHouse) does not
-- de-duplicate every event twice, and a tenant without filters pays nothing here.
filtered_meters as (
    select tenant_id, environment_id, meter_id, event_name
    from meters_with_filter_counts
    where filter_key_count > 0
),

filter_candidate_ids as (
    select distinct v.tenant_id as tenant_id, v.environment_id as environment_id, v.event_id as event_id
    from {{ ref('stg_event_versions') }} as v
    inner join filtered_meters as m
        on v.tenant_id = m.tenant_id
        and v.environment_id = m.environment_id
        and {{ flexprice.trim_whitespace('v.event_name') }} = m.event_name
),

-- an IN set, not a join: ClickHouse probes a join with every left row even when its right side is empty
filter_candidate_versions as (
    select *
    from {{ ref('stg_event_versions') }}
    where (tenant_id, environment_id, event_id) in (
        select c.tenant_id, c.environment_id, c.event_id from filter_candidate_ids as c
    )
),

filter_candidates as (
    {{ flexprice.latest_event_versions('filter_candidate_versions') }}
),

filter_property_kinds as (
    select
        e.tenant_id as tenant_id,
        e.environment_id as environment_id,
        e.event_id as event_id,
        m.meter_id as meter_id,
        e.properties as properties,
        f.filter_key as filter_key,
        f.filter_value as filter_value,
        {{ flexprice.json_value_kind('e.properties', 'f.filter_key') }} as property_kind
    from filter_candidates as e
    inner join filtered_meters as m
        on e.tenant_id = m.tenant_id
        and e.environment_id = m.environment_id
        and {{ flexprice.trim_whitespace('e.event_name') }} = m.event_name
    inner join meter_filters as f
        on m.tenant_id = f.tenant_id and m.environment_id = f.environment_id and m.meter_id = f.meter_id
),

filter_property_texts as (
    select
        *,
        {{ flexprice.json_scalar_text('properties', 'filter_key', 'property_kind') }} as property_text
    from filter_property_kinds
),

filter_property_strings as (
    select
        *,
        {{ flexprice.canonical_string('property_kind', 'property_text') }} as property_string
    from filter_property_texts
),

-- AND across filter keys, OR across one key's values: every key must have a matching value
matched_filter_keys as (
    select tenant_id, environment_id, event_id, meter_id, count(distinct filter_key) as matched_key_count
    from filter_property_strings
    where property_string = filter_value
    group by tenant_id, environment_id, event_id, meter_id
),

filtered_matches as (
    select
        n.tenant_id as tenant_id,
        n.environment_id as environment_id,
        n.event_id as event_id,
        n.external_customer_id as external_customer_id,
        n.customer_id as customer_id,
        n.properties as properties,
        n.event_us as event_us,
        n.ingested_us as ingested_us,
        n.meter_id as meter_id,
        n.aggregation_type as aggregation_type,
        n.aggregation_field as aggregation_field,
        n.bucket_size as bucket_size,
        n.filter_key_count as filter_key_count
    from named_matches as n
    left join matched_filter_keys as k
        on n.tenant_id = k.tenant_id
        and n.environment_id = k.environment_id
        and n.event_id = k.event_id
        and n.meter_id = k.meter_id
    where n.filter_key_count = 0 or coalesce(k.matched_key_count, 0) = n.filter_key_count
),

value_kinds as (
    select
        *,
        {{ flexprice.json_value_kind('properties', 'aggregation_field') }} as value_kind
    from filtered_matches
),

value_texts as (
    select
        *,
        {{ flexprice.json_scalar_text('properties', 'aggregation_field', 'value_kind') }} as value_text
    from value_kinds
),

final as (
    select
        tenant_id,
        environment_id,
        event_id,
        meter_id,
        external_customer_id,
        customer_id,
        event_us,
        ingested_us,
        aggregation_type,
        bucket_size,
        case
            when aggregation_type not in ('COUNT', 'COUNT_UNIQUE')
                then {{ flexprice.parse_quantity('value_kind', 'value_text') }}
        end as value,
        case
            when aggregation_type = 'COUNT_UNIQUE'
                then {{ flexprice.canonical_string('value_kind', 'value_text') }}
        end as string_value
    from value_texts
)

select * from final
