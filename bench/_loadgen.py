"""Open-loop HTTP load: requests sent at fixed times, latency counted from that time.

A closed-loop client (send, wait, send the next) slows down when the server does and
so never records the queueing it caused ("coordinated omission"). Here request `i` is
due at `t0 + i / rate` whatever happened before; its latency runs from that due time to
the last byte of the response, so time spent waiting for a free connection or behind a
slow response counts. Every request carries a tag (e.g. "hot", "cold", "floor") and the
figures are reported per tag.

The client is a fixed pool of HTTP/1.1 keep-alive connections parsed with httptools
(uvicorn's parser, installed with it): about 0.2 ms of client time per request where
httpx takes about 0.9 ms, which would otherwise be part of every figure, floor included.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools
import numpy as np

__all__ = ["Pool", "Request", "Result", "TagStats", "run_open_loop"]


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionError("connection closed"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    def _fail(self, exc: BaseException) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(request)
        return self.waiter


class Pool:
    """`size` connections to one server; `get` waits for a free one (that wait counts)."""

    def __init__(self, base_url: str, size: int, headers: Mapping[str, str]) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.size = parts.hostname or "127.0.0.1", parts.port or 80, size
        lines = [f"Host: {self.host}:{self.port}", *(f"{k}: {v}" for k, v in headers.items())]
        self._head = "\r\n".join(lines).encode() + b"\r\n\r\n"
        self._idle: asyncio.Queue[_Connection] = asyncio.Queue()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Connection, self.host, self.port)
        return protocol

    async def open(self) -> None:
        for connection in await asyncio.gather(*(self._connect() for _ in range(self.size))):
            self._idle.put_nowait(connection)

    async def get(self, path: str, timeout: float) -> tuple[int, bytes]:
        connection = await self._idle.get()
        try:
            if connection.closed:
                connection = await self._connect()
            message = b"GET " + path.encode() + b" HTTP/1.1\r\n" + self._head
            return await asyncio.wait_for(connection.send(message), timeout)
        except BaseException:
            if connection.transport is not None:
                connection.transport.abort()  # a late response must not answer the next request
            connection.closed = True
            raise
        finally:
            self._idle.put_nowait(connection)

    def close(self) -> None:
        while not self._idle.empty():
            connection = self._idle.get_nowait()
            if connection.transport is not None:
                connection.transport.close()


@dataclass(frozen=True, slots=True)
class Request:
    tag: str
    path: str  # path and query
    expect_bytes: int | None = None  # when set, a body of another size counts as an error


@dataclass(frozen=True, slots=True)
class TagStats:
    count: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


@dataclass(slots=True)
class Result:
    rate: float
    latencies: dict[str, list[float]] = field(default_factory=dict)  # ms, successful only
    errors: dict[str, Counter[str]] = field(default_factory=dict)
    send_lag_ms: list[float] = field(default_factory=list)  # how late the generator sent

    def stats(self, tag: str) -> TagStats:
        ms = np.asarray(self.latencies.get(tag, []), dtype=float)
        errors = sum(self.errors.get(tag, Counter()).values())
        if not len(ms):
            nan = float("nan")
            return TagStats(errors, errors, nan, nan, nan, nan)
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        return TagStats(len(ms) + errors, errors, p50, p90, p99, float(ms.max()))

    @property
    def total_errors(self) -> int:
        return sum(sum(c.values()) for c in self.errors.values())


async def run_open_loop(
    pool: Pool, plan: Sequence[Request], rate: float, *, timeout: float = 5.0
) -> Result:
    """Send `plan[i]` at `start + i / rate`; wait for all; latencies and errors per tag."""
    result = Result(rate=rate)
    for tag in {r.tag for r in plan}:
        result.latencies[tag] = []
        result.errors[tag] = Counter()

    async def one(request: Request, due: float) -> None:
        result.send_lag_ms.append((time.perf_counter() - due) * 1000)
        try:
            status, body = await pool.get(request.path, timeout)
        except TimeoutError:
            result.errors[request.tag]["timeout"] += 1
            return
        except (OSError, httptools.HttpParserError) as exc:
            result.errors[request.tag][type(exc).__name__] += 1
            return
        elapsed = (time.perf_counter() - due) * 1000
        if status != 200:
            result.errors[request.tag][f"status {status}"] += 1
        elif request.expect_bytes is not None and len(body) != request.expect_bytes:
            result.errors[request.tag]["body size"] += 1
        else:
            result.latencies[request.tag].append(elapsed)

    gc.collect()
    gc.disable()  # a collection in the generator would show up as server latency
    try:
        tasks = []
        start = time.perf_counter() + 0.05
        for i, request in enumerate(plan):
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(request, due)))
        await asyncio.gather(*tasks)
    finally:
        gc.enable()
    return result
