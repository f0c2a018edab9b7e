"""GET /api/v1/prices on a live server: exact round trips, DST days, as_of, concurrency."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi import FastAPI

from carbon254.core import PRICE_SCHEMA, Iso, market_day
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from .service_helpers import (
    CAISO_DA,
    ERCOT_RT15,
    FALL_BACK,
    PJM_DA,
    SPRING_FORWARD,
    day_prices,
    price_table,
    utc,
)

ARROW = "application/vnd.apache.arrow.stream"
ALL = f"{PJM_DA},{CAISO_DA},{ERCOT_RT15}"


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day_params(day=FALL_BACK, instruments: str = ALL) -> dict[str, str]:
    start, end = market_day(Iso.PJM, day)
    return {"instruments": instruments, "start": _z(start), "end": _z(end)}


def _from_json(body: dict) -> pa.Table:
    """Rebuild an Arrow table from the columnar JSON body, parsing the 'Z' timestamps."""
    columns = dict(body["columns"])
    for name in ("interval_start", "interval_end"):
        assert all(text.endswith("Z") for text in columns[name])
        columns[name] = [datetime.fromisoformat(text) for text in columns[name]]
    return pa.Table.from_pydict(columns, schema=PRICE_SCHEMA)


def test_json_round_trips_exactly(client: httpx.Client, seeded: PriceStore) -> None:
    params = {**_day_params(), "start": "2024-11-02T00:00:00Z", "end": "2024-11-06"}
    response = client.get("/api/v1/prices", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    ids = [PJM_DA, CAISO_DA, ERCOT_RT15]
    expected = seeded.read_prices(ids, utc(2024, 11, 2), utc(2024, 11, 6))
    assert expected.num_rows > 100
    assert body["row_count"] == expected.num_rows
    assert body["instruments"] == [PJM_DA, CAISO_DA, ERCOT_RT15]
    assert (body["start"], body["end"], body["as_of"]) == (
        "2024-11-02T00:00:00Z",
        "2024-11-06T00:00:00Z",
        None,
    )
    assert list(body["columns"]) == PRICE_SCHEMA.names
    assert _from_json(body).equals(expected)
    # And the values are those written, with nulls (no components, no ghg) kept as null.
    ercot = _from_json(body).filter(pc.equal(pc.field("instrument"), ERCOT_RT15))
    assert ercot.equals(day_prices(ERCOT_RT15, FALL_BACK, 15.0))
    assert ercot.column("energy").null_count == ercot.num_rows


def test_arrow_stream_round_trips_exactly(client: httpx.Client, seeded: PriceStore) -> None:
    response = client.get("/api/v1/prices", params=_day_params(), headers={"Accept": ARROW})
    assert response.status_code == 200
    assert response.headers["content-type"] == ARROW
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.schema == PRICE_SCHEMA
    start, end = market_day(Iso.PJM, FALL_BACK)
    assert table.equals(seeded.read_prices([PJM_DA, CAISO_DA, ERCOT_RT15], start, end))
    pjm = table.filter(pc.equal(pc.field("instrument"), PJM_DA))
    assert pjm.equals(day_prices(PJM_DA, FALL_BACK))


def test_arrow_preferred_by_quality(client: httpx.Client) -> None:
    accept = f"application/json;q=0.5, {ARROW}"
    response = client.get("/api/v1/prices", params=_day_params(), headers={"Accept": accept})
    assert response.headers["content-type"] == ARROW
    assert response.headers["vary"] == "Accept"


@pytest.mark.parametrize(("day", "hours"), [(FALL_BACK, 25), (SPRING_FORWARD, 23)])
def test_dst_day_has_every_hour(client: httpx.Client, day, hours: int) -> None:
    local = day.isoformat()
    offset = "-04:00" if day == FALL_BACK else "-05:00"  # midnight EDT / EST
    params = {"instruments": PJM_DA, "start": f"{local}T00:00:00{offset}"}
    params["end"] = _z(market_day(Iso.PJM, day)[1])
    body = client.get("/api/v1/prices", params=params).json()
    assert body["row_count"] == hours
    starts = [datetime.fromisoformat(t) for t in body["columns"]["interval_start"]]
    assert starts[0] == market_day(Iso.PJM, day)[0]
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(starts))
    assert body["columns"]["interval_end"][-1] == params["end"]


def test_instruments_are_canonical_and_deduplicated(client: httpx.Client) -> None:
    params = [
        ("instruments", "pjm.da.lmp.51288, ERCOT.RT15.SPP.HB_NORTH"),
        ("instruments", PJM_DA),
        ("start", "2024-11-03T05:00:00"),  # naive: UTC
        ("end", "2024-11-03T07:00:00+00:00"),
    ]
    body = client.get("/api/v1/prices", params=params).json()
    assert body["instruments"] == [PJM_DA, ERCOT_RT15]
    assert body["start"] == "2024-11-03T05:00:00Z"
    assert body["row_count"] == 2 + 8


def test_known_instrument_with_no_rows_in_range(client: httpx.Client) -> None:
    params = {"instruments": PJM_DA, "start": "2020-01-01", "end": "2020-01-02"}
    response = client.get("/api/v1/prices", params=params)
    assert response.status_code == 200
    body = response.json()
    assert body["row_count"] == 0
    assert body["columns"]["value"] == []


def test_as_of_returns_value_before_revision(
    store: PriceStore, live_server: Callable[[FastAPI], str]
) -> None:
    hour = [utc(2024, 11, 3, 15)]
    store.upsert_prices(price_table(PJM_DA, hour, [42.5]), source="first")
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    store.upsert_prices(price_table(PJM_DA, hour, [47.25]), source="revised")

    base = live_server(create_app(store, settings=Settings(auth=False)))
    params = {"instruments": PJM_DA, "start": "2024-11-03T15:00Z", "end": "2024-11-03T16:00Z"}
    latest = httpx.get(f"{base}/api/v1/prices", params=params).json()
    assert latest["columns"]["value"] == [47.25]
    earlier = httpx.get(f"{base}/api/v1/prices", params={**params, "as_of": _z(between)})
    assert earlier.status_code == 200
    assert earlier.json()["columns"]["value"] == [42.5]
    assert earlier.json()["as_of"] == _z(between)


def test_concurrent_requests(client: httpx.Client) -> None:
    def fetch(i: int) -> bytes:
        instruments = [PJM_DA, CAISO_DA, ERCOT_RT15][i % 3]
        response = client.get("/api/v1/prices", params=_day_params(instruments=instruments))
        assert response.status_code == 200
        return response.content

    with ThreadPoolExecutor(16) as pool:
        bodies = list(pool.map(fetch, range(96)))
    assert all(body == bodies[i % 3] for i, body in enumerate(bodies))
