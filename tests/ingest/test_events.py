"""The in-process change feed and the ingestion hook that publishes to it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from carbon254.connectors.http import RawResponse
from carbon254.core import Iso
from carbon254.ingest import events
from carbon254.ingest.demo import generate_demo_market, load_demo
from carbon254.ingest.events import (
    ALL,
    ChangeEvent,
    ChangeFeed,
    LocalChangeFeed,
    announce_prices,
    set_default_change_feed,
)
from carbon254.ingest.runner import parse_and_store
from carbon254.store import PriceStore

from .fakes import FakeRtPrices, day_payload

DAY = date(2025, 10, 15)


@pytest.fixture
def feed() -> Iterator[LocalChangeFeed]:
    before = events._default
    feed = LocalChangeFeed()
    set_default_change_feed(feed)
    yield feed
    set_default_change_feed(before)


def test_a_publish_bumps_its_instruments_and_the_global_generation():
    feed = LocalChangeFeed()
    assert feed.generations(["A", "B", ALL]) == [0, 0, 0]
    feed.publish(ChangeEvent(("A",)))
    feed.publish(ChangeEvent(("A", "B")))
    assert feed.generations(["A", "B", "C", ALL]) == [2, 1, 0, 2]
    assert asyncio.run(feed.read_generations(["B", ALL])) == ("", [1, 2])


def test_subscribers_receive_events_published_from_another_thread():
    feed = LocalChangeFeed()

    async def scenario() -> list[ChangeEvent]:
        stream = feed.subscribe()
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)  # subscribed
        await asyncio.to_thread(feed.publish, ChangeEvent(("A",), "d", 7))
        event = await asyncio.wait_for(first, 2)
        await stream.aclose()
        return [event]

    [event] = asyncio.run(scenario())
    assert (event.instruments, event.dataset, event.batch_id) == (("A",), "d", 7)
    assert ChangeEvent.from_json(event.to_json()) == event


def _raw(location: str, price: float) -> RawResponse:
    content = day_payload(Iso.PJM, DAY, (location,), step=timedelta(minutes=5), price=price)
    return RawResponse("test.rt_prices", "https://upstream.test/rt", datetime.now(UTC), content)


def test_parse_and_store_announces_a_batch_that_changed_rows_and_only_then(
    store: PriceStore, feed: LocalChangeFeed
):
    node = "PJM.RT5.LMP.51288"
    first = parse_and_store(FakeRtPrices(), [_raw("51288", 30.0)], store)
    assert first.changed == 288 and feed.generations([node, ALL]) == [1, 1]
    again = parse_and_store(FakeRtPrices(), [_raw("51288", 30.0)], store)  # identical bytes
    assert again.changed == 0 and feed.generations([node, ALL]) == [1, 1]
    revised = parse_and_store(FakeRtPrices(), [_raw("51288", 31.0)], store)
    assert revised.changed == 288 and feed.generations([node, ALL]) == [2, 2]
    assert feed.generations(["PJM.RT5.LMP.51289"]) == [0]


def test_the_demo_load_announces_its_instruments(store: PriceStore, feed: LocalChangeFeed):
    kwargs = {"days": 1, "nodes_per_iso": 9, "isos": ("PJM",)}
    market = generate_demo_market(**kwargs)
    instruments = sorted({i for t in market.prices for i in t.column("instrument").to_pylist()})
    result = load_demo(store, **kwargs)
    assert feed.generations(instruments) == [1] * len(instruments)
    assert feed.generations([ALL]) == [len(result.batches)]
    load_demo(store, **kwargs)  # the same content again: nothing changed, nothing announced
    assert feed.generations([ALL]) == [len(result.batches)]


class _Broken(ChangeFeed):
    def publish(self, event: ChangeEvent) -> None:
        raise RuntimeError("feed exploded")

    def generations(self, instruments):  # pragma: no cover - not used
        return []

    async def subscribe(self):  # pragma: no cover - not used
        yield


def test_a_failing_feed_never_fails_the_ingest_and_is_logged_once(
    store: PriceStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    before = events._default
    set_default_change_feed(_Broken())
    monkeypatch.setattr(events, "_last_failure_log", -float("inf"))
    try:
        with caplog.at_level(logging.WARNING, logger="carbon254.ingest.events"):
            for price in (30.0, 31.0, 32.0):
                stored = parse_and_store(FakeRtPrices(), [_raw("51288", price)], store)
                assert stored.changed == 288
    finally:
        set_default_change_feed(before)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "feed exploded" in warnings[0]


def test_announce_prices_takes_the_distinct_instruments_of_the_table(feed: LocalChangeFeed):
    import pyarrow as pa

    table = pa.table({"instrument": ["A", "B", "A", "A"]})
    announce_prices(table, dataset="d", batch_id=1)
    assert feed.generations(["A", "B", ALL]) == [1, 1, 1]
