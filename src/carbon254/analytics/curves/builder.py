"""A monthly on-/off-peak forward curve from price history: level x seasonal shape.

Shape. History is cut into 12-month blocks ending at the last complete local month. In
each complete block y (every month has both peak types priced for at least
`min_coverage` of their hours), the time-weighted mean P[y, m, p] of calendar month m
and peak type p is divided by that block's annual mean A[y, p] = mean over m of
P[y, m, p]; the shape is the average of those ratios over the blocks (up to
`max_years`): S[m, p] = mean_y P[y, m, p] / A[y, p]. Dividing by each year's own mean is
what lets a $30 year and a $60 year combine.

Level. The time-weighted mean of the de-seasonalized prices price / S[month, p] over the
`level_days` local days before the end of history, per peak type: L[p].

Curve. F[m, p] = L[p] x S[m, p]. With no complete block (under 12 months of history, or
gaps) the curve is flat at the trailing mean of each peak type, and says so. A forecast
(future interval prices) replaces the months it covers completely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ...core import Iso
from .calendar import local_month_keys, month_bounds, month_hours, month_key, month_of_key
from .history import PEAKS, Intervals, MonthGrid, intervals_from, monthly_grid

__all__ = [
    "CURVE_SCHEMA",
    "MAX_MONTHS",
    "CurveMethod",
    "ForwardCurve",
    "InsufficientHistory",
    "build_curve",
]

MAX_MONTHS = 60

CURVE_SCHEMA = pa.schema(
    [
        pa.field("month", pa.date32(), nullable=False),  # first day of the delivery month
        pa.field("peak", pa.string(), nullable=False),  # "on" | "off"
        pa.field("price", pa.float64(), nullable=False),  # $/MWh
        pa.field("source", pa.string(), nullable=False),  # "history" | "forecast" | "mark"
        pa.field("years", pa.int32()),  # years of history behind the shape; null if not history
        pa.field("hours", pa.int32(), nullable=False),  # hours of this peak type in the month
    ]
)


class InsufficientHistory(ValueError):
    """No curve can be built from this history; `reason` is a short machine code."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CurveMethod:
    """The builder's knobs, with the defaults the API uses."""

    level_days: int = 90
    max_years: int = 5
    min_coverage: float = 0.9  # share of a (month, peak)'s hours that must be priced

    def __post_init__(self) -> None:
        if self.level_days < 1 or self.max_years < 1 or not 0 < self.min_coverage <= 1:
            raise ValueError("level_days and max_years must be >= 1, min_coverage in (0, 1]")


@dataclass(frozen=True, slots=True)
class ForwardCurve:
    """The curve (`CURVE_SCHEMA`, ordered by month then on before off) and how it was made."""

    table: pa.Table
    method: str  # "seasonal" | "flat"
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-ready


@dataclass(frozen=True, slots=True)
class _Shape:
    factors: np.ndarray  # (12, 2) by calendar month index (0 = January) and peak
    blocks: list[int]  # last month key of each block used
    skipped: list[dict[str, str]]  # blocks left out, and why
    reason: str | None  # why the curve is flat, when it is


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _month_text(key: int) -> str:
    return month_of_key(key).strftime("%Y-%m")


def _instant(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(us))


def _last_complete_month(iso: Iso, history_end: datetime) -> int:
    key = int(local_month_keys(iso, np.array([_micros(history_end) - 1]))[0])
    if month_bounds(iso, month_of_key(key))[1] > history_end:
        key -= 1
    return key


def _micros(instant: datetime) -> int:
    return (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _seasonal_shape(iso: Iso, grid: MonthGrid, history_end: datetime, cm: CurveMethod) -> _Shape:
    last = _last_complete_month(iso, history_end)
    means = grid.mean()
    total = np.zeros((12, 2))
    blocks: list[int] = []
    skipped: list[dict[str, str]] = []
    end = last
    while len(blocks) < cm.max_years and end - 11 >= grid.first:
        keys = np.arange(end - 11, end + 1)
        rows = keys - grid.first
        expected = np.array([month_hours(iso, month_of_key(int(k))) for k in keys], float)
        span = {"first_month": _month_text(end - 11), "last_month": _month_text(end)}
        covered = grid.hours[rows] >= cm.min_coverage * expected
        block = means[rows]
        if not covered.all():
            gaps = sorted({_month_text(int(k)) for k in keys[~covered.all(axis=1)]})
            skipped.append({**span, "why": f"months under-covered: {', '.join(gaps)}"})
        elif not (block > 0).all():
            skipped.append({**span, "why": "a monthly mean <= 0 (the shape is multiplicative)"})
        else:
            total[keys % 12] += block / block.mean(axis=0)
            blocks.append(end)
        end -= 12
    if not blocks:
        priced = int(np.count_nonzero(grid.hours.sum(axis=1) > 0))
        reason = (
            f"history has {priced} priced month(s) and no complete 12-month block "
            f"(each month >= {cm.min_coverage:.0%} of its on- and off-peak hours); "
            "the curve is the flat trailing mean per peak type"
        )
        return _Shape(np.ones((12, 2)), [], skipped, reason)
    return _Shape(total / len(blocks), blocks, skipped, None)


def _level(
    iso: Iso, intervals: Intervals, factors: np.ndarray, history_end: datetime, days: int
) -> tuple[np.ndarray, datetime]:
    """(L[on], L[off]) over the `days` local days before history_end, and the window start
    (the same local wall time `days` calendar days earlier)."""
    local = history_end.astimezone(iso.tz).replace(tzinfo=None)
    window_start = (local - timedelta(days=days)).replace(tzinfo=iso.tz).astimezone(UTC)
    recent = intervals.select(intervals.start_us >= _micros(window_start))
    deseasoned = recent.value / factors[recent.month % 12, recent.peak]
    hours = np.bincount(recent.peak, weights=recent.hours, minlength=2)
    sums = np.bincount(recent.peak, weights=recent.hours * deseasoned, minlength=2)
    if not (hours > 0).all():
        missing = " and ".join(p for p, h in zip(PEAKS, hours, strict=True) if not h > 0)
        raise InsufficientHistory(
            f"no {missing}-peak prices in the {days} days before {_z(history_end)}",
            "no-recent-prices",
        )
    return sums / hours, window_start


def _forecast_months(
    iso: Iso, forecast: pa.Table | pd.DataFrame, keys: np.ndarray
) -> dict[int, np.ndarray]:
    """{month key: (on, off) price} for the curve months the forecast covers completely."""
    intervals = intervals_from(forecast, iso, "forecast")
    # one value per interval start: a later row replaces an earlier one
    _, last = np.unique(intervals.start_us[::-1], return_index=True)
    grid = monthly_grid(intervals.select(len(intervals) - 1 - last))
    means = {}
    for key in keys:
        row = int(key) - grid.first
        if 0 <= row < grid.months:
            expected = np.array(month_hours(iso, month_of_key(int(key))), float)
            if np.allclose(grid.hours[row], expected, rtol=0, atol=1e-6):
                means[int(key)] = grid.mean()[row]
    return means


def build_curve(
    history: pa.Table | pd.DataFrame,
    iso: Iso | str,
    *,
    as_of: datetime,
    start: date | None = None,
    months: int = 24,
    forecast: pa.Table | pd.DataFrame | None = None,
    method: CurveMethod | None = None,
) -> ForwardCurve:
    """The curve for `months` delivery months from `start` (default: the local month after
    `as_of`'s), from the history known at `as_of` (rows ending after it are ignored)."""
    iso = Iso(iso)
    cm = method or CurveMethod()
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months must be 1..{MAX_MONTHS}, got {months}")
    intervals = intervals_from(history, iso)
    intervals = intervals.select(intervals.end_us <= _micros(as_of))
    if not len(intervals):
        raise InsufficientHistory(f"no prices before {_z(as_of)}", "no-history")
    history_end = _instant(intervals.end_us.max())
    shape = _seasonal_shape(iso, monthly_grid(intervals), history_end, cm)
    level, window_start = _level(iso, intervals, shape.factors, history_end, cm.level_days)

    as_of_month = int(local_month_keys(iso, np.array([_micros(as_of)]))[0])
    first = month_of_key(as_of_month + 1) if start is None else date(start.year, start.month, 1)
    keys = np.arange(month_key(first), month_key(first) + months)
    prices = level * shape.factors[keys % 12]  # (months, 2)
    sources = np.full((months, 2), "history", dtype=object)
    years: list[int | None] = [len(shape.blocks)] * (2 * months)
    if forecast is not None:
        for key, mean in _forecast_months(iso, forecast, keys).items():
            i = key - int(keys[0])
            prices[i], sources[i] = mean, "forecast"
            years[2 * i : 2 * i + 2] = [None, None]
    hours = [h for k in keys for h in month_hours(iso, month_of_key(int(k)))]
    table = pa.Table.from_arrays(
        [
            pa.array([month_of_key(int(k)) for k in keys for _ in PEAKS], pa.date32()),
            pa.array(list(PEAKS) * months),
            pa.array(prices.reshape(-1), pa.float64()),
            pa.array(sources.reshape(-1).tolist()),
            pa.array(years, pa.int32()),
            pa.array(hours, pa.int32()),
        ],
        schema=CURVE_SCHEMA,
    )
    kind = "seasonal" if shape.blocks else "flat"
    history_span = (_instant(intervals.start_us.min()), history_end)
    meta = _meta(kind, as_of, first, months, history_span, shape, level, window_start, cm)
    by_forecast = sources[:, 0] == "forecast"
    meta["forecast_months"] = [month_of_key(int(k)).isoformat() for k in keys[by_forecast]]
    return ForwardCurve(table, kind, meta)


def _meta(
    kind: str,
    as_of: datetime,
    first: date,
    months: int,
    history: tuple[datetime, datetime],
    shape: _Shape,
    level: np.ndarray,
    window_start: datetime,
    cm: CurveMethod,
) -> dict[str, Any]:
    shape_months = None
    if shape.blocks:
        shape_months = [_month_text(min(shape.blocks) - 11), _month_text(max(shape.blocks))]
    return {
        "method": kind,
        "as_of": _z(as_of),
        "start": first.isoformat(),
        "months": months,
        "history": {
            "start": _z(history[0]),
            "end": _z(history[1]),
            "years": len(shape.blocks),
            "shape_months": shape_months,
            "skipped_years": shape.skipped,
        },
        "level": {
            "window_start": _z(window_start),
            "window_end": _z(history[1]),
            "days": cm.level_days,
            **{p: float(v) for p, v in zip(PEAKS, level, strict=True)},
        },
        "flat_reason": shape.reason,
    }
