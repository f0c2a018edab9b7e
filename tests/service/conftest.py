"""Fixtures for API tests: a real uvicorn server on loopback, a DuckDB store with prices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from fastapi import FastAPI

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
    open_duckdb,
    run_server,
)


@pytest.fixture
def live_server() -> Iterator[Callable[[FastAPI], str]]:
    """`live_server(app)` starts `app` on a real server and returns its base URL."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(run_server(app))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PriceStore]:
    store = open_duckdb(tmp_path / "prices.duckdb")
    yield store
    store.close()


@pytest.fixture
def seeded(store: PriceStore) -> PriceStore:
    """PJM DA around both 2024 DST changes, CAISO DA with ghg, ERCOT RT15 without parts."""
    tables = [
        day_prices(PJM_DA, day)
        for day in (SPRING_FORWARD, FALL_BACK - timedelta(days=1), FALL_BACK, date(2024, 11, 4))
    ]
    tables += [day_prices(CAISO_DA, FALL_BACK, 40.0), day_prices(ERCOT_RT15, FALL_BACK, 15.0)]
    store.upsert_prices(pa.concat_tables(tables), source="test")
    return store


@pytest.fixture
def client(seeded: PriceStore, live_server: Callable[[FastAPI], str]) -> Iterator[httpx.Client]:
    """An httpx client on a live server over the seeded store."""
    with httpx.Client(
        base_url=live_server(create_app(seeded, settings=Settings(auth=False))), timeout=10.0
    ) as http:
        yield http
