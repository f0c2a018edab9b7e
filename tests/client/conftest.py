"""SDK test fixtures: one real uvicorn server over a seeded DuckDB store for the session.

The SDK's happy paths run against this server (no mocked transport); fault injection
(retries, Retry-After, timeouts) uses respx or the small servers in `sdk_helpers`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pytest

import carbon254
from carbon254.core import LOCATION_SCHEMA, Iso, market_day
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..service.service_helpers import (
    CAISO_DA,
    ERCOT_RT15,
    FALL_BACK,
    PJM_DA,
    SPRING_FORWARD,
    day_prices,
    open_duckdb,
    run_server,
)
from .sdk_helpers import HUB, HUB_END, PJM_RT5, RT5_DAYS

DIRECTORY = [
    ("PJM", "51288", "ALDENE 230 KV T-10", "BUS", "PSEG", date(2015, 1, 1), None),
    ("PJM", "WESTERN HUB", "Western Hub", "HUB", None, date(2001, 4, 1), None),
    ("ERCOT", "HB_NORTH", "North Hub", "HUB", None, date(2010, 12, 1), None),
]


def _flat_hourly(instrument: str, days: int, value: float) -> pa.Table:
    """`days` of hourly prices at one value, ending at HUB_END: enough for a flat curve."""
    end = market_day(Iso.PJM, HUB_END)[0]
    starts = pd.date_range(end - timedelta(days=days), end, freq="h", inclusive="left")
    ts = pa.timestamp("us", tz="UTC")
    return pa.table({
        "instrument": [instrument] * len(starts),
        "interval_start": pa.array(starts, ts),
        "interval_end": pa.array(starts + pd.Timedelta(hours=1), ts),
        "value": [value] * len(starts),
    })  # fmt: skip


@pytest.fixture(scope="session")
def sdk_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PriceStore]:
    """PJM DA around both 2024 DST changes, CAISO DA, ERCOT RT15, three days of PJM RT5,
    sixty days of a PJM hub (hourly, flat), and a small location directory."""
    store = open_duckdb(tmp_path_factory.mktemp("sdk") / "prices.duckdb")
    days = (SPRING_FORWARD, FALL_BACK - timedelta(days=1), FALL_BACK, date(2024, 11, 4))
    tables = [day_prices(PJM_DA, day) for day in days]
    tables += [day_prices(CAISO_DA, FALL_BACK, 40.0), day_prices(ERCOT_RT15, FALL_BACK, 15.0)]
    tables += [day_prices(PJM_RT5, day, 30.0) for day in RT5_DAYS]
    store.upsert_prices(pa.concat_tables(tables), source="test")
    store.upsert_prices(_flat_hourly(HUB, 60, 25.0), source="test-hub")
    names = LOCATION_SCHEMA.names
    rows = [dict(zip(names, row, strict=True)) for row in DIRECTORY]
    store.upsert_locations(pa.Table.from_pylist(rows, LOCATION_SCHEMA))
    yield store
    store.close()


@pytest.fixture(scope="session")
def base_url(sdk_store: PriceStore) -> Iterator[str]:
    """A live server (auth off) over the seeded store, for the whole session."""
    with run_server(create_app(sdk_store, settings=Settings(auth=False))) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[carbon254.Client]:
    with carbon254.Client(base_url, retries=0, timeout=10.0) as sdk:
        yield sdk
