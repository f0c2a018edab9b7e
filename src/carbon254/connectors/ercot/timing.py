"""ERCOT time rules shared by several datasets (SCED runs, hour-ending labels).

- SCED runs are stamped in local prevailing time with a `RepeatedHourFlag` (Y = the
  second, standard-time pass of the fall-back hour). They run at least every five
  minutes but not on a grid: a price or adder belongs to the 5-minute interval its run
  falls in (floored in UTC, which equals flooring the wall clock since ERCOT offsets are
  whole hours), and when several runs fall in one interval the last run wins.
- Hour-ending labels ("01:00".."24:00" plus `DSTFlag`) name the wall-clock *end* of the
  hour. On a spring-forward day ERCOT skips "02:00" and labels the hour 01:00 CST-03:00
  CDT "03:00", whose naive start (02:00) does not exist; that label is read as the hour
  ending at 03:00 CDT. Any other wall time the clock skips is still an error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...core.markets import Iso
from ...core.schema import UTC_TS
from .. import clock
from ..errors import PayloadError

__all__ = [
    "SCED_FORMAT",
    "floor_starts",
    "hour_ending_starts",
    "last_run_rows",
    "repeated_flags",
    "sced_instants",
]

SCED_FORMAT = "%m/%d/%Y %H:%M:%S"  # "11/03/2024 01:05:13"
_US_PER_MINUTE = 60_000_000


def repeated_flags(dataset: str, values: pa.Array | pa.ChunkedArray, *, column: str) -> np.ndarray:
    """`Y`/`N` (or booleans) as a numpy bool array; anything else is a `PayloadError`."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    if pa.types.is_boolean(values.type):
        if values.null_count:
            raise PayloadError(dataset, f"{column} has empty values")
        return values.to_numpy(zero_copy_only=False).astype(bool)
    text = pc.utf8_upper(pc.utf8_trim_whitespace(values.cast(pa.string())))
    yes = pc.equal(text, "Y")
    ok = pc.fill_null(pc.or_(yes, pc.equal(text, "N")), False)
    if not pc.all(ok).as_py():
        bad = text.filter(pc.invert(ok))[0].as_py()
        raise PayloadError(dataset, f"{column} must be Y or N, got {bad!r}")
    return yes.to_numpy(zero_copy_only=False).astype(bool)


def sced_instants(
    dataset: str,
    stamps: pa.Array | pa.ChunkedArray,
    repeated: np.ndarray,
    *,
    fmt: str = SCED_FORMAT,
) -> pa.Array:
    """UTC instants of local SCED timestamps; distinct (stamp, flag) pairs are localized
    once, so a day of 60-day disclosure rows costs a few hundred conversions."""
    if isinstance(stamps, pa.ChunkedArray):
        stamps = stamps.combine_chunks()
    if stamps.null_count:
        raise PayloadError(dataset, "empty SCED timestamp(s)")
    if pa.types.is_timestamp(stamps.type):
        naive = stamps.cast(pa.timestamp("us"))
    else:
        text = pc.utf8_trim_whitespace(stamps.cast(pa.string()))
        try:
            naive = pc.strptime(text, format=fmt, unit="us")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            try:  # the public API answers ISO 8601 ("2024-11-03T01:05:13")
                naive = text.cast(pa.timestamp("us"))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise PayloadError(
                    dataset, f"unparseable SCED timestamp (expected {fmt}): {text[0]}"
                ) from None
    micros = naive.cast(pa.int64()).to_numpy(zero_copy_only=False)
    # one int64 key per (stamp, flag); µs since 1970 leave room to double
    keys = micros * 2 + np.asarray(repeated, dtype=np.int64)
    unique, inverse = np.unique(keys, return_inverse=True)
    local = clock.localize(
        dataset, Iso.ERCOT, (unique // 2).astype("datetime64[us]"), (unique % 2).astype(bool)
    )
    utc = local.cast(pa.int64()).to_numpy(zero_copy_only=False)[inverse.reshape(-1)]
    return pa.array(utc, type=pa.int64()).cast(UTC_TS)


def floor_starts(instants: pa.Array | pa.ChunkedArray, minutes: int = 5) -> pa.Array:
    """Start of the `minutes` interval each UTC instant falls in."""
    if isinstance(instants, pa.ChunkedArray):
        instants = instants.combine_chunks()
    micros = instants.cast(UTC_TS).cast(pa.int64()).to_numpy(zero_copy_only=False)
    step = minutes * _US_PER_MINUTE
    return pa.array(micros - micros % step, type=pa.int64()).cast(UTC_TS)


def last_run_rows(keys: Sequence[np.ndarray], run_us: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows to keep: per distinct key tuple, the row with the
    latest run time; among equal run times the later row (a re-published document
    ordered after its original) wins."""
    n = len(run_us)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    position = np.arange(n)
    order = np.lexsort((position, run_us, *reversed([np.asarray(k) for k in keys])))
    last = np.ones(n, dtype=bool)
    if n > 1:
        same = np.ones(n - 1, dtype=bool)
        for key in keys:
            ordered = np.asarray(key)[order]
            same &= ordered[1:] == ordered[:-1]
        last[:-1] = ~same
    return np.sort(order[last])


def hour_ending_starts(
    dataset: str,
    days: pa.Array | np.ndarray,
    hour_ending: np.ndarray,
    repeated: np.ndarray | None = None,
) -> pa.Array:
    """UTC starts of ERCOT hour-ending labels 1..24 (with `DSTFlag` as `repeated`).

    The spring-forward label "03:00" (start 02:00, skipped) is the hour ending at 03:00
    CDT, i.e. starting 01:00 CST; a file that also holds "02:00" then has a duplicate
    hour, which the price validation reports.
    """
    day = _as_days(days)
    hour_ending = np.asarray(hour_ending, dtype=np.int64)
    if hour_ending.size == 0:
        return pa.array([], type=UTC_TS)
    naive = day.astype("datetime64[h]") + (hour_ending - 1).astype("timedelta64[h]")
    skipped = _skipped(naive.astype("datetime64[ns]"))
    if not skipped.any():
        return clock.hour_ending_starts(dataset, Iso.ERCOT, day, hour_ending, repeated)
    if repeated is not None and np.asarray(repeated, dtype=bool)[skipped].any():
        raise PayloadError(dataset, "DST flag on a spring-forward hour")
    # Read the hour from its end (which exists), then step back one hour in UTC.
    ends = clock.hour_ending_starts(
        dataset, Iso.ERCOT, day, np.where(skipped, hour_ending + 1, hour_ending), repeated
    )
    micros = ends.cast(pa.int64()).to_numpy(zero_copy_only=False)
    micros = np.where(skipped, micros - 60 * _US_PER_MINUTE, micros)
    return pa.array(micros, type=pa.int64()).cast(UTC_TS)


def _skipped(naive: np.ndarray) -> np.ndarray:
    """True where a naive ERCOT wall time falls in a spring-forward gap."""
    index = pd.DatetimeIndex(naive)
    return np.asarray(
        index.tz_localize(Iso.ERCOT.tz_name, ambiguous=True, nonexistent="NaT").isna()
    )


def _as_days(days: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    if isinstance(days, pa.ChunkedArray):
        days = days.combine_chunks()
    if isinstance(days, pa.Array):
        if pa.types.is_date(days.type):
            days = days.cast(pa.date32())
        days = days.to_numpy(zero_copy_only=False)
    return np.asarray(days).astype("datetime64[D]")
