"""The calendar month (UTC) a billing partition covers: the pipeline, the sensors and the CLI key work by it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class YearMonth:
    """A partition's calendar month (UTC)."""

    year: int
    month: int

    @classmethod
    def parse(cls, key: str) -> YearMonth:
        """``YYYY-MM`` or Dagster's monthly partition key ``YYYY-MM-DD``."""
        parts = key.split("-")
        return cls(int(parts[0]), int(parts[1]))

    @property
    def start(self) -> datetime:
        """First instant of the month, UTC."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """First instant of the next month, UTC (exclusive)."""
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return datetime(year, month, 1, tzinfo=UTC)

    @property
    def previous(self) -> YearMonth:
        """The month before."""
        return YearMonth(self.year - 1, 12) if self.month == 1 else YearMonth(self.year, self.month - 1)

    @property
    def key(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"
