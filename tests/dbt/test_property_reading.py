"""The JSON-reading macros equal property_string / event_value on random property values, on both engines.

The macros are compiled by dbt for each target once; hypothesis then runs the compiled SQL directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from clickhouse_connect.driver.client import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flexprice_pipelines.billing.meters import Meter, event_value, property_string
from tests.dbt.dbt_harness import DbtProject

pytestmark = pytest.mark.slow

_INLINE = """
with input as (select __PROPERTIES__ as properties),
kinds as (select properties, {{ flexprice.json_value_kind('properties', "'k'") }} as kind from input),
texts as (select kind, {{ flexprice.json_scalar_text('properties', "'k'", 'kind') }} as text from kinds)
select {{ flexprice.canonical_string('kind', 'text') }} as string_form,
       {{ flexprice.parse_quantity('kind', 'text') }} as value
from texts
"""
_METER = Meter.model_validate({"event_name": "e", "aggregation": {"type": "SUM", "field": "k"}})

_digits = st.text("0123456789", min_size=1, max_size=6)
_numeric_literal = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-"]),
    _digits.filter(lambda d: d == "0" or not d.startswith("0")),
    st.one_of(st.just(""), _digits.map(lambda d: "." + d)),
    st.one_of(
        st.just(""),
        st.builds(lambda e, n: f"{e}{n}", st.sampled_from(["e", "E", "e+", "E-", "e-"]), st.integers(0, 5)),
    ),
)
_numeric_string = st.builds(
    lambda sign, body: sign + body,
    st.sampled_from(["", "+", "-"]),
    st.one_of(
        _numeric_literal.map(lambda s: s.lstrip("-")),
        _digits.map(lambda d: "." + d),
        _digits.map(lambda d: d + "."),
    ),
)
# the edges of decimal(38, 18): 20 integer digits, 18 decimals, trailing zeros, exponents that move the point
# across them, and magnitudes within a double (ClickHouse cannot read a text holding 1e400 at all)
_edge_digits = st.text("0123456789", min_size=1, max_size=42)
_edge_literal = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-"]),
    _edge_digits.filter(lambda d: d == "0" or not d.startswith("0")),
    st.one_of(st.just(""), _edge_digits.map(lambda d: "." + d)),
    st.one_of(
        st.just(""),
        st.builds(lambda e, n: f"{e}{n}", st.sampled_from(["e", "E+", "e-"]), st.integers(0, 300)),
    ),
)
_edge_value = st.one_of(
    _edge_literal,
    _edge_literal.map(json.dumps),
    st.sampled_from(
        [
            "99999999999999999999.999999999999999999",
            "100000000000000000000",
            "-99999999999999999999.9999999999999999990",
            "0.000000000000000001",
            "0.0000000000000000001",
            "1e19",
            "1e20",
            "-1e30",
            "1e300",
            "12345678901234567890123456789012345678e-18",
            "1000000000000000000000e-2",
            '"1e-19"',
            '"Infinity"',
            '"-Infinity"',
            '"nan"',
        ]
    ),
)
_value_text = st.one_of(
    _numeric_literal,
    _edge_value,
    st.integers(-(10**11), 10**11).map(str),
    st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: json.dumps(round(x, 6))),
    _numeric_string.map(json.dumps),
    st.text(max_size=6).map(json.dumps),
    st.sampled_from(["true", "false", "null", "{}", '{"k": 1}', "[1, 2]", '"1_000"', '" 1"', '"NaN"']),
)


def _compile(project: DbtProject) -> str:
    result = project.invoke("compile", "--inline", _INLINE)
    return str(result.result.results[0].node.compiled_code)


@pytest.fixture(scope="module")
def readers(
    duckdb_project: DbtProject, clickhouse_project: DbtProject, ch_client: Client
) -> list[Callable[[str], Any]]:
    duck_sql, ch_sql = _compile(duckdb_project), _compile(clickhouse_project)
    conn = duckdb.connect()

    def duck(properties: str) -> Any:
        literal = "'" + properties.replace("'", "''") + "'"
        return conn.execute(duck_sql.replace("__PROPERTIES__", literal)).fetchone()

    def clickhouse(properties: str) -> Any:
        return tuple(
            ch_client.query(
                ch_sql.replace("__PROPERTIES__", "{p:String}"), parameters={"p": properties}
            ).result_rows[0]
        )

    return [duck, clickhouse]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_value_text, compact=st.booleans(), nested_first=st.booleans())
def test_string_form_and_value_match_reference(
    readers: list[Callable[[str], Any]], value: str, compact: bool, nested_first: bool
) -> None:
    separator = ":" if compact else ": "
    members = [f'"k"{separator}{value}', f'"other"{separator}{{"k"{separator}7.50}}']
    text = "{" + ",".join(members[::-1] if nested_first else members) + "}"
    parsed = json.loads(text, parse_float=Decimal)["k"]
    # every value, in decimal(38, 18) or not: outside it, every engine gives "no value" like the reference
    expected = (property_string(parsed), event_value(_METER, {"properties": {"k": parsed}}))
    for read in readers:
        string_form, number = read(text)
        assert (string_form, number) == expected, (read.__name__, text)
