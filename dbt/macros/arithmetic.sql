{#-
  Quantities are decimal(38, 18) on both engines, exact to the digit (billing/meters.py is the reference):
  values outside it are not counted (`exact_quantity`), sums are exact or fail the run, and the one inexact
  step of AVG, WEIGHTED_SUM and SUM_WITH_MULTIPLIER is rounded to 18 decimals half away from zero, in
  integers (`rounded_units`). No double anywhere: DuckDB divides decimals in double, so quotients are
  integer divisions of 1e-18 units (HUGEINT on DuckDB, Int256 on ClickHouse).
-#}

{% macro try_quantity(text) -%}
  {{ return(adapter.dispatch('try_quantity', 'flexprice')(text)) }}
{%- endmacro %}
{% macro duckdb__try_quantity(text) -%} try_cast({{ text }} as decimal(38, 18)) {%- endmacro %}
{% macro clickhouse__try_quantity(text) -%} toDecimal128OrNull({{ text }}, 18) {%- endmacro %}

{#-
  A quantity whose value is known to fit (an integer column, a min / max / latest of quantities, a
  DuckDB decimal sum, which fails on overflow by itself). ClickHouse sums in Decimal256 (`exact_sum`:
  its Decimal128 sum wraps silently), so its cast checks the range first.
-#}
{% macro to_quantity(expr) -%}
  {{ return(adapter.dispatch('to_quantity', 'flexprice')(expr)) }}
{%- endmacro %}
{% macro duckdb__to_quantity(expr) -%} cast({{ expr }} as decimal(38, 18)) {%- endmacro %}
{% macro clickhouse__to_quantity(expr) -%}
if(throwIf(ifNull(abs({{ expr }}) >= toDecimal256('100000000000000000000', 0), 0),
           'flexprice: a usage quantity is outside Decimal(38, 18) (|quantity| >= 1e20)') = 0,
   cast({{ expr }} as Nullable(Decimal(38, 18))), null)
{%- endmacro %}

{#- The exact sum of quantities: DuckDB's decimal(38, 18) sum raises on overflow; ClickHouse's would wrap. -#}
{% macro exact_sum(expr) -%}
  {{ return(adapter.dispatch('exact_sum', 'flexprice')(expr)) }}
{%- endmacro %}
{% macro duckdb__exact_sum(expr) -%} sum({{ expr }}) {%- endmacro %}
{% macro clickhouse__exact_sum(expr) -%} sum(toDecimal256({{ expr }}, 18)) {%- endmacro %}

{#-
  The JSON number literal or numeric string `text` as a quantity when it is exactly a decimal(38, 18)
  (|v| < 1e20, ≤ 18 decimals once trailing zeros are dropped), else null: meters.fits_quantity on the
  digits and the exponent. The casts are built from those digits because the engines' own string casts
  round (DuckDB) or truncate (ClickHouse) extra decimals and refuse exponents on long mantissas.
-#}
{% macro exact_quantity(text) -%}
  {{ return(adapter.dispatch('exact_quantity', 'flexprice')(text)) }}
{%- endmacro %}

{% macro duckdb__exact_quantity(text) -%}
{%- set frac -%} regexp_extract({{ text }}, '^[+-]?[0-9]*\.([0-9]*)', 1) {%- endset -%}
{%- set digits -%} ltrim(regexp_extract({{ text }}, '^[+-]?([0-9]*)', 1) || {{ frac }}, '0') {%- endset -%}
{%- set significant -%} rtrim({{ digits }}, '0') {%- endset -%}
{%- set exponent_text -%} regexp_extract({{ text }}, '[eE]([+-]?[0-9]+)$', 1) {%- endset -%}
{%- set exponent -%} (case when {{ exponent_text }} = '' then 0 else try_cast({{ exponent_text }} as bigint) end) {%- endset -%}
{%- set last -%} ({{ exponent }} - length({{ frac }}) + length({{ digits }}) - length({{ significant }})) {%- endset -%}
(case
    when {{ significant }} = '' then cast(0 as decimal(38, 18))
    when {{ last }} >= -18 and length({{ significant }}) + {{ last }} <= 20
        then cast((case when starts_with({{ text }}, '-') then '-' else '' end)
                  || {{ significant }} || repeat('0', cast({{ last }} + 18 as bigint)) as decimal(38, 0))
            * cast('0.000000000000000001' as decimal(38, 18))
end)
{%- endmacro %}

{#- ClickHouse: inside a one-element arrayMap, so that it runs only on the rows whose branch takes it. -#}
{% macro clickhouse__exact_quantity(text) -%}
arrayMap(literal -> {{ flexprice.clickhouse_exact_quantity_body('literal') }}, [{{ text }}])[1]
{%- endmacro %}

{% macro clickhouse_exact_quantity_body(text) -%}
{%- set frac -%} regexpExtract({{ text }}, '^[+-]?[0-9]*\\.([0-9]*)', 1) {%- endset -%}
{%- set digits -%}
replaceRegexpOne(regexpExtract({{ text }}, '^[+-]?([0-9]*)', 1) || {{ frac }}, '^0+', '')
{%- endset -%}
{%- set significant -%} replaceRegexpOne({{ digits }}, '0+$', '') {%- endset -%}
{%- set exponent_text -%} replaceOne(regexpExtract({{ text }}, '[eE]([+-]?[0-9]+)$', 1), '+', '') {%- endset -%}
{%- set exponent -%} if({{ exponent_text }} = '', toInt64(0), toInt64OrNull({{ exponent_text }})) {%- endset -%}
{%- set last -%}
({{ exponent }} - toInt64(length({{ frac }})) + toInt64(length({{ digits }})) - toInt64(length({{ significant }})))
{%- endset -%}
multiIf(
    {{ significant }} = '', toNullable(toDecimal128(0, 18)),
    ifNull({{ last }} >= -18 and toInt64(length({{ significant }})) + {{ last }} <= 20, 0),
        toDecimal128OrNull(
            if(startsWith({{ text }}, '-'), '-', '') || {{ significant }}
                || repeat('0', toUInt64(greatest(ifNull({{ last }}, 0) + 18, 0))), 0)
            * toDecimal128('0.000000000000000001', 18),
    null)
{%- endmacro %}

{#- Wide integers for 1e-18 units: HUGEINT (DuckDB, raises on overflow) and Int256 (ClickHouse). -#}
{% macro wide_int(expr) -%}
  {{ return(adapter.dispatch('wide_int', 'flexprice')(expr)) }}
{%- endmacro %}
{% macro duckdb__wide_int(expr) -%} cast({{ expr }} as hugeint) {%- endmacro %}
{% macro clickhouse__wide_int(expr) -%} toInt256({{ expr }}) {%- endmacro %}

{#- Integer division and remainder truncating toward zero (the remainder has the dividend's sign). -#}
{% macro int_quotient(numerator, denominator) -%}
  {{ return(adapter.dispatch('int_quotient', 'flexprice')(numerator, denominator)) }}
{%- endmacro %}
{% macro duckdb__int_quotient(numerator, denominator) -%} ({{ numerator }} // {{ denominator }}) {%- endmacro %}
{% macro clickhouse__int_quotient(numerator, denominator) -%} intDiv({{ numerator }}, {{ denominator }}) {%- endmacro %}
{% macro int_remainder(numerator, denominator) -%} ({{ numerator }} % {{ denominator }}) {%- endmacro %}

{#- The integer part of a quantity, and its fraction in 1e-18 units (both wide integers, same sign). -#}
{% macro quantity_whole(value) -%}
  {{ return(adapter.dispatch('quantity_whole', 'flexprice')(value)) }}
{%- endmacro %}
{% macro duckdb__quantity_whole(value) -%} cast(trunc({{ value }}) as hugeint) {%- endmacro %}
{% macro clickhouse__quantity_whole(value) -%} toInt256({{ value }}) {%- endmacro %}

{% macro quantity_fraction(value) -%}
  {{ return(adapter.dispatch('quantity_fraction', 'flexprice')(value)) }}
{%- endmacro %}
{% macro duckdb__quantity_fraction(value) -%}
cast(({{ value }} - trunc({{ value }})) * 1000000000000000000 as hugeint)
{%- endmacro %}
{% macro clickhouse__quantity_fraction(value) -%}
toInt256((toDecimal256({{ value }}, 18) - toInt256({{ value }})) * toInt256('1000000000000000000'))
{%- endmacro %}

{#- 1e-18 units back to a quantity, failing the run (never wrapping) when |quantity| >= 1e20. -#}
{% macro quantity_from_units(units) -%}
  {{ return(adapter.dispatch('quantity_from_units', 'flexprice')(units)) }}
{%- endmacro %}
{% macro duckdb__quantity_from_units(units) -%}
(case
    when abs({{ units }}) < cast('100000000000000000000000000000000000000' as hugeint)
        then cast({{ units }} as decimal(38, 0)) * cast('0.000000000000000001' as decimal(38, 18))
    when {{ units }} is not null
        then cast(error('flexprice: a usage quantity is outside decimal(38, 18) (|quantity| >= 1e20)') as decimal(38, 18))
end)
{%- endmacro %}
{% macro clickhouse__quantity_from_units(units) -%}
if(throwIf(ifNull(abs({{ units }}) >= toInt256('100000000000000000000000000000000000000'), 0),
           'flexprice: a usage quantity is outside Decimal(38, 18) (|quantity| >= 1e20)') = 0,
   toDecimal128({{ units }}, 0) * toDecimal128('0.000000000000000001', 18), null)
{%- endmacro %}


{#-
  The rounding rule of every inexact quantity (meters.rounded_ratio): (whole × 1e18 + fraction) / denominator
  in 1e-18 units, to the nearest unit, halves away from zero. `whole`, `fraction` and `denominator` (> 0) are
  wide integers; the numerator is never formed (on DuckDB it can exceed 128 bits), the remainders are.
  Used through the three steps below, one CTE each, as columns ratio_whole, ratio_fraction, ratio_denominator.
-#}
{% macro ratio_quotients() -%}
{{ flexprice.int_quotient('ratio_whole', 'ratio_denominator') }} as whole_quotient,
{{ flexprice.int_remainder('ratio_whole', 'ratio_denominator') }} as whole_remainder,
{{ flexprice.int_quotient('ratio_fraction', 'ratio_denominator') }} as fraction_quotient,
{{ flexprice.int_remainder('ratio_fraction', 'ratio_denominator') }} as fraction_remainder
{%- endmacro %}

{#- value = truncated_units + remainder / denominator, remainder with the sign of the rest of the numerator -#}
{% macro ratio_truncation() -%}
{%- set rest -%}
(whole_remainder * {{ flexprice.wide_int("'1000000000000000000'") }} + fraction_remainder)
{%- endset -%}
whole_quotient * {{ flexprice.wide_int("'1000000000000000000'") }} + fraction_quotient
    + {{ flexprice.int_quotient(rest, 'ratio_denominator') }} as truncated_units,
{{ flexprice.int_remainder(rest, 'ratio_denominator') }} as truncated_remainder
{%- endmacro %}

{#- move the remainder to the sign of the whole value, then round half away from zero -#}
{% macro ratio_rounding() -%}
{%- set units -%}
(truncated_units + case
    when truncated_units > 0 and truncated_remainder < 0 then -1
    when truncated_units < 0 and truncated_remainder > 0 then 1
    else 0 end)
{%- endset -%}
{%- set remainder -%}
(truncated_remainder + case
    when truncated_units > 0 and truncated_remainder < 0 then ratio_denominator
    when truncated_units < 0 and truncated_remainder > 0 then -ratio_denominator
    else 0 end)
{%- endset -%}
{{ units }} + case
    when 2 * abs({{ remainder }}) >= ratio_denominator then sign({{ remainder }})
    else 0 end as rounded_units
{%- endmacro %}

{#- The argument of the row with the greatest key tuple among the rows meeting cond (LATEST). -#}
{% macro arg_max_if(arg, keys, cond) -%}
  {{ return(adapter.dispatch('arg_max_if', 'flexprice')(arg, keys, cond)) }}
{%- endmacro %}
{% macro duckdb__arg_max_if(arg, keys, cond) -%}
arg_max({{ arg }}, ({{ keys | join(', ') }})) filter (where {{ cond }})
{%- endmacro %}
{% macro clickhouse__arg_max_if(arg, keys, cond) -%}
argMaxIf({{ arg }}, tuple({{ keys | join(', ') }}), {{ cond }})
{%- endmacro %}

{% macro trim_whitespace(expr) -%}
  {{ return(adapter.dispatch('trim_whitespace', 'flexprice')(expr)) }}
{%- endmacro %}
{% macro duckdb__trim_whitespace(expr) -%}
trim({{ expr }}, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))
{%- endmacro %}
{% macro clickhouse__trim_whitespace(expr) -%}
trim(BOTH ' \t\n\x0B\x0C\r' FROM {{ expr }})
{%- endmacro %}

{#- For ClickHouse sort keys: a value the model guarantees present (ClickHouse infers Nullable from CASE). -#}
{% macro known_not_null(expr) -%}
  {{ return(adapter.dispatch('known_not_null', 'flexprice')(expr)) }}
{%- endmacro %}
{% macro default__known_not_null(expr) -%} {{ expr }} {%- endmacro %}
{% macro clickhouse__known_not_null(expr) -%} assumeNotNull({{ expr }}) {%- endmacro %}
