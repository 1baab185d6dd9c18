{#- Quantities are decimal(38, 18) on both engines: exact sums, 20 integer digits. -#}

{% macro try_quantity(text) -%}
  {{ return(adapter.dispatch('try_quantity', 'flexprice')(text)) }}
{%- endmacro %}
{% macro duckdb__try_quantity(text) -%} try_cast({{ text }} as decimal(38, 18)) {%- endmacro %}
{% macro clickhouse__try_quantity(text) -%} toDecimal128OrNull({{ text }}, 18) {%- endmacro %}

{% macro to_quantity(expr) -%}
  {{ return(adapter.dispatch('to_quantity', 'flexprice')(expr)) }}
{%- endmacro %}
{% macro duckdb__to_quantity(expr) -%} cast({{ expr }} as decimal(38, 18)) {%- endmacro %}
{% macro clickhouse__to_quantity(expr) -%} cast({{ expr }} as Nullable(Decimal(38, 18))) {%- endmacro %}

{#-
  SUM × multiplier: decimal(38, 12) × decimal(38, 10) keeps the product exact for sums with at most
  12 decimals and multipliers with at most 10 (38 digits cannot hold 18 + 18 decimals and 20 integers).
-#}
{% macro multiply_quantity(quantity, multiplier) -%}
  {{ return(adapter.dispatch('multiply_quantity', 'flexprice')(quantity, multiplier)) }}
{%- endmacro %}
{% macro duckdb__multiply_quantity(quantity, multiplier) -%}
(cast({{ quantity }} as decimal(38, 12)) * cast({{ multiplier }} as decimal(38, 10)))
{%- endmacro %}
{% macro clickhouse__multiply_quantity(quantity, multiplier) -%}
(cast({{ quantity }} as Nullable(Decimal(38, 12))) * cast({{ multiplier }} as Nullable(Decimal(38, 10))))
{%- endmacro %}

{#- value × microseconds for WEIGHTED_SUM: decimal(38, 12) leaves 26 integer digits for the product. -#}
{% macro weighted_term(value, microseconds) -%}
  {{ return(adapter.dispatch('weighted_term', 'flexprice')(value, microseconds)) }}
{%- endmacro %}
{% macro duckdb__weighted_term(value, microseconds) -%}
(cast({{ value }} as decimal(38, 12)) * cast({{ microseconds }} as bigint))
{%- endmacro %}
{% macro clickhouse__weighted_term(value, microseconds) -%}
(cast({{ value }} as Nullable(Decimal(38, 12))) * toInt64({{ microseconds }}))
{%- endmacro %}

{#- The one division (AVG, WEIGHTED_SUM), null on a zero denominator; compared within 1e-9 relative. -#}
{% macro quantity_ratio(numerator, denominator) -%}
  {{ return(adapter.dispatch('quantity_ratio', 'flexprice')(numerator, denominator)) }}
{%- endmacro %}
{% macro duckdb__quantity_ratio(numerator, denominator) -%}
cast(cast({{ numerator }} as double) / nullif({{ denominator }}, 0) as decimal(38, 18))
{%- endmacro %}
{% macro clickhouse__quantity_ratio(numerator, denominator) -%}
cast(toDecimal256({{ numerator }}, 36) / nullIf({{ denominator }}, 0) as Nullable(Decimal(38, 18)))
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
