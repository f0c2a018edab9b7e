"""Live prices over websockets on a real server: subscribe, store a new interval and
publish its change event, receive it; other instruments' events push nothing; completing
the operation or dropping the connection closes the feed subscription."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from carbon254.ingest.events import ChangeEvent, LocalChangeFeed
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..service_helpers import CAISO_DA, PJM_DA, price_table, utc

SUBSCRIBE = """subscription($ids: [ID!]!) {
    prices(instruments: $ids) { instrument intervalStart value } }"""


class TrackingFeed(LocalChangeFeed):
    """A local feed that counts open subscriptions."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0

    async def subscribe(self) -> AsyncIterator[ChangeEvent]:
        self.active += 1
        try:
            async for event in super().subscribe():
                yield event
        finally:
            self.active -= 1

    def wait_active(self, count: int, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while self.active != count:
            assert time.monotonic() < deadline, f"{self.active} subscriptions open, not {count}"
            time.sleep(0.01)


@pytest.fixture
def feed() -> TrackingFeed:
    return TrackingFeed()


@pytest.fixture
def ws_url(seeded: PriceStore, feed: TrackingFeed, live_server: Callable[[FastAPI], str]) -> str:
    app = create_app(seeded, settings=Settings(auth=False), changes=feed)
    return live_server(app).replace("http://", "ws://") + "/graphql"


@contextmanager
def transport_ws(url: str) -> Iterator[ClientConnection]:
    """A graphql-transport-ws connection, initialized."""
    with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=5) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert _receive(ws) == {"type": "connection_ack"}
        yield ws


def _receive(ws: ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def _subscribe(ws: ClientConnection, ids: list[str], op: str = "1") -> None:
    payload = {"query": SUBSCRIBE, "variables": {"ids": ids}}
    ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))


def _store(store: PriceStore, instrument: str, hours: list[int], value: float) -> None:
    starts = [utc(2024, 11, 5, h) for h in hours]
    store.upsert_prices(price_table(instrument, starts, [value] * len(starts)), source="live")


def test_new_intervals_are_pushed_as_they_are_stored(
    ws_url: str, seeded: PriceStore, feed: TrackingFeed
) -> None:
    with transport_ws(ws_url) as ws:
        _subscribe(ws, [PJM_DA, CAISO_DA])
        first = _receive(ws)
        assert first["type"] == "next" and first["id"] == "1"
        assert first["payload"]["data"]["prices"] == {
            "instrument": [CAISO_DA, PJM_DA],
            "intervalStart": ["2024-11-04T07:00:00Z", "2024-11-05T04:00:00Z"],
            "value": [42.523456789, 22.423456789],
        }
        feed.wait_active(1)

        _store(seeded, PJM_DA, [5], 99.5)
        published = time.monotonic()
        feed.publish(ChangeEvent((PJM_DA,), dataset="pjm_da", batch_id=1))
        pushed = _receive(ws, timeout=1.0)
        assert time.monotonic() - published < 1.0
        assert pushed["payload"]["data"]["prices"] == {
            "instrument": [PJM_DA],
            "intervalStart": ["2024-11-05T05:00:00Z"],
            "value": [99.5],
        }

        feed.publish(ChangeEvent(("ERCOT.RT15.SPP.HB_NORTH",)))  # not subscribed
        feed.publish(ChangeEvent((PJM_DA,)))  # nothing new stored: nothing to push
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)

        _store(seeded, PJM_DA, [6, 7], 101.0)
        _store(seeded, CAISO_DA, [8], 45.0)
        feed.publish(ChangeEvent((PJM_DA, CAISO_DA)))
        both = _receive(ws, timeout=1.0)["payload"]["data"]["prices"]
        assert both == {
            "instrument": [CAISO_DA, PJM_DA, PJM_DA],
            "intervalStart": [
                "2024-11-05T08:00:00Z",
                "2024-11-05T06:00:00Z",
                "2024-11-05T07:00:00Z",
            ],
            "value": [45.0, 101.0, 101.0],
        }

        ws.send(json.dumps({"id": "1", "type": "complete"}))
        feed.wait_active(0)
        ws.ping().wait(2)  # the connection itself stays open


def test_dropping_the_connection_closes_the_subscription(ws_url: str, feed: TrackingFeed) -> None:
    with transport_ws(ws_url) as ws:
        _subscribe(ws, [PJM_DA], "a")
        _subscribe(ws, [CAISO_DA], "b")
        assert {_receive(ws)["id"], _receive(ws)["id"]} == {"a", "b"}
        feed.wait_active(2)
    feed.wait_active(0)


@pytest.mark.parametrize(
    ("ids", "code"),
    [(["PJM.DA.LMP.NOPE"], "NOT_FOUND"), (["not-an-id"], "BAD_USER_INPUT"), ([], "BAD_USER_INPUT")],
)
def test_bad_subscriptions_get_an_error_message(
    ws_url: str, feed: TrackingFeed, ids: list[str], code: str
) -> None:
    with transport_ws(ws_url) as ws:
        _subscribe(ws, ids)
        message = _receive(ws)
        assert message["type"] in ("error", "next"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert [e["extensions"]["code"] for e in errors] == [code]
        feed.wait_active(0)


def test_pushes_through_the_redis_feed(
    seeded: PriceStore, redis_url: str, live_server: Callable[[FastAPI], str]
) -> None:
    """Ingestion in another process publishes to Redis; the API process pushes."""
    from carbon254.ingest._redis_feed import RedisChangeFeed

    namespace = f"c254test:{uuid.uuid4().hex[:8]}"
    api_feed = RedisChangeFeed(redis_url, namespace=namespace)
    ingest_feed = RedisChangeFeed(redis_url, namespace=namespace)
    app = create_app(seeded, settings=Settings(auth=False), changes=api_feed)
    url = live_server(app).replace("http://", "ws://") + "/graphql"
    try:
        with transport_ws(url) as ws:
            _subscribe(ws, [PJM_DA])
            assert _receive(ws)["payload"]["data"]["prices"]["value"] == [22.423456789]
            _store(seeded, PJM_DA, [5], 77.0)
            # Redis confirms a subscription asynchronously: publish until it is heard
            # (a repeated event pushes nothing new, so at most one push arrives).
            deadline = time.monotonic() + 3.0
            while True:
                ingest_feed.publish(ChangeEvent((PJM_DA,)))
                try:
                    pushed = _receive(ws, timeout=0.2)
                    break
                except TimeoutError:
                    assert time.monotonic() < deadline, "no push through Redis"
            assert pushed["payload"]["data"]["prices"]["value"] == [77.0]
    finally:
        ingest_feed.close()
        api_feed.close()
        _delete_namespace(redis_url, namespace)


def _delete_namespace(redis_url: str, namespace: str) -> None:
    import redis

    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(f"{namespace}:*"))
        if keys:
            client.delete(*keys)


def test_the_older_graphql_ws_protocol_works_too(ws_url: str, seeded: PriceStore) -> None:
    with connect(ws_url, subprotocols=["graphql-ws"], open_timeout=5) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert _receive(ws)["type"] == "connection_ack"
        payload = {"query": SUBSCRIBE, "variables": {"ids": [PJM_DA]}}
        ws.send(json.dumps({"id": "1", "type": "start", "payload": payload}))
        message = _receive(ws)
        while message["type"] == "ka":
            message = _receive(ws)
        assert message["type"] == "data"
        assert message["payload"]["data"]["prices"]["intervalStart"] == ["2024-11-05T04:00:00Z"]
        ws.send(json.dumps({"id": "1", "type": "stop"}))


def test_unknown_subprotocols_are_refused(ws_url: str) -> None:
    with (
        connect(ws_url, subprotocols=["chat"], open_timeout=5) as ws,
        pytest.raises(ConnectionClosed),
    ):
        ws.recv(timeout=2)
