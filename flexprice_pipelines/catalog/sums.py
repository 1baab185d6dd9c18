"""``exact_sum(column)``: SUM of an ``ExactDecimal`` column in SQL, exact on both backends.

PostgreSQL sums ``NUMERIC`` exactly. SQLite stores these columns as decimal text, and its own ``SUM``
converts text to REAL (``0.1 + 0.2`` → ``0.30000000000000004``), so on SQLite ``exact_sum`` calls an
aggregate of our own, registered on every catalog connection by ``db.make_engine``, that adds the
text as ``Decimal`` with no rounding. Both return NULL over no rows, like ``SUM``, and keep the
largest scale of the addends (``1.50 + 2.5`` → ``4.00``), as PostgreSQL's NUMERIC does.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from flexprice_pipelines.catalog.types import ExactDecimal

SQLITE_FUNCTION = "flexprice_exact_sum"
# Addition is exact at any precision libmpdec allows; trap Inexact so a sum can never round silently.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow],
)


class exact_sum(FunctionElement[Decimal]):
    """``exact_sum(Model.amount)``: the exact sum as ``Decimal`` (None over no rows)."""

    type = ExactDecimal()
    name = "exact_sum"
    inherit_cache = True


@compiles(exact_sum)
def _sum(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_sum, "sqlite")
def _sqlite_sum(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


class DecimalTextSum:
    """The SQLite aggregate behind ``exact_sum``: decimal text (or integers) in, decimal text out."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: object) -> None:
        if value is None:
            return
        if isinstance(value, float):  # REAL in a money column: it already lost digits, refuse to add it
            raise TypeError(f"{SQLITE_FUNCTION}: REAL value {value!r} in a decimal column")
        number = Decimal(value if isinstance(value, int) else str(value))
        self.total = number if self.total is None else _EXACT.add(self.total, number)

    def finalize(self) -> str | None:
        return None if self.total is None else format(self.total, "f")


def register_sqlite(dbapi_connection: Any) -> None:
    """Install the aggregate on a raw ``sqlite3`` connection (``db.make_engine`` does, on connect)."""
    dbapi_connection.create_aggregate(SQLITE_FUNCTION, 1, DecimalTextSum)
