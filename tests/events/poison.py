"""Bus messages no API would write, as a foreign Kafka producer (or an old outbox row) could: each must be
dead-lettered by the sink with its reason while every good message around it lands."""

from __future__ import annotations

from typing import Any

import orjson


def envelope(event_id: str, **fields: Any) -> dict[str, Any]:
    """A well-formed wire message of tenant-a/prod, with ``fields`` replaced."""
    return {
        "tenant_id": "tenant-a",
        "environment_id": "prod",
        "event_id": event_id,
        "event_name": "api_call",
        "external_customer_id": "cust-1",
        "customer_id": None,
        "timestamp": "2024-03-20T11:00:00.000000Z",
        "source": None,
        "properties": {"amount": "1"},
        "ingested_at": "2024-03-20T11:00:00.000000Z",
        **fields,
    }


def _deep(depth: int) -> str:
    return '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)


def _raw(event_id: str, properties_text: str) -> bytes:
    head = orjson.dumps(envelope(event_id, properties=None))[:-1]
    return head + b', "properties": ' + properties_text.encode() + b"}"


def poison_messages() -> dict[str, tuple[bytes, str]]:
    """``name → (payload, start of the expected dead-letter reason)``."""
    out_of_range = "properties.n: is a number outside -1e20 < v < 1e20"
    return {
        # Issue 11 item 1: orjson reads 1,024 levels but writes 254; json reads ~1,000.
        "deep 255": (_raw("p-deep-255", _deep(255)), "properties: nests deeper than 32 levels"),
        "deep 980": (_raw("p-deep-980", _deep(980)), "properties: nests deeper than 32 levels"),
        "deep 1023": (_raw("p-deep-1023", _deep(1023)), "properties: nests deeper than 32 levels"),
        "deep 5000": (_raw("p-deep-5000", _deep(5000)), "not JSON: RecursionError"),
        # Issue 11 item 6: what no engine counts exactly.
        "number 1e400": (_raw("p-1e400", '{"n": 1e400}'), out_of_range),
        "string 1e400": (_raw("p-s1e400", '{"n": "1e400"}'), out_of_range),
        "string -1e30": (_raw("p-s-1e30", '{"n": "-1e30"}'), out_of_range),
        "int 1e20": (_raw("p-i1e20", '{"n": 100000000000000000000}'), out_of_range),
        "19 decimals": (
            _raw("p-scale", '{"n": 0.1000000000000000001}'),
            "properties.n: has 19 digits after the decimal point",
        ),
        "zero written out 100k": (_raw("p-zero", '{"n": "0E-100000"}'), "properties.n: is a number longer"),
        # Sizes and lengths the read model (VARCHAR(255), VARCHAR(64)) or the stores cannot hold.
        "long event_id": (orjson.dumps(envelope("x" * 256)), "event_id: 256 characters; at most 255"),
        "long tenant_id": (
            orjson.dumps(envelope("p-tenant", tenant_id="t" * 65)),
            "tenant_id: 65 characters; at most 64",
        ),
        "long source": (orjson.dumps(envelope("p-source", source="s" * 256)), "source: 256 characters"),
        "long string": (
            orjson.dumps(envelope("p-string", properties={"s": "x" * 8193})),
            "properties.s: is a string of 8193 characters",
        ),
        "many values": (
            orjson.dumps(envelope("p-values", properties={"l": list(range(1000))})),
            "properties: holds more than 1000 keys and list items",
        ),
        # Issue 11 item 8 on the bus side: no UTC instant, or beyond what ClickHouse stores.
        "timestamp 9999-01:00": (
            orjson.dumps(envelope("p-ts-max", timestamp="9999-12-31T23:59:59-01:00")),
            "timestamp: lies outside the supported range",
        ),
        "timestamp 0001+14:00": (
            orjson.dumps(envelope("p-ts-min", timestamp="0001-01-01T00:00:00+14:00")),
            "timestamp: lies outside the supported range",
        ),
        "timestamp year 1": (
            orjson.dumps(envelope("p-ts-1", timestamp="0001-01-01T00:00:00Z")),
            "timestamp: lies outside the supported range",
        ),
        "ingested_at year 3000": (
            orjson.dumps(envelope("p-in-3000", ingested_at="3000-01-01T00:00:00Z")),
            "ingested_at: lies outside the supported range",
        ),
        # Text that is no Unicode: json reads an escaped lone surrogate, nothing can write it out.
        "surrogate in id": (
            orjson.dumps(envelope("p-sur"))
            .replace(b'"p-sur"', b'"p-sur\\ud800"')
            .replace(b'"amount":"1"', b'"amount":1.5'),
            "event_id: not Unicode text",
        ),
        "surrogate in property": (
            _raw("p-sur-prop", '{"s": "\\udfff", "f": 1.5}'),
            "properties: cannot be written",
        ),
        "not utf-8": (b'{"tenant_id": "\xff"}', "not JSON"),
    }
