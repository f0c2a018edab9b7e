"""SQL vocabulary shared by the store's writes and reads, and its time arguments."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from ..core.schema import EARLIEST_INTERVAL, LATEST_INTERVAL
from .base import InvalidArgument

__all__ = [
    "AGGREGATES",
    "CHANGED",
    "FREQS",
    "PRICE_COLUMNS",
    "P_PRICE_COLUMNS",
    "as_utc",
    "enum_value",
    "now_utc",
    "quote",
    "utc_range",
]

VALUE_COLUMNS = ("value", "energy", "congestion", "loss", "ghg")
PRICE_COLUMNS = ", ".join(("instrument_key", "interval_start", "interval_end", *VALUE_COLUMNS))
P_PRICE_COLUMNS = ", ".join(f"p.{c}" for c in PRICE_COLUMNS.split(", "))
# A stored row p and an incoming row s for the same key differ (NULL-safe).
CHANGED = " OR ".join(f"p.{c} IS DISTINCT FROM s.{c}" for c in ("interval_end", *VALUE_COLUMNS))
AGGREGATES = {"mean": "avg", "min": "min", "max": "max"}
FREQS = ("15min", "hourly", "daily", "monthly")


def as_utc(value: datetime, name: str) -> datetime:
    """A tz-aware datetime argument converted to UTC, or a clear error."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise InvalidArgument(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")
    value = value.astimezone(UTC)
    # Outside the span data may have: typos, and absurd ranges for the clock arithmetic.
    if not EARLIEST_INTERVAL <= value <= LATEST_INTERVAL:
        raise InvalidArgument(
            f"{name} {value.isoformat()} is outside the supported span "
            f"{EARLIEST_INTERVAL.year}-{LATEST_INTERVAL.year}"
        )
    return value


def utc_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """A half-open [start, end) argument pair in UTC, or a clear error."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if start >= end:
        raise InvalidArgument(f"start {start.isoformat()} must be before end {end.isoformat()}")
    return start, end


def quote(text: str, name: str = "value") -> str:
    """A SQL string literal for caller-supplied text (facility names carry apostrophes).

    Standard SQL doubling of quotes, valid in DuckDB and in PostgreSQL (whose
    standard_conforming_strings is on by default, and is what psycopg connects with).
    """
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a string, got {type(text).__name__}")
    if "\x00" in text:
        raise InvalidArgument(f"{name} contains a NUL character")
    return "'" + text.replace("'", "''") + "'"


E = TypeVar("E", bound=StrEnum)


def enum_value(enum: type[E], value: object, name: str) -> E:
    """`value` as a member of `enum` (safe to put in SQL), or `InvalidArgument`."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidArgument(f"unknown {name} {value!r} (expected one of {allowed})") from None


def now_utc() -> datetime:
    return datetime.now(UTC)
