"""Interval rules: market days in UTC, hour-ending labels, DST repeated-hour flags.

Day arithmetic is done on local calendar days, never with `timedelta(days=1)` on UTC
instants: a market day is 23, 24 or 25 hours long (always 24 for MISO, which runs on
fixed EST).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

from .markets import Iso

__all__ = [
    "NonexistentLocalTime",
    "hour_ending_to_start",
    "hours_in_day",
    "interval_starts",
    "local_day_of",
    "market_day",
    "nth_hour_start",
    "repeated_hour_flags",
]


class NonexistentLocalTime(ValueError):
    """A local wall time that the clock skips (the spring-forward hour)."""


def market_day(iso: Iso, day: date) -> tuple[datetime, datetime]:
    """The UTC interval `[start, end)` covered by the local market day `day`."""
    tz = Iso(iso).tz
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def hours_in_day(iso: Iso, day: date) -> int:
    """23 on a spring-forward day, 25 on a fall-back day, 24 otherwise (and always for MISO)."""
    start, end = market_day(iso, day)
    return int((end - start) / timedelta(hours=1))


def interval_starts(iso: Iso, day: date, interval: timedelta) -> pd.DatetimeIndex:
    """Every interval start (UTC) in the local market day, e.g. 276/288/300 five-minute ones."""
    start, end = market_day(iso, day)
    return pd.date_range(start, end, freq=interval, inclusive="left")


def hour_ending_to_start(iso: Iso, day: date, hour_ending: int, repeated: bool = False) -> datetime:
    """UTC start of the hour labelled `hour_ending` (1-24) on local `day`.

    On a fall-back day the repeated hour (HE2 in the US) appears twice; `repeated=True`
    selects its second occurrence (ERCOT's DSTFlag=Y). On a spring-forward day the skipped
    label (HE3) raises `NonexistentLocalTime`.
    """
    if not 1 <= hour_ending <= 24:
        raise ValueError(f"hour ending must be 1..24, got {hour_ending}")
    tz = Iso(iso).tz
    naive = datetime.combine(day, time(0)) + timedelta(hours=hour_ending - 1)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        if repeated:
            raise ValueError(f"HE{hour_ending} on {day} is not a repeated hour in {iso}")
        # A skipped wall time does not survive a round trip through UTC.
        if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
            raise NonexistentLocalTime(f"HE{hour_ending} on {day} does not exist in {iso}")
        return first.astimezone(UTC)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise NonexistentLocalTime(f"HE{hour_ending} on {day} does not exist in {iso}")
    return (second if repeated else first).astimezone(UTC)


def nth_hour_start(iso: Iso, day: date, n: int) -> datetime:
    """UTC start of the n-th elapsed hour (1-based) of the local day: 1..23/24/25.

    For sources that number hours by elapsed count (HE1..HE25 on a fall-back day).
    """
    count = hours_in_day(iso, day)
    if not 1 <= n <= count:
        raise ValueError(f"{day} has {count} hours in {iso}; hour {n} is out of range")
    return market_day(iso, day)[0] + timedelta(hours=n - 1)


def _offsets(utc: pd.DatetimeIndex, tz: str) -> np.ndarray:
    local = utc.tz_convert(tz).tz_localize(None)
    return (local - utc.tz_localize(None)).to_numpy()


def repeated_hour_flags(iso: Iso, starts: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """True where a UTC instant falls in the second pass of the repeated (fall-back) hour."""
    idx = pd.DatetimeIndex(starts)
    if idx.tz is None:
        raise ValueError("interval starts must be tz-aware UTC")
    idx = idx.tz_convert("UTC")
    tz = Iso(iso).tz_name
    now = _offsets(idx, tz)
    hour_before = _offsets(idx - pd.Timedelta(hours=1), tz)
    return hour_before > now


def local_day_of(iso: Iso, starts: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """The local market day (numpy datetime64[D]) each UTC interval start belongs to."""
    idx = pd.DatetimeIndex(starts)
    if idx.tz is None:
        raise ValueError("interval starts must be tz-aware UTC")
    return idx.tz_convert(Iso(iso).tz_name).tz_localize(None).to_numpy().astype("datetime64[D]")
