"""Time rules of the upstreams, turned into UTC interval starts (vectorized).

- UTC fields: parsed as UTC, never through local time (PJM `datetime_beginning_utc`).
- Local time plus a repeated-hour flag (ERCOT `DSTFlag`/`RepeatedHourFlag`): the flag
  picks the second pass of the fall-back hour.
- Hour ending: labels 01:00..24:00 (or 1..24) on a local date, plus the flag; or
  1..23/24/25 counted from local midnight with no flag (ERCOT 2-day AS reports).

A wall time the clock skips, or a flag on an hour that is not repeated, raises
`PayloadError`: such rows are upstream errors to report, not to guess around.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..core.intervals import repeated_hour_flags
from ..core.markets import Iso
from ..core.schema import UTC_TS
from .errors import PayloadError

__all__ = [
    "elapsed_hour_starts",
    "hour_ending_starts",
    "localize",
    "parse_hour_ending",
    "parse_utc",
]


def parse_utc(
    dataset: str, values: pa.Array | pa.ChunkedArray, *, fmt: str | None = None
) -> pa.Array:
    """UTC timestamps from strings that are already UTC ("2023-11-06T04:55:00[.000]",
    or `fmt` such as "%m/%d/%Y %I:%M:%S %p" for Data Miner CSV exports)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_timestamp(values.type):
        return (
            values.cast(pa.timestamp("us")).cast(UTC_TS)
            if values.type.tz is None
            else values.cast(UTC_TS)
        )
    try:
        if fmt is None:
            parsed = values.cast(pa.timestamp("us"))
        else:
            parsed = pc.strptime(values, format=fmt, unit="us")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        try:
            series = pd.to_datetime(
                pd.Series(values.to_pandas()), format=fmt or "ISO8601", utc=fmt is None
            )
        except (ValueError, TypeError) as exc:
            raise PayloadError(dataset, f"unparseable UTC timestamp: {exc}") from None
        if series.dt.tz is None:
            series = series.dt.tz_localize("UTC")
        return pa.array(series.dt.tz_convert("UTC"), type=UTC_TS)
    if parsed.null_count > values.null_count:
        raise PayloadError(dataset, "unparseable UTC timestamp(s)")
    return parsed.cast(UTC_TS)


def localize(
    dataset: str, iso: Iso, naive: np.ndarray | pd.Series, repeated: np.ndarray | None = None
) -> pa.Array:
    """UTC instants for local wall times `naive`; `repeated` marks the second pass of the
    fall-back hour. Without flags an ambiguous time raises (never a silent guess)."""
    index = pd.DatetimeIndex(pd.Series(naive).to_numpy(dtype="datetime64[ns]"))
    if repeated is None:
        ambiguous: np.ndarray | str = "raise"
    else:
        ambiguous = ~np.asarray(repeated, dtype=bool)  # pandas: True = the DST (first) pass
    try:
        local = index.tz_localize(iso.tz_name, ambiguous=ambiguous, nonexistent="raise")
    except Exception as exc:  # pytz/pandas raise several exception types for these
        raise PayloadError(dataset, f"local time not valid in {iso.tz_name}: {exc}") from None
    if repeated is not None:
        _check_flags(dataset, iso, local, np.asarray(repeated, dtype=bool))
    return pa.array(local.tz_convert("UTC"), type=UTC_TS)


def _check_flags(dataset: str, iso: Iso, local: pd.DatetimeIndex, repeated: np.ndarray) -> None:
    # pandas ignores a flag on an hour that is not repeated; that is an upstream error.
    if not repeated.any():
        return
    bad = repeated & ~repeated_hour_flags(iso, local.tz_convert("UTC"))
    if bad.any():
        at = local[int(np.flatnonzero(bad)[0])]
        raise PayloadError(dataset, f"repeated-hour flag on {at}, which is not a repeated hour")


def parse_hour_ending(dataset: str, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Hour-ending numbers from labels "01:00".."24:00", "1".."25" or integers."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_integer(values.type):
        hours = values.to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
        pieces = pc.split_pattern(text, ":", max_splits=1)  # [hh] or [hh, mm]
        first = pc.list_element(pieces, 0)
        try:
            hours = first.cast(pa.int64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise PayloadError(dataset, "hour ending labels are not HH:00 or integers") from None
        with_minutes = pc.equal(pc.list_value_length(pieces), 2)
        minutes = pc.if_else(with_minutes, pc.list_slice(pieces, 1, 2), pa.scalar(["00"]))
        minutes = pc.list_element(minutes, 0)
        nonzero = pc.fill_null(pc.not_equal(minutes, "00"), False)
        if pc.any(nonzero).as_py():
            raise PayloadError(dataset, "hour ending label with minutes other than :00")
    if hours.size and (hours.min() < 1 or hours.max() > 25):
        raise PayloadError(dataset, f"hour ending out of range 1..25: {hours.min()}..{hours.max()}")
    return hours


def hour_ending_starts(
    dataset: str,
    iso: Iso,
    days: pa.Array | np.ndarray,
    hour_ending: np.ndarray,
    repeated: np.ndarray | None = None,
) -> pa.Array:
    """UTC starts of hour-ending labels 1..24 on local `days`, `repeated` from the DST flag."""
    if hour_ending.size and hour_ending.max() > 24:
        raise PayloadError(dataset, "hour ending 25 needs the elapsed-hour rule, not a DST flag")
    day = _days(days)
    naive = day + (hour_ending - 1).astype("timedelta64[h]")
    return localize(dataset, iso, naive, repeated)


def elapsed_hour_starts(
    dataset: str, iso: Iso, days: pa.Array | np.ndarray, hour: np.ndarray
) -> pa.Array:
    """UTC starts of hours numbered 1..23/24/25 from local midnight (no DST flag)."""
    day = _days(days)
    unique, inverse = np.unique(day, return_inverse=True)
    midnight = localize(dataset, iso, unique.astype("datetime64[ns]"))
    next_midnight = localize(
        dataset, iso, (unique + np.timedelta64(1, "D")).astype("datetime64[ns]")
    )
    start_us = midnight.cast(pa.int64()).to_numpy()
    length_h = (next_midnight.cast(pa.int64()).to_numpy() - start_us) // 3_600_000_000
    too_many = hour > length_h[inverse]
    if too_many.any():
        at = int(np.flatnonzero(too_many)[0])
        raise PayloadError(
            dataset,
            f"hour {hour[at]} on {unique[inverse[at]]}, a day of {length_h[inverse[at]]} hours",
        )
    micros = start_us[inverse] + (hour - 1) * 3_600_000_000
    return pa.array(micros, type=pa.int64()).cast(UTC_TS)


def _days(days: pa.Array | np.ndarray) -> np.ndarray:
    if isinstance(days, pa.ChunkedArray):
        days = days.combine_chunks()
    if isinstance(days, pa.Array):
        if pa.types.is_date(days.type):
            return days.cast(pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
        days = days.to_numpy(zero_copy_only=False)
    return np.asarray(days).astype("datetime64[D]")
