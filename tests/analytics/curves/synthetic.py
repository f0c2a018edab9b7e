"""Synthetic histories with a known seasonal shape, and an independent pandas computation
of the curve (groupby over local months), for the builder's cross-checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from carbon254.core import Iso, is_on_peak

# A known shape: price factor per calendar month (rows Jan..Dec) and peak (on, off).
SHAPE = np.array(
    [
        [1.30, 1.10], [1.20, 1.05], [0.95, 0.85], [0.85, 0.75], [0.90, 0.80], [1.10, 0.90],
        [1.60, 1.20], [1.50, 1.15], [1.00, 0.85], [0.85, 0.75], [0.95, 0.85], [1.20, 1.00],
    ]
)  # fmt: skip


def history(
    iso: Iso,
    start: datetime,
    end: datetime,
    level: Callable[[int], float],
    *,
    step: timedelta = timedelta(hours=1),
    noise: float = 0.0,
    seed: int = 1,
) -> pa.Table:
    """Prices every `step` on [start, end): level(local month key) x SHAPE[month, peak]."""
    starts = pd.date_range(start, end, freq=step, inclusive="left")
    local = starts.tz_convert(iso.tz_name)
    keys = local.year.to_numpy() * 12 + local.month.to_numpy() - 1
    peak = np.where(is_on_peak(iso, starts), 0, 1)
    levels = np.array([level(int(k)) for k in keys])
    value = levels * SHAPE[local.month.to_numpy() - 1, peak]
    if noise:
        value = value + np.random.default_rng(seed).normal(0, noise, len(value))
    return pa.table(
        {
            "interval_start": pa.array(starts, pa.timestamp("us", tz="UTC")),
            "interval_end": pa.array(starts + step, pa.timestamp("us", tz="UTC")),
            "value": value,
        }
    )


def _expected_hours(iso: Iso, month: pd.Period) -> pd.Series:
    tz = iso.tz_name
    lo = pd.Timestamp(month.start_time).tz_localize(tz)
    hi = pd.Timestamp((month + 1).start_time).tz_localize(tz)
    hours = pd.date_range(lo.tz_convert("UTC"), hi.tz_convert("UTC"), freq="h", inclusive="left")
    on = int(is_on_peak(iso, hours).sum())
    return pd.Series({"on": on, "off": len(hours) - on})


def independent_curve(
    table: pa.Table,
    iso: Iso,
    as_of: datetime,
    months: int,
    *,
    level_days: int = 90,
    max_years: int = 5,
    min_coverage: float = 0.9,
) -> pd.DataFrame:
    """The documented method, computed with a pandas groupby: month, peak, price, years."""
    df = table.to_pandas()
    df = df[df.interval_end <= pd.Timestamp(as_of)]
    local = df.interval_start.dt.tz_convert(iso.tz_name).dt.tz_localize(None)
    df = df.assign(
        ym=local.dt.to_period("M"),
        peak=np.where(is_on_peak(iso, df.interval_start), "on", "off"),
        h=(df.interval_end - df.interval_start) / pd.Timedelta(hours=1),
    )
    df["vh"] = df.value * df.h
    cells = df.groupby(["ym", "peak"])[["vh", "h"]].sum()
    mean = (cells.vh / cells.h).unstack("peak")
    hours = cells.h.unstack("peak").fillna(0.0)

    end = df.interval_end.max()
    end_local = end.tz_convert(iso.tz_name).tz_localize(None)
    last = (end_local - pd.Timedelta(microseconds=1)).to_period("M")
    if (last + 1).start_time > end_local:
        last -= 1
    ratios = []
    block_end = last
    while len(ratios) < max_years and block_end - 11 >= mean.index.min():
        span = pd.period_range(block_end - 11, block_end, freq="M")
        expected = pd.DataFrame([_expected_hours(iso, m) for m in span], index=span)
        got = hours.reindex(span).fillna(0.0)[["on", "off"]]
        block = mean.reindex(span)[["on", "off"]]
        if (got >= min_coverage * expected).all().all() and (block > 0).all().all():
            ratio = block / block.mean()
            ratio.index = [m.month for m in span]
            ratios.append(ratio.sort_index())
        block_end -= 12
    shape = (
        sum(ratios) / len(ratios)
        if ratios
        else pd.DataFrame(1.0, index=range(1, 13), columns=["on", "off"])
    )

    window = (end_local - pd.Timedelta(days=level_days)).tz_localize(iso.tz_name)
    recent = df[df.interval_start >= window]
    factor = [shape.loc[m.month, p] for m, p in zip(recent.ym, recent.peak, strict=True)]
    recent = recent.assign(d=recent.h * recent.value / np.array(factor))
    level = recent.groupby("peak").d.sum() / recent.groupby("peak").h.sum()

    first = pd.Timestamp(as_of).tz_convert(iso.tz_name).tz_localize(None).to_period("M") + 1
    rows = []
    for m in pd.period_range(first, first + months - 1, freq="M"):
        for p in ("on", "off"):
            rows.append(
                {
                    "month": m.start_time.date(),
                    "peak": p,
                    "price": level[p] * shape.loc[m.month, p],
                    "years": len(ratios),
                }
            )
    return pd.DataFrame(rows)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)
