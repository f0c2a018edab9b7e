"""`ResponseCache`: cache-aside of finished responses, kept on `app.state.cache`.

A request is looked up by its key (`keys.cache_key`); a hit is answered from the stored
bytes with no Python object per row. A miss runs the route once per key at a time: in
this process through single-flight, across processes through a short Redis lock whose
losers poll for the winner's entry and compute themselves after a bounded wait.

The cache fails open. When the backend or the change feed cannot be reached the request
is answered from the store (`X-Cache: bypass`), an error is counted, a warning is logged
at most once a minute, and the cache is not tried again for `retry_after` seconds; after
that the next request tries, and the clients reconnect by themselves.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from ...ingest.events import ChangeFeed, FeedUnavailable
from .asgi import Captured, cacheable, run_capturing, run_marked, send_entry
from .backend import CacheBackend, CachedResponse, CacheUnavailable
from .keys import CacheRequest, cache_key, describe_request, ttl_seconds
from .singleflight import SingleFlight

__all__ = ["ResponseCache"]

log = logging.getLogger("carbon254.service.cache")

HIT, MISS, BYPASS = b"hit", b"miss", b"bypass"


def _accept(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return value.decode("latin-1")
    return ""


class ResponseCache:
    """The cache one application uses: a backend, the change feed, and counters."""

    def __init__(
        self,
        backend: CacheBackend,
        feed: ChangeFeed,
        *,
        namespace: str = "c254",
        history_ttl: float = 24 * 3600,
        live_ttl: float = 60,
        max_body: int = 32 * 2**20,
        lock_ms: int = 5000,
        lock_wait: float = 2.0,
        retry_after: float = 1.0,
        warn_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.feed = feed
        self.namespace = namespace
        self.history_ttl = history_ttl
        self.live_ttl = live_ttl
        self.max_body = max_body
        self.lock_ms = lock_ms
        self.lock_wait = lock_wait
        self.retry_after = retry_after
        self.warn_every = warn_every
        self._clock = clock
        self._counts = dict.fromkeys(("hits", "misses", "bypasses", "errors", "coalesced"), 0)
        self._flight: SingleFlight[CachedResponse] = SingleFlight()
        self._retry_at = -math.inf  # no cache call before this instant (after a failure)
        self._degraded = False
        self._warned_at = -math.inf

    # -- app.state.cache interface ---------------------------------------------------
    def stats(self) -> dict[str, int | str]:
        """Counters since start: hits, misses, bypasses, errors, coalesced (followers
        answered by another request's computation), and the backend's name."""
        return {**self._counts, "backend": self.backend.name}

    async def ping(self) -> bool:
        """Whether the backend answers now (readiness)."""
        try:
            return await self.backend.ping()
        except Exception:  # a probe reports, it does not raise
            return False

    async def aclose(self) -> None:
        await self.backend.aclose()
        release = getattr(self.feed, "release_loop", None)
        if release is not None:
            await release()

    # -- serving ---------------------------------------------------------------------
    async def serve(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """Answer one GET of a cacheable path."""
        request = describe_request(scope["path"], scope.get("query_string", b""), _accept(scope))
        if request is None or self._clock() < self._retry_at:
            return await self._bypass(app, scope, receive, send)
        try:
            generations = await self.feed.read_generations(request.instruments)
            key = cache_key(self.namespace, request, generations)
            entry = await self.backend.get(key)
        except (FeedUnavailable, CacheUnavailable) as exc:
            self._failed(exc)
            return await self._bypass(app, scope, receive, send)
        self._reachable()
        if entry is not None:
            self._counts["hits"] += 1
            return await send_entry(send, entry, HIT)
        running = self._flight.running(key)
        if running is not None:
            shared = await self._flight.follow(running)
            if shared is not None:
                self._counts["hits"] += 1
                self._counts["coalesced"] += 1
                return await send_entry(send, shared, HIT)
        await self._fill(key, request, app, scope, receive, send)

    async def _fill(
        self,
        key: str,
        request: CacheRequest,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        future = self._flight.lead(key)
        shared: CachedResponse | None = None
        token: str | None = None
        computed = False

        def share(captured: Captured) -> None:
            # Followers take the answer once it is complete, not once this request's
            # client has read it: a client that stops reading must hold up only itself.
            nonlocal shared
            if cacheable(captured):
                shared = captured.entry()
                self._flight.share(future, shared)

        try:
            token, found = await self._claim(key)
            if found is not None:
                shared = found
                self._counts["hits"] += 1
                await send_entry(send, found, HIT)
                return
            self._counts["misses"] += 1
            await run_capturing(app, scope, receive, send, MISS, self.max_body, share)
            computed = True
        finally:
            self._flight.finish(key, future, shared)
            if token is not None and not (computed and shared is not None):
                await self._release(key, token)
        if shared is not None and token is not None:
            ttl = ttl_seconds(request, history_ttl=self.history_ttl, live_ttl=self.live_ttl)
            try:
                await self.backend.set(key, shared, ttl)
            except CacheUnavailable as exc:
                self._failed(exc)
            await self._release(key, token)

    async def _claim(self, key: str) -> tuple[str | None, CachedResponse | None]:
        """(lock token, None) to compute `key`; (None, entry) when another process
        stored it meanwhile; (None, None) to compute without a lock (after a bounded
        wait, or with the backend down): a lock never blocks an answer for long."""
        try:
            token = await self.backend.acquire(key, self.lock_ms)
            if token is not None:
                return token, None
            deadline = self._clock() + self.lock_wait
            delay = 0.005
            while self._clock() < deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)
                holder_done = not await self.backend.locked(key)
                entry = await self.backend.get(key)
                if entry is not None:
                    return None, entry
                if holder_done:  # it finished without storing, or died: take over
                    return await self.backend.acquire(key, self.lock_ms), None
        except CacheUnavailable as exc:
            self._failed(exc)
        return None, None

    async def _release(self, key: str, token: str) -> None:
        try:
            await self.backend.release(key, token)
        except CacheUnavailable as exc:
            self._failed(exc)

    async def _bypass(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        self._counts["bypasses"] += 1
        await run_marked(app, scope, receive, send, BYPASS)

    # -- failing open ----------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        self._counts["errors"] += 1
        now = self._clock()
        self._retry_at = now + self.retry_after
        self._degraded = True
        if now - self._warned_at >= self.warn_every:
            self._warned_at = now
            log.warning(
                "response cache unavailable, answering from the store (retry in %gs; "
                "warned at most every %gs): %s",
                self.retry_after,
                self.warn_every,
                exc,
            )

    def _reachable(self) -> None:
        if self._degraded:
            self._degraded = False
            log.info("response cache reachable again (%s)", self.backend.name)
