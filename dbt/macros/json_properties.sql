{#-
  Reading one property of the event's JSON text, the way billing/meters.py reads it:
  json_value_kind → 'string' | 'bool' | 'integer' | 'number' | null (missing, null, object, array);
  json_scalar_text → the unescaped string, 'true'/'false', or the number's JSON literal as written
  (engines re-print parsed numbers: 1.50 would read 1.5 and 1e3 as 1000.0, which changes the string form).
  The literal is found with one constant regex over the text (a per-row pattern is ~100x slower) and is
  kept only when it parses to the engine's own value, so a nested object holding the same key cannot win.
-#}

{% macro json_value_kind(json, key) -%}
  {{ return(adapter.dispatch('json_value_kind', 'flexprice')(json, key)) }}
{%- endmacro %}

{% macro duckdb__json_value_kind(json, key) -%}
(case json_type({{ json }}, {{ flexprice.duckdb_json_path(key) }})
    when 'VARCHAR' then 'string'
    when 'BOOLEAN' then 'bool'
    -- a JSON integer has one spelling, so the engine's digits are the literal
    when 'UBIGINT' then 'integer'
    when 'BIGINT' then 'integer'
    when 'HUGEINT' then 'number'
    when 'DOUBLE' then 'number'
end)
{% endmacro %}

{% macro clickhouse__json_value_kind(json, key) -%}
transform(JSONType({{ json }}, {{ key }}), ['String', 'Bool', 'Int64', 'UInt64', 'Double'],
          ['string', 'bool', 'integer', 'integer', 'number'], null)
{%- endmacro %}

{% macro json_scalar_text(json, key, kind) -%}
  {{ return(adapter.dispatch('json_scalar_text', 'flexprice')(json, key, kind)) }}
{%- endmacro %}

{% macro duckdb__json_scalar_text(json, key, kind) -%}
{%- set path = flexprice.duckdb_json_path(key) -%}
(case {{ kind }}
    when 'string' then json_extract_string({{ json }}, {{ path }})
    when 'bool' then cast(json_extract({{ json }}, {{ path }}) as varchar)
    when 'integer' then cast(json_extract({{ json }}, {{ path }}) as varchar)
    when 'number' then coalesce(
        regexp_extract(
            list_filter(
                regexp_extract_all({{ json }}, '[{,]\s*"[^"\\]*"\s*:\s*-?[0-9][0-9.eE+-]*'),
                lambda pair: regexp_extract(pair, '"([^"\\]*)"', 1) = {{ key }}
                    and try_cast(regexp_extract(pair, ':\s*(-?[0-9][0-9.eE+-]*)$', 1) as double)
                        = cast(json_extract({{ json }}, {{ path }}) as double)
            )[1],
            ':\s*(-?[0-9][0-9.eE+-]*)$', 1),
        cast(json_extract({{ json }}, {{ path }}) as varchar))
end)
{%- endmacro %}

{% macro clickhouse__json_scalar_text(json, key, kind) -%}
multiIf(
    {{ kind }} = 'string', JSONExtractString({{ json }}, {{ key }}),
    {{ kind }} in ('bool', 'integer'), JSONExtractRaw({{ json }}, {{ key }}),
    {{ kind }} = 'number', coalesce(
        nullIf(
            arrayFirst(
                pair -> pair[1] = {{ key }}
                    and toFloat64OrNull(pair[2]) = JSONExtractFloat({{ json }}, {{ key }}),
                extractAllGroups({{ json }}, '[{,]\\s*"([^"\\\\]*)"\\s*:\\s*(-?[0-9][0-9.eE+-]*)')
            )[2],
            ''),
        JSONExtractRaw({{ json }}, {{ key }})),
    null)
{%- endmacro %}

{% macro duckdb_json_path(key) -%}
('$."' || {{ key }} || '"')
{%- endmacro %}

{#- The one canonical string form (property_string): numbers in plain notation with the literal's digits. -#}
{% macro canonical_string(kind, text) -%}
(case when {{ kind }} = 'number' then {{ flexprice.plain_number(text) }} else {{ text }} end)
{%- endmacro %}

{#-
  Decimal value (event_value): JSON numbers, and strings matching the numeric regex exactly, when they are
  exactly a decimal(38, 18); a JSON integer the engine read as one (|v| < 2^64) always is.
-#}
{% macro parse_quantity(kind, text) -%}
(case
    when {{ kind }} = 'integer' then {{ flexprice.try_quantity(text) }}
    when {{ kind }} = 'number' then {{ flexprice.exact_quantity(text) }}
    when {{ kind }} = 'string' and {{ flexprice.is_numeric_text(text) }} then {{ flexprice.exact_quantity(text) }}
end)
{%- endmacro %}

{% macro is_numeric_text(text) -%}
  {{ return(adapter.dispatch('is_numeric_text', 'flexprice')(text)) }}
{%- endmacro %}

{% macro duckdb__is_numeric_text(text) -%}
regexp_full_match({{ text }}, '[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?')
{%- endmacro %}

{% macro clickhouse__is_numeric_text(text) -%}
match({{ text }}, '^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?$')
{%- endmacro %}

{#-
  A JSON number literal in Python's format(Decimal(literal), 'f'): the coefficient's digits with the
  point moved by the exponent (1.50 → 1.50, 1E+3 → 1000, 2.5e-3 → 0.0025, 0e5 → 0).
-#}
{% macro plain_number(text) -%}
  {{ return(adapter.dispatch('plain_number', 'flexprice')(text)) }}
{%- endmacro %}

{% macro duckdb__plain_number(text) -%}
{%- set frac -%} regexp_extract({{ text }}, '^-?[0-9]*\.([0-9]*)', 1) {%- endset -%}
{%- set digits -%}
coalesce(nullif(ltrim(regexp_extract({{ text }}, '^-?([0-9]*)', 1) || {{ frac }}, '0'), ''), '0')
{%- endset -%}
{%- set raw_exp -%}
(coalesce(try_cast(nullif(replace(regexp_extract({{ text }}, '[eE]([+-]?[0-9]+)$', 1), '+', ''), '') as bigint), 0) - length({{ frac }}))
{%- endset -%}
{%- set exp -%} (case when {{ digits }} = '0' and {{ raw_exp }} > 0 then 0 else {{ raw_exp }} end) {%- endset -%}
{%- set left -%} ({{ exp }} + length({{ digits }})) {%- endset -%}
(case when starts_with({{ text }}, '-') then '-' else '' end
    || case
        when {{ left }} <= 0 then '0.' || repeat('0', cast(-{{ left }} as bigint)) || {{ digits }}
        when {{ left }} >= length({{ digits }}) then {{ digits }} || repeat('0', cast({{ left }} - length({{ digits }}) as bigint))
        else substr({{ digits }}, 1, {{ left }}) || '.' || substr({{ digits }}, {{ left }} + 1)
    end)
{%- endmacro %}

{#-
  ClickHouse: the body runs inside a one-element arrayMap, so that a CASE/multiIf branch holding it is evaluated
  only on the rows that take it (a plain expression tree is computed for every row: ~1 s per 1M events here).
-#}
{% macro clickhouse__plain_number(text) -%}
arrayMap(literal -> {{ flexprice.clickhouse_plain_number_body('literal') }}, [{{ text }}])[1]
{%- endmacro %}

{% macro clickhouse_plain_number_body(text) -%}
{%- set frac -%} regexpExtract({{ text }}, '^-?[0-9]*\\.([0-9]*)', 1) {%- endset -%}
{%- set digits -%}
if(replaceRegexpOne(regexpExtract({{ text }}, '^-?([0-9]*)', 1) || {{ frac }}, '^0+', '') = '', '0',
   replaceRegexpOne(regexpExtract({{ text }}, '^-?([0-9]*)', 1) || {{ frac }}, '^0+', ''))
{%- endset -%}
{%- set raw_exp -%}
(ifNull(toInt64OrNull(replaceOne(regexpExtract({{ text }}, '[eE]([+-]?[0-9]+)$', 1), '+', '')), 0) - toInt64(length({{ frac }})))
{%- endset -%}
{%- set exp -%} if({{ digits }} = '0' and {{ raw_exp }} > 0, 0, {{ raw_exp }}) {%- endset -%}
{%- set left -%} ({{ exp }} + toInt64(length({{ digits }}))) {%- endset -%}
(if(startsWith({{ text }}, '-'), '-', '')
    || multiIf(
        {{ left }} <= 0, '0.' || repeat('0', toUInt64(greatest(-{{ left }}, 0))) || {{ digits }},
        {{ left }} >= length({{ digits }}), {{ digits }} || repeat('0', toUInt64(greatest({{ left }} - toInt64(length({{ digits }})), 0))),
        substring({{ digits }}, 1, toUInt64(greatest({{ left }}, 0))) || '.' || substring({{ digits }}, toUInt64(greatest({{ left }}, 0)) + 1)))
{%- endmacro %}
