"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no decimal type (SQLAlchemy's ``Numeric`` goes through REAL there and loses digits) and
no time zones, so money is stored as decimal text and time as naive UTC text on SQLite, while
PostgreSQL gets unconstrained ``NUMERIC`` (keeps every digit and the scale it was given), ``timestamptz``
and ``JSONB``. Reads always return ``Decimal`` and aware UTC ``datetime``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import NUMERIC, TypeDecorator, TypeEngine

from flexprice_pipelines.billing.money import ensure_decimal


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` that round-trips exactly: value and scale (``1.50`` stays ``1.50``).

    Floats are refused (``TypeError``) like everywhere else in billing. On SQLite the column is
    text: compare money in Python, not in SQL, and sum it with ``sums.exact_sum`` (SQLite's own
    ``SUM`` goes through REAL).
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(NUMERIC(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = ensure_decimal(value, "decimal column")
        if not number.is_finite():
            raise ValueError(f"decimal columns hold finite numbers only, not {number}")
        # Plain notation ("0.00000001", never "1E-8"): what PostgreSQL's NUMERIC keeps, and readable.
        return number if dialect.name == "postgresql" else format(number, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC; naive datetimes are refused rather than guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused; attach a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
