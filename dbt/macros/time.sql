{#- All window arithmetic runs on UTC epoch microseconds (exact, zone-free, the same on both engines). -#}

{% macro epoch_us(ts) -%}
  {{ return(adapter.dispatch('epoch_us', 'flexprice')(ts)) }}
{%- endmacro %}
{% macro duckdb__epoch_us(ts) -%} epoch_us({{ ts }}) {%- endmacro %}
{% macro clickhouse__epoch_us(ts) -%} toUnixTimestamp64Micro(toDateTime64({{ ts }}, 6, 'UTC')) {%- endmacro %}

{% macro timestamp_from_us(us) -%}
  {{ return(adapter.dispatch('timestamp_from_us', 'flexprice')(us)) }}
{%- endmacro %}
{% macro duckdb__timestamp_from_us(us) -%} (make_timestamp(cast({{ us }} as bigint)) at time zone 'UTC') {%- endmacro %}
{% macro clickhouse__timestamp_from_us(us) -%} fromUnixTimestamp64Micro(toInt64({{ us }}), 'UTC') {%- endmacro %}

{% macro utc_date_from_us(us) -%}
  {{ return(adapter.dispatch('utc_date_from_us', 'flexprice')(us)) }}
{%- endmacro %}
{% macro duckdb__utc_date_from_us(us) -%} cast(make_timestamp(cast({{ us }} as bigint)) as date) {%- endmacro %}
{% macro clickhouse__utc_date_from_us(us) -%} toDate(fromUnixTimestamp64Micro(toInt64({{ us }}), 'UTC'), 'UTC') {%- endmacro %}

{% macro floor_div(numerator, denominator) -%}
  {{ return(adapter.dispatch('floor_div', 'flexprice')(numerator, denominator)) }}
{%- endmacro %}
{#- Epoch microseconds here are after 1970, where truncating division is floor division. -#}
{% macro duckdb__floor_div(numerator, denominator) -%} (cast({{ numerator }} as bigint) // {{ denominator }}) {%- endmacro %}
{% macro clickhouse__floor_div(numerator, denominator) -%} intDiv(toInt64({{ numerator }}), {{ denominator }}) {%- endmacro %}

{% macro month_start_us(us) -%}
  {{ return(adapter.dispatch('month_start_us', 'flexprice')(us)) }}
{%- endmacro %}
{% macro duckdb__month_start_us(us) -%} epoch_us(date_trunc('month', make_timestamp(cast({{ us }} as bigint)))) {%- endmacro %}
{% macro clickhouse__month_start_us(us) -%}
toUnixTimestamp64Micro(toDateTime64(toStartOfMonth(fromUnixTimestamp64Micro(toInt64({{ us }}), 'UTC')), 6, 'UTC'))
{%- endmacro %}

{#-
  Start (UTC µs) of the bucket holding `us`, aligned like ClickHouse (meters.bucket_start): fixed sizes on
  multiples of their length since the epoch, WEEK on Sunday (epoch day 0 was a Thursday), MONTH on the 1st.
-#}
{% macro bucket_start_us(us, bucket_size) -%}
{%- set day = 86400000000 -%}
(case {{ bucket_size }}
    {%- for name, length in [('MINUTE', 60000000), ('15MIN', 900000000), ('30MIN', 1800000000), ('HOUR', 3600000000),
                             ('3HOUR', 10800000000), ('6HOUR', 21600000000), ('12HOUR', 43200000000), ('DAY', day)] %}
    when '{{ name }}' then {{ flexprice.floor_div(us, length) }} * {{ length }}
    {%- endfor %}
    when 'WEEK' then ({{ flexprice.floor_div(us, day) }} - ({{ flexprice.floor_div(us, day) }} + 4) % 7) * {{ day }}
    when 'MONTH' then {{ flexprice.month_start_us(us) }}
end)
{%- endmacro %}
