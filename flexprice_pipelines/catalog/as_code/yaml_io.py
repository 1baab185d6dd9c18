"""Reading and writing the catalog YAML without ever passing money through a float.

YAML reads ``49.99`` as a float; our loader builds a ``Decimal`` from the literal text instead, and
keeps timestamps as text so pydantic decides whether they carry a time zone. The dumper writes
every ``Decimal`` as a quoted string, so a round trip keeps each digit and its scale.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from flexprice_pipelines.catalog.as_code.errors import CatalogFileError
from flexprice_pipelines.catalog.as_code.spec import CatalogSpec


class _Loader(yaml.SafeLoader):
    pass


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        value = Decimal(text.replace("_", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a finite number", node.start_mark
        )
    return value


def _text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _text)


class _Dumper(yaml.SafeDumper):
    pass


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="'")


def _represent_datetime(dumper: yaml.SafeDumper, value: datetime) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value.isoformat())


_Dumper.add_representer(Decimal, _represent_decimal)
_Dumper.add_representer(datetime, _represent_datetime)


def parse_yaml(text: str) -> dict[str, Any]:
    """The YAML document as plain data (floats as ``Decimal``); ``CatalogFileError`` if it is not YAML."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        raise CatalogFileError([(where, f"invalid YAML: {exc.problem or exc}")]) from None
    except yaml.YAMLError as exc:
        raise CatalogFileError([("(document)", f"invalid YAML: {exc}")]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CatalogFileError([("(document)", "the catalog file must be a mapping (meters:, plans: …)")])
    return data


def dump_catalog(catalog: CatalogSpec) -> str:
    """The catalog as YAML in the stable order: sorted by lookup_key, defaults left out."""
    data = catalog.sorted().model_dump(mode="python", exclude_defaults=True)
    for plan in data.get("plans", []):
        for price in plan.get("prices", []):
            # An open last tier reads better as an explicit ``up_to: null`` than as a missing key.
            price["tiers"] = [{"up_to": None, **tier} for tier in price.get("tiers") or []] or None
            if price["tiers"] is None:
                del price["tiers"]
    data = {"version": 1, **data}
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
