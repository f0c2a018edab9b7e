"""SQL vocabulary shared by the store's writes and reads, and its time arguments."""

from __future__ import annotations

from datetime import UTC, datetime

from ..core.schema import EARLIEST_INTERVAL, LATEST_INTERVAL
from .base import InvalidArgument

__all__ = [
    "AGGREGATES",
    "CHANGED",
    "FREQS",
    "PRICE_COLUMNS",
    "P_PRICE_COLUMNS",
    "as_utc",
    "now_utc",
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


def now_utc() -> datetime:
    return datetime.now(UTC)
