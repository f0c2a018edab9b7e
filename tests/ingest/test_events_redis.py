"""`RedisChangeFeed` on the real Redis: generations, epoch, events, and a Redis that
goes away (a redis-server of the test's own for that)."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterator

import pytest

from carbon254.ingest._redis_feed import EPOCH_FIELD, RedisChangeFeed
from carbon254.ingest.events import ALL, ChangeEvent, FeedUnavailable, open_change_feed

from ..redis_server import own_redis_server


@pytest.fixture
def feed(redis_url: str) -> Iterator[RedisChangeFeed]:
    """A feed in a namespace of its own, whose keys are deleted afterwards."""
    import redis

    feed = RedisChangeFeed(redis_url, namespace=f"c254test-{uuid.uuid4().hex[:12]}")
    yield feed
    feed.close()
    with redis.Redis.from_url(redis_url) as r:
        r.delete(feed.gen_key)


def test_publish_bumps_one_hash_and_readers_see_the_same_counts(feed: RedisChangeFeed):
    assert feed.generations(["A", ALL]) == [0, 0]
    feed.publish(ChangeEvent(("A", "B")))
    feed.publish(ChangeEvent(("A",)))
    assert feed.generations(["A", "B", "C", ALL]) == [2, 1, 0, 2]
    first = asyncio.run(_read(feed, ["A", "B", ALL]))
    again = asyncio.run(_read(feed, ["A"]))
    assert first.values == [2, 1, 2] and again.values == [2]
    assert first.epoch and first.epoch == again.epoch  # stable while the hash lives


async def _read(feed: RedisChangeFeed, ids: list[str]):
    try:
        return await feed.read_generations(ids)
    finally:
        await feed.release_loop()


def test_losing_the_counters_changes_the_epoch(feed: RedisChangeFeed, redis_url: str):
    import redis

    feed.publish(ChangeEvent(("A",)))
    before = asyncio.run(_read(feed, ["A"]))
    with redis.Redis.from_url(redis_url) as r:
        r.delete(feed.gen_key)  # as a restart without persistence, or an eviction, would
    after = asyncio.run(_read(feed, ["A"]))
    assert after.values == [0] and after.epoch and after.epoch != before.epoch
    with redis.Redis.from_url(redis_url) as r:
        assert r.hget(feed.gen_key, EPOCH_FIELD).decode() == after.epoch


def test_open_change_feed_uses_the_url_and_namespace(redis_url: str):
    feed = open_change_feed(redis_url, "c254test-ns")
    assert isinstance(feed, RedisChangeFeed)
    assert (feed.gen_key, feed.channel) == ("c254test-ns:gen", "c254test-ns:ingest")
    assert "RedisChangeFeed('redis://127.0.0.1" in repr(feed)


def test_subscribers_receive_events_from_a_publishing_thread(feed: RedisChangeFeed):
    import redis

    async def scenario() -> ChangeEvent:
        stream = feed.subscribe()
        first = asyncio.ensure_future(anext(stream))
        with redis.Redis.from_url(_url(feed)) as r:
            for _ in range(200):  # until the subscription is registered
                if r.pubsub_numsub(feed.channel)[0][1]:
                    break
                await asyncio.sleep(0.01)
        event = ChangeEvent(("PJM.RT5.LMP.51288",), "pjm.rt5", 42)
        threading.Thread(target=feed.publish, args=(event,)).start()
        received = await asyncio.wait_for(first, 5)
        await stream.aclose()
        await feed.release_loop()
        return received

    received = asyncio.run(scenario())
    assert (received.instruments, received.dataset, received.batch_id) == (
        ("PJM.RT5.LMP.51288",),
        "pjm.rt5",
        42,
    )


def _url(feed: RedisChangeFeed) -> str:
    host, port = feed.target.nodes[0]
    return f"redis://{host}:{port}/{feed.target.db}"


def test_a_publish_while_redis_is_down_is_logged_once_and_caught_up_later(
    caplog: pytest.LogCaptureFixture,
):
    with own_redis_server() as server:
        feed = RedisChangeFeed(server.url, namespace="t")
        feed.publish(ChangeEvent(("A",)))
        server.stop()
        with caplog.at_level(logging.WARNING, logger="carbon254.ingest.events"):
            feed.publish(ChangeEvent(("B",)))  # must not raise
            feed.publish(ChangeEvent(("C",)))
        assert len(caplog.records) == 1 and "retried on next publish" in caplog.text
        with pytest.raises(FeedUnavailable):
            feed.generations(["A"])
        with pytest.raises(FeedUnavailable):
            asyncio.run(_read(feed, ["A"]))
        server.start()  # empty: the counters restart, with a new epoch
        feed.publish(ChangeEvent(("D",)))
        assert feed.generations(["A", "B", "C", "D", ALL]) == [0, 1, 1, 1, 1]
        feed.close()


def test_a_subscription_outlives_a_redis_restart():
    import redis

    with own_redis_server() as server:
        feed = RedisChangeFeed(server.url, namespace="t")

        async def subscribed() -> None:
            with redis.Redis.from_url(server.url) as r:
                for _ in range(500):
                    try:
                        if r.pubsub_numsub(feed.channel)[0][1]:
                            return
                    except redis.ConnectionError:
                        pass
                    await asyncio.sleep(0.01)
            raise AssertionError("never subscribed")

        async def scenario() -> ChangeEvent:
            stream = feed.subscribe()
            first = asyncio.ensure_future(anext(stream))
            await subscribed()
            server.stop()
            await asyncio.sleep(0.3)  # the subscriber notices and retries with back-off
            server.start()
            await subscribed()
            await asyncio.to_thread(feed.publish, ChangeEvent(("X",)))
            received = await asyncio.wait_for(first, 5)
            await stream.aclose()
            await feed.release_loop()
            return received

        assert asyncio.run(scenario()).instruments == ("X",)
        feed.close()
