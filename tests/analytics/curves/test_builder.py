"""The curve builder: exact reproduction of a known shape x level, a cross-check against an
independent pandas computation on noisy sub-hourly data across DST, the short-history
fallback, forecast overrides, and refusals."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from carbon254.analytics.curves import (
    CURVE_SCHEMA,
    CurveMethod,
    InsufficientHistory,
    build_curve,
    month_hours,
)
from carbon254.core import Iso, is_on_peak, market_day

from .synthetic import SHAPE, history, independent_curve, utc

PJM = Iso.PJM
AS_OF = market_day(PJM, date(2026, 5, 1))[0]  # local midnight opening May 2026
START = market_day(PJM, date(2023, 5, 1))[0]  # three full 12-month blocks before it


def _block_level(key: int) -> float:
    """$60, $30 and $40 in the three blocks May-April (years of very different levels)."""
    last = 2026 * 12 + 3  # April 2026
    return {0: 40.0, 1: 30.0, 2: 60.0}[(last - key) // 12]


def _prices(curve) -> dict[tuple[date, str], float]:
    t = curve.table
    return dict(
        zip(zip(t["month"].to_pylist(), t["peak"].to_pylist(), strict=True),
            t["price"].to_pylist(), strict=True)
    )  # fmt: skip


def test_curve_reproduces_the_known_shape_times_level_exactly():
    hist = history(PJM, START, AS_OF, _block_level)
    curve = build_curve(hist, PJM, as_of=AS_OF)
    assert curve.method == "seasonal" and curve.table.schema == CURVE_SCHEMA
    t = curve.table.to_pandas()
    assert t.month.iloc[0] == date(2026, 6, 1) and len(t) == 48  # 24 months x on/off
    expected = [
        40.0 * SHAPE[m.month - 1, 0 if p == "on" else 1]
        for m, p in zip(t.month, t.peak, strict=True)
    ]
    np.testing.assert_allclose(t.price, expected, rtol=1e-12)
    assert set(t.source) == {"history"} and set(t.years) == {3}
    assert curve.meta["history"]["shape_months"] == ["2023-05", "2026-04"]
    assert curve.meta["history"]["years"] == 3 and curve.meta["flat_reason"] is None
    assert curve.meta["level"]["window_end"] == "2026-05-01T04:00:00Z"
    assert curve.meta["level"]["window_start"] == "2026-01-31T05:00:00Z"  # 90 local days


def test_max_years_and_an_explicit_start():
    hist = history(PJM, START, AS_OF, _block_level)
    curve = build_curve(
        hist, PJM, as_of=AS_OF, start=date(2027, 1, 1), months=3,
        method=CurveMethod(max_years=2),
    )  # fmt: skip
    assert curve.table["month"].to_pylist()[::2] == [date(2027, m, 1) for m in (1, 2, 3)]
    assert set(curve.table["years"].to_pylist()) == {2}
    assert curve.meta["history"]["shape_months"] == ["2024-05", "2026-04"]
    np.testing.assert_allclose(_prices(curve)[(date(2027, 2, 1), "off")], 40.0 * SHAPE[1, 1])


def test_matches_an_independent_pandas_computation_on_noisy_15_minute_data():
    step = timedelta(minutes=15)
    hist = history(PJM, START, AS_OF, _block_level, step=step, noise=4.0)
    # a gap of a week in the oldest block's November: under-covered, that year is dropped
    s = pd.Series(hist["interval_start"].to_pandas())
    gap = (s >= pd.Timestamp("2023-11-05", tz="UTC")) & (s < pd.Timestamp("2023-11-12", tz="UTC"))
    hist = hist.filter(pa.array(~gap.to_numpy()))
    as_of = AS_OF + timedelta(days=9, hours=13)  # mid-May: May is incomplete, not in a block
    curve = build_curve(hist, PJM, as_of=as_of, months=30)
    ours = curve.table.to_pandas()
    theirs = independent_curve(hist, PJM, as_of, 30)
    np.testing.assert_allclose(ours.price, theirs.price, rtol=1e-10)
    assert list(ours.month) == list(theirs.month) and list(ours.years) == list(theirs.years)
    assert curve.meta["history"]["years"] == 2
    assert curve.meta["history"]["skipped_years"][0]["first_month"] == "2023-05"
    assert "2023-11" in curve.meta["history"]["skipped_years"][0]["why"]


def test_sub_hourly_history_gives_the_hourly_curve():
    hourly = build_curve(history(PJM, START, AS_OF, _block_level), PJM, as_of=AS_OF)
    five = history(PJM, START, AS_OF, _block_level, step=timedelta(minutes=5))
    np.testing.assert_allclose(
        build_curve(five, PJM, as_of=AS_OF).table["price"], hourly.table["price"], rtol=1e-12
    )


def test_hourly_buckets_weighted_by_the_time_they_cover_equal_their_intervals():
    """What the service feeds: hourly means of 5-minute rows with gaps, `hours` = count/12."""
    five = history(PJM, START, AS_OF, _block_level, step=timedelta(minutes=5), noise=3.0)
    five = five.filter(pa.array(np.random.default_rng(7).random(len(five)) > 0.05))
    df = five.to_pandas()
    buckets = df.groupby(df.interval_start.dt.floor("h")).value.agg(["mean", "count"])
    hourly = pa.table(
        {
            "interval_start": pa.array(buckets.index, pa.timestamp("us", tz="UTC")),
            "interval_end": pa.array(
                buckets.index + pd.Timedelta(hours=1), pa.timestamp("us", tz="UTC")
            ),
            "value": buckets["mean"].to_numpy(),
            "hours": buckets["count"].to_numpy() / 12,
        }
    )
    direct = build_curve(five, PJM, as_of=AS_OF)
    assert direct.meta["history"]["years"] == 3
    np.testing.assert_allclose(
        build_curve(hourly, PJM, as_of=AS_OF).table["price"], direct.table["price"], rtol=1e-10
    )


def test_history_after_as_of_is_ignored():
    later = history(PJM, START, AS_OF + timedelta(days=40), lambda k: 40.0 if k < 24316 else 99.0)
    curve = build_curve(later, PJM, as_of=AS_OF)
    assert curve.meta["history"]["end"] == "2026-05-01T04:00:00Z"


def test_short_history_falls_back_to_a_flat_trailing_mean_per_peak_type():
    start = market_day(PJM, date(2025, 9, 1))[0]  # eight months
    hist = history(PJM, start, AS_OF, lambda k: 50.0, noise=2.0)
    curve = build_curve(hist, PJM, as_of=AS_OF, months=12)
    assert curve.method == "flat" and "no complete 12-month block" in curve.meta["flat_reason"]
    assert set(curve.table["years"].to_pylist()) == {0}
    df = hist.to_pandas()
    df = df[df.interval_start >= pd.Timestamp(curve.meta["level"]["window_start"])]
    on = is_on_peak(PJM, df.interval_start)
    for peak, mask in (("on", on), ("off", ~on)):
        prices = {p for (m, pk), p in _prices(curve).items() if pk == peak}
        assert len(prices) == 1  # flat
        np.testing.assert_allclose(prices.pop(), df.value[mask].mean(), rtol=1e-12)


def test_forecast_overrides_the_months_it_fully_covers():
    hist = history(PJM, START, AS_OF, _block_level)
    june = market_day(PJM, date(2026, 6, 1))[0]
    mid_august = market_day(PJM, date(2026, 8, 15))[0]
    fc = history(PJM, june, mid_august, lambda k: 100.0, step=timedelta(minutes=5))
    curve = build_curve(hist, PJM, as_of=AS_OF, months=4, forecast=fc)
    t = curve.table.to_pandas()
    assert list(t.source) == ["forecast"] * 4 + ["history"] * 4
    assert t.years.iloc[:4].isna().all() and (t.years.iloc[4:] == 3).all()
    np.testing.assert_allclose(t.price.iloc[:4], [110.0, 90.0, 160.0, 120.0], rtol=1e-12)
    np.testing.assert_allclose(t.price.iloc[4:], [40 * 1.5, 40 * 1.15, 40.0, 40 * 0.85])
    assert curve.meta["forecast_months"] == ["2026-06-01", "2026-07-01"]
    # a duplicated row (a re-issued forecast) counts once; the later value wins
    again = pa.concat_tables([fc.slice(0, 1).set_column(2, "value", pa.array([100.0])), fc])
    assert build_curve(hist, PJM, as_of=AS_OF, months=1, forecast=again).table[
        "source"
    ].to_pylist() == ["forecast", "forecast"]


def test_dst_months_carry_their_hours():
    hist = history(PJM, START, AS_OF, _block_level)
    curve = build_curve(hist, PJM, as_of=AS_OF, start=date(2027, 3, 1), months=9)
    by_month = curve.table.to_pandas().groupby("month").hours.sum()
    assert by_month[date(2027, 3, 1)] == 743 and by_month[date(2027, 11, 1)] == 721
    on = curve.table.to_pandas().set_index(["month", "peak"]).hours
    assert on[(date(2027, 7, 1), "on")] == month_hours(PJM, date(2027, 7, 1))[0] == 336


def test_miso_months_are_fixed_est():
    miso = Iso.MISO
    as_of = market_day(miso, date(2026, 5, 1))[0]
    start = market_day(miso, date(2024, 5, 1))[0]
    hist = history(miso, start, as_of, lambda k: 35.0)
    curve = build_curve(hist, miso, as_of=as_of, start=date(2027, 3, 1), months=1)
    assert sum(curve.table["hours"].to_pylist()) == 744
    np.testing.assert_allclose(curve.table["price"], [35 * 0.95, 35 * 0.85], rtol=1e-12)


def test_refusals():
    hist = history(PJM, START, AS_OF, _block_level)
    with pytest.raises(InsufficientHistory, match="no prices before") as no_history:
        build_curve(hist, PJM, as_of=START)
    assert no_history.value.reason == "no-history"
    off_only = hist.filter(pa.array(~is_on_peak(PJM, hist["interval_start"].to_pandas())))
    with pytest.raises(InsufficientHistory, match="no on-peak prices") as no_on:
        build_curve(off_only, PJM, as_of=AS_OF)
    assert no_on.value.reason == "no-recent-prices"
    with pytest.raises(ValueError, match="timezone-aware"):
        build_curve(hist, PJM, as_of=datetime(2026, 5, 1))
    with pytest.raises(ValueError, match=r"months must be 1\.\.60"):
        build_curve(hist, PJM, as_of=AS_OF, months=61)
    with pytest.raises(ValueError, match="tz-aware UTC"):
        build_curve(hist.set_column(0, "interval_start", hist["interval_start"].cast(
            pa.timestamp("us"))), PJM, as_of=AS_OF)  # fmt: skip
    assert utc(2026, 1, 1).tzinfo is not None


def test_a_pandas_frame_gives_the_same_curve():
    hist = history(PJM, START, AS_OF, _block_level)
    frame = hist.to_pandas()
    frame.index = frame.index * 3  # an index of its own is not a column
    np.testing.assert_array_equal(
        build_curve(frame, PJM, as_of=AS_OF).table["price"],
        build_curve(hist, PJM, as_of=AS_OF).table["price"],
    )
