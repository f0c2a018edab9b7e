"""Single-flight and slow clients: the requests that share one computation get its answer
when it is complete, not when the first requester's client has finished reading it.

uvicorn has no send timeout: a client that stops reading holds its request's `send`
for as long as it keeps the connection open. Driven at the ASGI level so the leader's
client can be made to read nothing at all."""

from __future__ import annotations

import asyncio

from carbon254.ingest.events import LocalChangeFeed
from carbon254.service.cache import MemoryBackend, ResponseCache

BODY = b'{"columns": {}}' * 1000
SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/api/v1/prices",
    "query_string": b"instruments=PJM.RT5.LMP.1&start=2025-01-01&end=2025-01-02",
    "headers": [],
}


async def _route(scope, receive, send) -> None:
    await asyncio.sleep(0.05)  # long enough for the second request to arrive meanwhile
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": BODY})


async def _receive() -> dict:
    return {"type": "http.request"}


async def _scenario() -> tuple[list[dict], dict[str, int | str]]:
    cache = ResponseCache(MemoryBackend(2**20), LocalChangeFeed())
    reading = asyncio.Event()

    async def stalled_client(message: dict) -> None:  # reads nothing until told to
        if message["type"] == "http.response.body":
            await reading.wait()

    answered: list[dict] = []

    async def client(message: dict) -> None:
        answered.append(message)

    first = asyncio.create_task(cache.serve(dict(SCOPE), _receive, stalled_client, _route))
    await asyncio.sleep(0.01)  # the first is computing
    try:
        await asyncio.wait_for(cache.serve(dict(SCOPE), _receive, client, _route), 2.0)
    finally:
        reading.set()
        await first
    return answered, cache.stats()


def test_a_stalled_client_does_not_hold_back_requests_sharing_its_computation() -> None:
    answered, stats = asyncio.run(_scenario())
    assert answered[-1]["body"] == BODY
    assert dict(answered[0]["headers"])[b"x-cache"] == b"hit"
    assert (stats["misses"], stats["coalesced"]) == (1, 1)
