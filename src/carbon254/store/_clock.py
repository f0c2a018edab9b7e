"""Market-clock arithmetic in SQL: UTC instants to local wall time, and the peak filter.

Both backends store UTC. Rather than call a time-zone function per row, the store asks
Python for the (few) constant-offset segments of the ISO's clock over the query range and
emits one CASE expression, which DuckDB and PostgreSQL evaluate at full speed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime

import pandas as pd

from ..core import Iso, market_day, nerc_holidays, peak_definition

__all__ = ["local_time_sql", "peak_sql"]

Literal = Callable[[datetime], str]


def _segments(iso: Iso, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(segment_start_utc, offset_minutes)] covering [start - 1 day, end + 1 day]."""
    lo = pd.Timestamp(start).tz_convert("UTC").floor("h") - pd.Timedelta(days=1)
    hi = pd.Timestamp(end).tz_convert("UTC").ceil("h") + pd.Timedelta(days=1)
    hours = pd.date_range(lo, hi, freq="h")
    local = hours.tz_convert(Iso(iso).tz_name).tz_localize(None)
    minutes = ((local - hours.tz_localize(None)) // pd.Timedelta(minutes=1)).to_numpy()
    segments = [(hours[0].to_pydatetime(), int(minutes[0]))]
    for i in range(1, len(hours)):
        if minutes[i] != minutes[i - 1]:
            segments.append((hours[i].to_pydatetime(), int(minutes[i])))
    return segments


def local_time_sql(column: str, iso: Iso, start: datetime, end: datetime, literal: Literal) -> str:
    """SQL for `column` (UTC) shifted to the ISO's local wall time, valid on [start, end)."""
    segments = _segments(iso, start, end)
    if len(segments) == 1:
        return f"({column} + INTERVAL '{segments[0][1]} minutes')"
    whens = [
        f"WHEN {column} < {literal(nxt[0])} THEN INTERVAL '{cur[1]} minutes'"
        for cur, nxt in itertools.pairwise(segments)
    ]
    return f"({column} + CASE {' '.join(whens)} ELSE INTERVAL '{segments[-1][1]} minutes' END)"


def peak_sql(local: str, iso: Iso, start: datetime, end: datetime, on: bool) -> str:
    """SQL predicate on a local wall-time expression: on-peak (or its complement)."""
    rule = peak_definition(iso)
    years = range(start.astimezone(UTC).year - 1, end.astimezone(UTC).year + 2)
    holidays: list[date] = sorted(h for y in years for h in nerc_holidays(y))
    days = ", ".join(f"DATE '{d.isoformat()}'" for d in holidays)
    weekdays = ", ".join(str(d) for d in sorted(rule.weekdays))
    predicate = (
        f"(extract(hour FROM {local}) BETWEEN {rule.first_hour} AND {rule.last_hour}"
        f" AND extract(isodow FROM {local}) IN ({weekdays})"
        f" AND CAST({local} AS DATE) NOT IN ({days}))"
    )
    return predicate if on else f"(NOT {predicate})"


def local_bucket_bounds(iso: Iso, label: date, freq: str) -> tuple[datetime, datetime]:
    """UTC bounds of a local daily or monthly bucket labelled by its first local date."""
    if freq == "daily":
        return market_day(iso, label)
    nxt = date(label.year + label.month // 12, label.month % 12 + 1, 1)
    return market_day(iso, label)[0], market_day(iso, nxt)[0]
