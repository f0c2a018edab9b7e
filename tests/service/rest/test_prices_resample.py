"""GET /api/v1/prices with resample/agg/peak: DST row counts, aggregates checked against
an independent pandas computation, the ISO peak calendar, refusals with reasons."""

from __future__ import annotations

from datetime import date, datetime

import httpx
import pandas as pd
import pytest

from carbon254.core import Iso, is_on_peak, market_day
from carbon254.core.schema import PRICE_SCHEMA
from carbon254.store.base import PriceStore

from ..service_helpers import ERCOT_RT15, FALL_BACK, PJM_DA, SPRING_FORWARD, utc
from .rest_helpers import NODE_A, NODE_B, RT5_DAYS, _z, day_range, from_json

PRICES = "/api/v1/prices"


def _get(client: httpx.Client, **params: object) -> dict:
    response = client.get(PRICES, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _frame(store: PriceStore, instrument: str, start: datetime, end: datetime) -> pd.DataFrame:
    return store.read_prices([instrument], start, end).to_pandas()


@pytest.mark.parametrize(("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23)])
def test_dst_day_hourly_and_daily_rows(any_rest: httpx.Client, day: date, hours: int) -> None:
    hourly = _get(any_rest, instruments=PJM_DA, resample="hourly", **day_range(day))
    assert hourly["row_count"] == hours
    assert hourly["resample"] == "hourly" and hourly["agg"] == "mean"
    assert set(hourly["columns"]["count"]) == {1}
    daily = _get(any_rest, instruments=PJM_DA, resample="daily", **day_range(day))
    assert daily["row_count"] == 1
    start, end = market_day(Iso.PJM, day)  # local midnight to local midnight, in UTC
    assert daily["columns"]["interval_start"] == [_z(start)]
    assert daily["columns"]["interval_end"] == [_z(end)]
    assert daily["columns"]["count"] == [hours]


def test_five_minute_fall_back_day(any_rest: httpx.Client) -> None:
    window = day_range(FALL_BACK)
    raw = _get(any_rest, instruments=NODE_A, **window)
    assert raw["row_count"] == 300  # 25 hours of 12 intervals
    same = _get(any_rest, instruments=NODE_A, resample="5min", **window)
    assert same["columns"]["value"] == raw["columns"]["value"]
    assert same["columns"]["interval_start"] == raw["columns"]["interval_start"]
    assert _get(any_rest, instruments=NODE_A, resample="15min", **window)["row_count"] == 100
    assert _get(any_rest, instruments=NODE_A, resample="hourly", **window)["row_count"] == 25
    daily = _get(any_rest, instruments=NODE_A, resample="daily", **window)
    assert daily["columns"]["count"] == [300]


@pytest.mark.parametrize("agg", ["mean", "min", "max"])
@pytest.mark.parametrize("freq", ["15min", "hourly", "daily"])
def test_aggregates_match_pandas(
    rest: httpx.Client, seeded_rest: PriceStore, agg: str, freq: str
) -> None:
    start, end = market_day(Iso.PJM, RT5_DAYS[0])[0], market_day(Iso.PJM, RT5_DAYS[-1])[1]
    params = {"instruments": f"{NODE_A},{NODE_B}", "start": _z(start), "end": _z(end)}
    body = _get(rest, resample=freq, agg=agg, **params)
    got = pd.DataFrame(body["columns"])
    for instrument in (NODE_A, NODE_B):
        frame = _frame(seeded_rest, instrument, start, end)
        if freq == "daily":
            key = frame.interval_start.dt.tz_convert("America/New_York").dt.date
        else:
            key = frame.interval_start.dt.floor("15min" if freq == "15min" else "h")
        expected = frame.groupby(key).value.agg(agg)
        mine = got[got.instrument == instrument]
        assert len(mine) == len(expected)
        assert mine.value.to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-9)
    assert body["columns"]["instrument"] == sorted(body["columns"]["instrument"])


def test_peak_filter_follows_the_iso_calendar(
    any_rest: httpx.Client, any_store: PriceStore
) -> None:
    # Fri Nov 1 to Mon Nov 4: weekdays with on-peak hours, a weekend with none.
    start, end = market_day(Iso.PJM, RT5_DAYS[0])[0], market_day(Iso.PJM, RT5_DAYS[-1])[1]
    frame = _frame(any_store, NODE_A, start, end)
    on = is_on_peak(Iso.PJM, frame.interval_start)
    window = {"instruments": NODE_A, "start": _z(start), "end": _z(end)}
    for peak, mask in (("on", on), ("off", ~on)):
        body = _get(any_rest, peak=peak, **window)
        assert body["peak"] == peak
        got = from_json(body, PRICE_SCHEMA).to_pandas()
        assert got.interval_start.tolist() == frame.interval_start[mask].tolist()
    assert on.sum() == 2 * 16 * 12  # Friday and Monday, hours beginning 07-22
    daily = _get(any_rest, peak="on", resample="daily", agg="max", **window)
    local_day = frame.interval_start.dt.tz_convert("America/New_York").dt.date
    expected = frame[on].groupby(local_day[on]).value.max()
    assert daily["columns"]["value"] == pytest.approx(expected.tolist())
    assert daily["columns"]["count"] == [192, 192]
    assert _get(any_rest, peak="ALL", **window)["row_count"] == len(frame)


def test_resample_finer_than_native_is_refused(rest: httpx.Client) -> None:
    params = {"instruments": f"{PJM_DA},{ERCOT_RT15}", **day_range(FALL_BACK)}
    response = rest.get(PRICES, params={**params, "resample": "5min"})
    assert response.status_code == 422
    body = response.json()
    assert [e["param"] for e in body["errors"]] == ["resample", "resample"]
    assert "finer than PJM.DA.LMP.51288's interval (1 h)" in body["detail"]
    assert "ERCOT.RT15.SPP.HB_NORTH's interval (15 min)" in body["detail"]
    assert rest.get(PRICES, params={**params, "resample": "15min"}).status_code == 422
    assert rest.get(PRICES, params={**params, "resample": "hourly"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"resample": "weekly"}, ["resample 'weekly'", "5min, 15min, hourly, daily, monthly"]),
        ({"resample": "daily", "agg": "median"}, ["agg 'median'", "mean, min, max"]),
        ({"agg": "max"}, ["agg applies only with resample"]),
        ({"peak": "shoulder"}, ["peak 'shoulder'", "all, on, off"]),
    ],
)
def test_bad_shape_parameters(rest: httpx.Client, params: dict, words: list[str]) -> None:
    response = rest.get(PRICES, params={"instruments": PJM_DA, **day_range(FALL_BACK), **params})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    for word in words:
        assert word in response.json()["detail"]


def test_monthly_bucket_is_the_local_month(rest: httpx.Client) -> None:
    body = _get(rest, instruments=PJM_DA, resample="monthly", start="2024-10-01", end="2024-12-01")
    # The stored November days fall in one local-month bucket, local midnight to midnight.
    assert body["columns"]["interval_start"] == [_z(market_day(Iso.PJM, date(2024, 11, 1))[0])]
    assert body["columns"]["interval_end"] == [_z(utc(2024, 12, 1, 5))]
    assert body["columns"]["count"] == [24 + 25 + 24]
