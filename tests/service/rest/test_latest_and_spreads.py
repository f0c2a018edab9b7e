"""GET /api/v1/prices/latest and GET /api/v1/spreads: values checked against independent
computations over what the store holds."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from carbon254.core import Iso, is_on_peak, market_day
from carbon254.core.schema import PRICE_SCHEMA
from carbon254.store.base import PriceStore

from ..service_helpers import CAISO_DA, ERCOT_RT15, FALL_BACK, PJM_DA
from .rest_helpers import HUB, HUB_GAPS, NODE_A, NODE_B, RT5_DAYS, _z, from_json

SPREADS = "/api/v1/spreads"
WEEK = {
    "start": _z(market_day(Iso.PJM, RT5_DAYS[0])[0]),
    "end": _z(market_day(Iso.PJM, RT5_DAYS[-1])[1]),
}


def test_latest_per_instrument(any_rest: httpx.Client, any_store: PriceStore) -> None:
    ids = [NODE_A, PJM_DA, ERCOT_RT15]
    body = any_rest.get("/api/v1/prices/latest", params={"instruments": ",".join(ids)}).json()
    got = from_json(body, PRICE_SCHEMA)
    assert sorted(got.column("instrument").to_pylist()) == sorted(ids)
    for row in got.to_pylist():
        stored = any_store.read_prices([row["instrument"]], *_ever()).to_pylist()
        assert row == stored[-1]


def test_latest_filters_and_all(rest: httpx.Client) -> None:
    pjm = rest.get("/api/v1/prices/latest", params={"iso": "pjm", "market": "RT5"}).json()
    assert sorted(pjm["columns"]["instrument"]) == sorted([HUB, NODE_A, NODE_B])
    everything = rest.get("/api/v1/prices/latest").json()
    assert everything["row_count"] == 6
    local = rest.get("/api/v1/prices/latest", params={"iso": "CAISO", "tz": "market"}).json()
    assert local["columns"]["interval_start_local"][0].endswith("-08:00")
    assert local["columns"]["instrument"] == [CAISO_DA]
    missing = rest.get("/api/v1/prices/latest", params={"instruments": "PJM.DA.LMP.1"})
    assert missing.status_code == 404 and "PJM.DA.LMP.1" in missing.json()["detail"]


def _expected_spreads(store: PriceStore, nodes: list[str]) -> pd.DataFrame:
    start, end = (pd.Timestamp(WEEK["start"]), pd.Timestamp(WEEK["end"]))
    hub = store.read_prices([HUB], start, end).to_pandas().set_index("interval_start")
    frames = []
    for node in nodes:
        rows = store.read_prices([node], start, end).to_pandas()
        rows = rows[rows.interval_start.isin(hub.index)]  # intervals both have
        side = hub.loc[rows.interval_start]
        frames.append(
            pd.DataFrame(
                {
                    "instrument": node,
                    "interval_start": rows.interval_start.to_numpy(),
                    "spread": rows.value.to_numpy() - side.value.to_numpy(),
                    "congestion_spread": rows.congestion.to_numpy() - side.congestion.to_numpy(),
                    "loss_spread": rows.loss.to_numpy() - side.loss.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_spreads_are_node_minus_hub(any_rest: httpx.Client, any_store: PriceStore) -> None:
    params = {"hub": HUB, "nodes": f"{NODE_B},{NODE_A}", **WEEK}
    body = any_rest.get(SPREADS, params=params).json()
    got = pd.DataFrame(body["columns"])
    expected = _expected_spreads(any_store, sorted([NODE_A, NODE_B]))
    node_rows = any_store.read_prices(
        [NODE_A], *(pd.Timestamp(WEEK["start"]), pd.Timestamp(WEEK["end"]))
    )
    assert len(got) == len(expected) == 2 * (node_rows.num_rows - HUB_GAPS)
    assert got.instrument.tolist() == expected.instrument.tolist()
    assert set(got.hub) == {HUB}
    assert pd.to_datetime(got.interval_start).tolist() == expected.interval_start.tolist()
    for column in ("spread", "congestion_spread", "loss_spread"):
        assert got[column].to_numpy() == pytest.approx(expected[column].to_numpy(), abs=1e-9)
    assert (got.node_value - got.hub_value).to_numpy() == pytest.approx(got.spread.to_numpy())
    assert list(body["columns"]) == [
        "instrument",
        "hub",
        "interval_start",
        "interval_end",
        "spread",
        "node_value",
        "hub_value",
        "congestion_spread",
        "loss_spread",
    ]


@pytest.mark.parametrize("agg", ["mean", "max"])
def test_daily_spreads_aggregate_interval_spreads(
    rest: httpx.Client, seeded_rest: PriceStore, agg: str
) -> None:
    params = {"hub": HUB, "nodes": NODE_A, **WEEK, "resample": "daily", "agg": agg, "tz": "market"}
    body = rest.get(SPREADS, params=params).json()
    expected = _expected_spreads(seeded_rest, [NODE_A])
    day = expected.interval_start.dt.tz_convert("America/New_York").dt.date
    by_day = expected.groupby(day).spread.agg(agg)
    assert body["columns"]["spread"] == pytest.approx(by_day.tolist())
    assert body["columns"]["count"] == expected.groupby(day).size().tolist()
    # Midnight of the fall-back day is still daylight time; the clocks go back at 02:00.
    offsets = ["-04:00" if d <= FALL_BACK else "-05:00" for d in by_day.index]
    assert body["columns"]["interval_start_local"] == [
        f"{d}T00:00:00{o}" for d, o in zip(by_day.index, offsets, strict=True)
    ]
    fall_back = body["columns"]["interval_start"].index(_z(market_day(Iso.PJM, FALL_BACK)[0]))
    assert body["columns"]["interval_end"][fall_back] == _z(market_day(Iso.PJM, FALL_BACK)[1])


def test_peak_spreads_keep_on_peak_intervals(rest: httpx.Client) -> None:
    params = {"hub": HUB, "nodes": NODE_A, **WEEK}
    on = rest.get(SPREADS, params={**params, "peak": "on"}).json()
    off = rest.get(SPREADS, params={**params, "peak": "off"}).json()
    every = rest.get(SPREADS, params=params).json()
    assert on["row_count"] + off["row_count"] == every["row_count"]
    for body, wanted in ((on, True), (off, False)):
        starts = pd.to_datetime(pd.Series(body["columns"]["interval_start"]))
        assert (is_on_peak(Iso.PJM, starts) == wanted).all()


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"nodes": PJM_DA}, 422, ["PJM.DA.LMP.51288 is not in the hub's market", "PJM.RT5.LMP"]),
        ({"nodes": "PJM.RT5.LMP.1"}, 404, ["PJM.RT5.LMP.1"]),
        ({"hub": "PJM.RT5.LMP.2", "nodes": NODE_A}, 404, ["PJM.RT5.LMP.2"]),
        ({"hub": f"{HUB},{NODE_A}"}, 422, ["hub: at most 1 instrument"]),
        ({"hub": "bad"}, 422, ["'bad'"]),
        ({"resample": "5min", "hub": "PJM.DA.LMP.1", "nodes": PJM_DA}, 422, ["finer than"]),
        ({"start": WEEK["end"], "end": WEEK["start"]}, 422, ["before"]),
    ],
)
def test_bad_spread_requests(rest: httpx.Client, params: dict, status: int, words: list) -> None:
    query = {"hub": HUB, "nodes": NODE_A, **WEEK, **params}
    response = rest.get(SPREADS, params=query)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    for word in words:
        assert word in response.json()["detail"]


def _ever():
    return pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC")
