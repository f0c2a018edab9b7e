"""`/ready` on a real server with the real caches (in-process and Redis): ready on the
store alone when no cache is attached, 503 naming the dependency when the store is closed
or the cache does not answer its ping; `/health` stays the liveness probe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from carbon254.service.routes import health
from carbon254.service.settings import Settings
from carbon254.store import PriceStore

Serve = Callable[..., tuple[object, httpx.Client]]


class PingCache:
    """A cache whose ping raises or hangs (the real one turns errors into False; a hung
    socket is what the timeout is for)."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    async def ping(self) -> bool:
        if isinstance(self.answer, Exception):
            raise self.answer
        await asyncio.sleep(30)
        return True

    def stats(self) -> dict:
        return {"hits": 0, "misses": 0, "errors": 0, "backend": "redis"}


def _no_cache(app: FastAPI) -> None:
    del app.state.cache


def test_ready_with_the_in_process_cache(backend_store: PriceStore, serve: Serve) -> None:
    _, client = serve(backend_store)
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "store": "ok",
        "cache": "ok",
        "backends": {"store": backend_store.backend, "cache": "memory"},
    }


def test_ready_on_the_store_alone_without_a_cache(store: PriceStore, serve: Serve) -> None:
    _, client = serve(store, _no_cache)
    body = client.get("/ready").json()
    assert (body["status"], body["cache"], body["backends"]["cache"]) == ("ready", "absent", None)


def test_ready_with_redis(store: PriceStore, serve: Serve, redis_url: str) -> None:
    settings = Settings(auth=False, redis_url=redis_url, redis_namespace="c254test_ops")
    _, client = serve(store, settings=settings)
    body = client.get("/ready").json()
    assert (body["status"], body["cache"], body["backends"]["cache"]) == ("ready", "ok", "redis")


def test_not_ready_when_redis_does_not_answer(store: PriceStore, serve: Serve) -> None:
    _, client = serve(store, settings=Settings(auth=False, redis_url="redis://127.0.0.1:1/0"))
    response = client.get("/ready")
    assert response.status_code == 503
    problem = response.json()
    assert problem["detail"] == "not ready: cache ping answered false"
    assert (problem["store"], problem["cache"]) == ("ok", "failed")
    assert client.get("/health").status_code == 200  # alive, just not ready
    assert client.get("/api/v1/jobs").status_code == 200  # and answering from the store


def test_not_ready_when_the_store_is_unreachable(
    backend_store: PriceStore, serve: Serve, store_outage
) -> None:
    _, client = serve(backend_store)
    assert client.get("/ready").status_code == 200
    with store_outage():
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        problem = response.json()
        assert problem["detail"].startswith("not ready: store check failed (")
        assert (problem["store"], problem["cache"]) == ("failed", "ok")
        assert client.get("/health").status_code == 503  # the store is the process's life


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (ConnectionError("refused"), "cache ping failed (ConnectionError)"),
        ("hang", "cache did not answer its ping within 0.2 s"),
    ],
)
def test_not_ready_when_the_cache_ping_fails_or_hangs(
    store: PriceStore, serve: Serve, monkeypatch: pytest.MonkeyPatch, answer, detail
) -> None:
    monkeypatch.setattr(health, "READY_TIMEOUT", 0.2)
    _, client = serve(store, lambda app: setattr(app.state, "cache", PingCache(answer)))
    response = client.get("/ready")
    assert response.status_code == 503
    problem = response.json()
    assert problem["detail"] == f"not ready: {detail}"
    assert (problem["store"], problem["cache"]) == ("ok", "failed")
    assert problem["backends"] == {"store": "duckdb", "cache": "redis"}


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
def test_health_recovers_when_postgres_returns(
    backend_store: PriceStore, serve: Serve, store_outage
) -> None:
    """A PostgreSQL restart ends every session; the probes answer again as soon as the
    server does, with no process restart (a dropped connection is replaced on use)."""
    _, client = serve(backend_store)
    assert client.get("/health").status_code == 200
    with store_outage():
        assert client.get("/health").status_code == 503
    statuses = [client.get("/health").status_code for _ in range(5)]
    assert statuses == [200] * 5, statuses
    assert client.get("/ready").status_code == 200
