"""Cache test plumbing: one node-day of 5-minute prices, counted store reads, apps with
the in-process LRU or Redis (a namespace of their own on the shared server)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pyarrow as pa
import pytest
from fastapi import FastAPI

from carbon254.connectors.http import RawResponse
from carbon254.core import Iso
from carbon254.ingest import events
from carbon254.ingest.runner import parse_and_store
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ...ingest.fakes import FakeRtPrices, day_payload
from ...redis_server import OwnRedis, own_redis_server
from ..service_helpers import day_prices

NODE = "PJM.RT5.LMP.51288"
OTHER = "PJM.RT5.LMP.51289"
DAY = date(2025, 10, 15)
START, END = "2025-10-15T04:00:00Z", "2025-10-16T04:00:00Z"  # the PJM market day in UTC


def prices_url(instrument: str = NODE, **extra: str) -> str:
    params = {"instruments": instrument, "start": START, "end": END, **extra}
    return "/api/v1/prices?" + "&".join(f"{k}={v}" for k, v in params.items())


def ingest_day(store: PriceStore, node: str, price: float) -> None:
    """New prices for `node` on DAY through the real ingest path (parse, store, announce)."""
    location = node.rsplit(".", 1)[1]
    content = day_payload(Iso.PJM, DAY, (location,), step=timedelta(minutes=5), price=price)
    raw = RawResponse("test.rt_prices", "https://upstream.test/rt", datetime.now(UTC), content)
    stored = parse_and_store(FakeRtPrices(), [raw], store)
    assert stored.changed == stored.rows == 288


class Reads:
    """Counts the store reads the price routes make; `delay` slows each one down."""

    def __init__(self, store: PriceStore) -> None:
        self.count = 0
        self.delay = 0.0
        self._lock = threading.Lock()
        for name in ("read_prices", "latest"):
            setattr(store, name, self._counted(getattr(store, name)))

    def _counted(self, read: Callable) -> Callable:
        def counted(*args, **kwargs):
            with self._lock:
                self.count += 1
            time.sleep(self.delay)
            return read(*args, **kwargs)

        return counted


@pytest.fixture
def day_store(store: PriceStore) -> PriceStore:
    """Two PJM 5-minute nodes, one market day each (288 rows per node)."""
    tables = [day_prices(NODE, DAY), day_prices(OTHER, DAY, 40.0)]
    store.upsert_prices(pa.concat_tables(tables), source="test")
    return store


@pytest.fixture
def reads(day_store: PriceStore) -> Reads:
    return Reads(day_store)


@pytest.fixture(autouse=True)
def _restore_default_feed() -> Iterator[None]:
    """create_app makes its feed the process default; put the previous one back."""
    before = events._default
    yield
    events.set_default_change_feed(before)


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A key namespace of this test's own on the shared Redis, deleted afterwards."""
    import redis

    ns = f"c254test-{uuid.uuid4().hex[:12]}"
    yield ns
    with redis.Redis.from_url(redis_url) as r:
        keys = list(r.scan_iter(match=f"{ns}:*", count=1000))
        if keys:
            r.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
def settings(request: pytest.FixtureRequest) -> Settings:
    """Settings of an app with the in-process LRU, or with Redis."""
    if request.param == "memory":
        return Settings(auth=False)
    url = request.getfixturevalue("redis_url")
    return Settings(auth=False, redis_url=url, redis_namespace=request.getfixturevalue("namespace"))


@pytest.fixture
def serve(live_server: Callable[[FastAPI], str]) -> Iterator[Callable[..., httpx.Client]]:
    """`serve(store, settings)`: an httpx client on a live server over a new app."""
    clients: list[httpx.Client] = []

    def start(store: PriceStore, settings: Settings, **kwargs) -> httpx.Client:
        app = create_app(store, settings=settings, **kwargs)
        client = httpx.Client(base_url=live_server(app), timeout=10.0)
        client.app = app  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A redis-server of this test's own, to stop and restart (never the shared one)."""
    with own_redis_server() as server:
        yield server
