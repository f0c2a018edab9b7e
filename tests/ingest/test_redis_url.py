"""Redis URLs: single server, Sentinel and Cluster forms parse, and build the right
clients. Sentinel and Cluster are checked by construction (no such servers here); the
single-server form is checked against the real Redis."""

from __future__ import annotations

import asyncio

import pytest

from carbon254.ingest.redis_url import connect_async, connect_sync, parse_redis_url


def test_a_single_server_url_keeps_redis_pys_own_form():
    target = parse_redis_url("rediss://user:pw@cache.example:6380/3")
    assert (target.kind, target.ssl, target.nodes, target.db) == (
        "single",
        True,
        (("cache.example", 6380),),
        3,
    )
    assert "pw" not in repr(target) and "pw" not in target.redacted()


def test_a_sentinel_url_names_the_sentinels_the_master_and_the_database():
    url = "redis+sentinel://:s3cret@s1:26379,s2,[::1]:26380/mymaster/2?sentinel_password=sp"
    target = parse_redis_url(url)
    assert target.kind == "sentinel" and target.service == "mymaster" and target.db == 2
    assert target.nodes == (("s1", 26379), ("s2", 26379), ("::1", 26380))
    assert (target.password, target.sentinel_password) == ("s3cret", "sp")
    assert target.redacted() == "redis+sentinel://s1:26379,s2:26379,::1:26380/mymaster/2"
    client = connect_async(target)  # nothing connects until a command is sent
    pool = client.connection_pool
    assert pool.service_name == "mymaster"
    assert pool.connection_kwargs["db"] == 2 and pool.connection_kwargs["password"] == "s3cret"
    assert pool.connection_kwargs["decode_responses"] is False
    sentinels = [s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels]
    assert [(s["host"], s["port"], s["password"]) for s in sentinels] == [
        ("s1", 26379, "sp"),
        ("s2", 26379, "sp"),
        ("::1", 26380, "sp"),
    ]
    blocking = connect_sync(parse_redis_url("rediss+sentinel://s1/mymaster"))
    assert blocking.connection_pool.service_name == "mymaster"
    assert blocking.connection_pool.connection_kwargs["db"] == 0


def test_a_cluster_url_lists_startup_nodes():
    target = parse_redis_url("rediss+cluster://app:pw@n1:7000,n2:7001,n3")
    assert target.kind == "cluster" and target.ssl and target.db == 0
    assert target.nodes == (("n1", 7000), ("n2", 7001), ("n3", 6379))
    client = connect_async(target)  # the async cluster client discovers slots on first use
    assert list(client.nodes_manager.startup_nodes) == ["n1:7000", "n2:7001", "n3:6379"]
    assert client.connection_kwargs["password"] == "pw"
    assert client.connection_kwargs["username"] == "app"
    assert client.connection_kwargs["connection_class"].__name__ == "SSLConnection"


@pytest.mark.parametrize(
    "bad",
    [
        "http://h:6379",
        "redis+sentinel://h1,h2",  # no master name
        "redis+cluster://h1:7000/1",  # clusters have database 0 only
        "redis+cluster://h1:7000?foo=1",
        "redis+sentinel://h1/mymaster/x",
        "redis+sentinel://h1:port/mymaster",
        "redis://h1,h2",
        "redis+cluster://",
    ],
)
def test_bad_urls_are_refused_without_echoing_a_password(bad: str):
    with pytest.raises(ValueError, match="redis URL") as raised:
        parse_redis_url(bad.replace("://", "://u:topsecret@", 1))
    assert "topsecret" not in str(raised.value)


def test_a_plain_url_talks_to_the_real_server(redis_url: str):
    target = parse_redis_url(redis_url)
    blocking = connect_sync(target)
    try:
        assert blocking.ping() is True
    finally:
        blocking.close()

    async def ping() -> bool:
        client = connect_async(target)
        try:
            return await client.ping()
        finally:
            await client.aclose()

    assert asyncio.run(ping()) is True
