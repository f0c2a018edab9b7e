"""Interval prices to time-weighted monthly on-/off-peak means in the market clock.

Input is any frame of interval prices (`interval_start`, `interval_end` UTC, `value`),
at any granularity: each row weighs by the time it covers, so a 5-minute row counts a
twelfth of an hourly one. An optional `hours` column overrides that weight (an hourly
bucket built from nine of its twelve 5-minute intervals covers 0.75 h). A row belongs to
the local month and peak block of its start, as `core.peak` classifies it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...core import Iso, is_on_peak
from .calendar import local_month_keys

__all__ = ["PEAKS", "Intervals", "MonthGrid", "intervals_from", "monthly_grid"]

PEAKS = ("on", "off")
"""Peak types in the order of every (month, peak) array: index 0 on-peak, 1 off-peak."""

_US_PER_HOUR = 3_600_000_000
_UTC_US = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class Intervals:
    """Interval prices as arrays, with each row's local month key and peak index."""

    start_us: np.ndarray  # int64 microseconds since the epoch, UTC
    end_us: np.ndarray
    value: np.ndarray  # float64
    hours: np.ndarray  # float64 weight: the time the row's value covers
    month: np.ndarray  # int64 local month key (calendar.month_key)
    peak: np.ndarray  # int8 index into PEAKS

    def __len__(self) -> int:
        return len(self.value)

    def select(self, mask: np.ndarray) -> Intervals:
        return Intervals(*(getattr(self, f.name)[mask] for f in fields(self)))


def _timestamps(table: pa.Table, name: str, what: str) -> np.ndarray:
    if name not in table.column_names:
        raise ValueError(f"{what} needs a column {name!r}")
    column = table.column(name)
    if column.null_count:
        raise ValueError(f"{what}: {name} has nulls")
    if not pa.types.is_timestamp(column.type) or column.type.tz is None:
        raise ValueError(f"{what}: {name} must be a tz-aware UTC timestamp, got {column.type}")
    return column.cast(_UTC_US).cast(pa.int64()).to_numpy()


def intervals_from(frame: pa.Table | pd.DataFrame, iso: Iso, what: str = "history") -> Intervals:
    """Validated arrays of `frame`; rows with a null or non-finite value are dropped."""
    table = (
        frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    )
    if "value" not in table.column_names:
        raise ValueError(f"{what} needs a column 'value'")
    start = _timestamps(table, "interval_start", what)
    end = _timestamps(table, "interval_end", what)
    value = pc.cast(table.column("value"), pa.float64()).to_numpy(zero_copy_only=False)
    if np.any(end <= start):
        raise ValueError(f"{what}: every interval_end must be after its interval_start")
    length = (end - start) / _US_PER_HOUR
    if "hours" in table.column_names:
        hours = pc.cast(table.column("hours"), pa.float64()).to_numpy(zero_copy_only=False)
        if np.any(~(hours > 0)) or np.any(hours > length * (1 + 1e-9)):
            raise ValueError(f"{what}: hours must be positive and at most the interval length")
    else:
        hours = length
    keep = np.isfinite(value)
    start, end, value, hours = start[keep], end[keep], value[keep], hours[keep]
    starts = pd.DatetimeIndex(start.astype("datetime64[us]")).tz_localize("UTC")
    on = is_on_peak(iso, starts) if len(start) else np.zeros(0, bool)
    peak = np.where(on, 0, 1).astype(np.int8)
    month = local_month_keys(iso, start) if len(start) else np.zeros(0, np.int64)
    return Intervals(start, end, value, hours.astype(np.float64), month, peak)


@dataclass(frozen=True, slots=True)
class MonthGrid:
    """Time-weighted sums per (local month, peak): rows are months `first .. first+n-1`."""

    first: int  # month key of row 0
    hours: np.ndarray  # (n, 2) hours covered
    weighted: np.ndarray  # (n, 2) sum of value x hours

    @property
    def months(self) -> int:
        return self.hours.shape[0]

    def rows(self, lo: int, hi: int) -> slice:
        """The rows of month keys [lo, hi), clipped to the grid."""
        return slice(max(lo - self.first, 0), max(min(hi - self.first, self.months), 0))

    def mean(self) -> np.ndarray:
        """(n, 2) time-weighted mean price; NaN where nothing was priced."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.hours > 0, self.weighted / self.hours, np.nan)


def monthly_grid(intervals: Intervals) -> MonthGrid:
    """Sum `intervals` into (month, peak) cells from their first to their last month."""
    if not len(intervals):
        return MonthGrid(0, np.zeros((0, 2)), np.zeros((0, 2)))
    first = int(intervals.month.min())
    n = int(intervals.month.max()) - first + 1
    cell = (intervals.month - first) * 2 + intervals.peak
    hours = np.bincount(cell, weights=intervals.hours, minlength=2 * n)
    weighted = np.bincount(cell, weights=intervals.hours * intervals.value, minlength=2 * n)
    return MonthGrid(first, hours.reshape(n, 2), weighted.reshape(n, 2))
