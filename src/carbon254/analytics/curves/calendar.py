"""Delivery months in a market's own clock: bounds, on-/off-peak hour counts, month keys.

A delivery month runs from local midnight on its first day to local midnight on the
first day of the next month, so a spring-forward month has 743 hours and a fall-back
month 745 (MISO, on fixed EST, always has 24 x days). On- and off-peak hours come from
`core.peak`, the one definition of the peak calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from ...core import Iso, is_on_peak, market_day

__all__ = [
    "add_months",
    "local_month_keys",
    "month_bounds",
    "month_hours",
    "month_key",
    "month_of_key",
]


def month_key(month: date) -> int:
    """A month as a running number (year * 12 + month - 1): months subtract as integers."""
    return month.year * 12 + month.month - 1


def month_of_key(key: int) -> date:
    """The first day of the month numbered `key` (inverse of `month_key`)."""
    return date(key // 12, key % 12 + 1, 1)


def add_months(month: date, n: int) -> date:
    """The first day of the month `n` months after `month`'s."""
    return month_of_key(month_key(month) + n)


def month_bounds(iso: Iso, month: date) -> tuple[datetime, datetime]:
    """The UTC interval `[start, end)` of the local delivery month containing `month`."""
    first = date(month.year, month.month, 1)
    return market_day(iso, first)[0], market_day(iso, add_months(first, 1))[0]


@lru_cache(maxsize=4096)
def month_hours(iso: Iso, month: date) -> tuple[int, int]:
    """(on-peak, off-peak) hours of the delivery month in the ISO's calendar."""
    start, end = month_bounds(Iso(iso), month)
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    on = int(np.count_nonzero(is_on_peak(Iso(iso), hours)))
    return on, len(hours) - on


def local_month_keys(iso: Iso, starts_us: np.ndarray) -> np.ndarray:
    """The local month key (`month_key`) of each UTC instant, given in microseconds."""
    local = pd.DatetimeIndex(starts_us.astype("datetime64[us]")).tz_localize(UTC)
    local = local.tz_convert(Iso(iso).tz_name)
    return local.year.to_numpy().astype(np.int64) * 12 + local.month.to_numpy() - 1
