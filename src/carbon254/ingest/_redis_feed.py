"""`RedisChangeFeed`: the change feed shared by processes through Redis.

Keys (namespace `ns`, default "c254"):

- `ns:gen`, one hash: a field per instrument holding its generation, the field `*`
  (`ALL`) that every publish bumps, and `#epoch`, a random token naming the hash's
  lifetime. One key lives in one slot, so a cluster never needs a multi-slot command:
  a publish is one pipeline of `HINCRBY`s, a read one `HMGET`. If the hash is lost (a
  restart without persistence, an eviction), the next reader writes a new epoch and
  every cached answer keyed by the old one stops matching.
- `ns:ingest`, the pub/sub channel: each event as JSON (`ChangeEvent.to_json`).

Ingestion threads use a blocking client; the API's event loop an asyncio client (one per
loop, made on first use). A publish that cannot reach Redis is logged (at most once a
minute) and its instruments are bumped with the next publish that can.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

from .events import ALL, ChangeEvent, ChangeFeed, FeedUnavailable, Generations
from .redis_url import RedisTarget, connect_async, connect_sync, parse_redis_url

__all__ = ["EPOCH_FIELD", "RedisChangeFeed"]

log = logging.getLogger("carbon254.ingest.events")

EPOCH_FIELD = "#epoch"
_WARN_EVERY = 60.0  # seconds between two warnings about the same failure
_PING_EVERY = 30.0  # a subscription pings after this much silence, to notice a dead link


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError)


class RedisChangeFeed(ChangeFeed):
    """Generations in one Redis hash, events on one pub/sub channel."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str = "c254",
        socket_timeout: float = 1.0,
        connect_timeout: float = 0.5,
    ) -> None:
        self.target: RedisTarget = parse_redis_url(url)
        self.namespace = namespace
        self.gen_key = f"{namespace}:gen"
        self.channel = f"{namespace}:ingest"
        self._timeouts = {"socket_timeout": socket_timeout, "connect_timeout": connect_timeout}
        self._lock = threading.Lock()
        self._sync: Any = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._pending: set[str] = set()
        self._warned: dict[str, float] = {}
        self._errors = _redis_errors()

    def __repr__(self) -> str:
        return f"RedisChangeFeed({self.target.redacted()!r}, namespace={self.namespace!r})"

    # -- clients ---------------------------------------------------------------------
    def _sync_client(self) -> Any:
        with self._lock:
            if self._sync is None:
                self._sync = connect_sync(self.target, **self._timeouts)
            return self._sync

    def _async_client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = self._async[loop] = connect_async(self.target, **self._timeouts)
        return client

    def _warn(self, kind: str, what: str, exc: BaseException) -> None:
        """Log a failure of `kind` at most once a minute (no log storm while Redis is down)."""
        now = time.monotonic()
        if now - self._warned.get(kind, -_WARN_EVERY) >= _WARN_EVERY:
            self._warned[kind] = now
            log.warning("change feed %s: %s: %s", self.target.redacted(), what, exc)

    # -- ChangeFeed ------------------------------------------------------------------
    def publish(self, event: ChangeEvent) -> None:
        with self._lock:
            bump = sorted({*event.instruments, *self._pending, ALL})
            self._pending.clear()
        try:
            client = self._sync_client()
            pipe = client.pipeline(transaction=False)
            for instrument in bump:
                pipe.hincrby(self.gen_key, instrument, 1)
            pipe.execute()
        except self._errors as exc:
            with self._lock:
                self._pending.update(i for i in bump if i != ALL)
            self._warn(
                "bump", f"could not bump {len(bump)} generation(s); retried on next publish", exc
            )
            return
        try:
            client.publish(self.channel, event.to_json())
        except self._errors as exc:
            self._warn("publish", "could not publish an event", exc)

    def generations(self, instruments: Sequence[str]) -> list[int]:
        fields = [EPOCH_FIELD, *instruments]
        try:
            client = self._sync_client()
            values = client.hmget(self.gen_key, fields)
            if values[0] is None:
                client.hsetnx(self.gen_key, EPOCH_FIELD, secrets.token_hex(8))
        except self._errors as exc:
            raise FeedUnavailable(f"{self.target.redacted()}: {exc}") from exc
        return [int(v) if v is not None else 0 for v in values[1:]]

    async def read_generations(self, instruments: Sequence[str]) -> Generations:
        fields = [EPOCH_FIELD, *instruments]
        try:
            client = self._async_client()
            values = await client.hmget(self.gen_key, fields)
            if values[0] is None:  # a new or lost hash: name its lifetime, then read again
                await client.hsetnx(self.gen_key, EPOCH_FIELD, secrets.token_hex(8))
                values = await client.hmget(self.gen_key, fields)
        except self._errors as exc:
            raise FeedUnavailable(f"{self.target.redacted()}: {exc}") from exc
        epoch = values[0].decode() if values[0] is not None else ""
        return Generations(epoch, [int(v) if v is not None else 0 for v in values[1:]])

    async def subscribe(self) -> AsyncIterator[ChangeEvent]:
        """Events from now on. A lost connection is re-established with back-off; events
        published while it was down are not replayed (pub/sub keeps nothing)."""
        backoff = 0.1
        while True:
            pubsub = self._async_client().pubsub()
            try:
                await pubsub.subscribe(self.channel)
                backoff = 0.1
                quiet_since = time.monotonic()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is None:
                        if time.monotonic() - quiet_since > _PING_EVERY:
                            await pubsub.ping()
                            quiet_since = time.monotonic()
                        continue
                    quiet_since = time.monotonic()
                    if message.get("type") != "message":
                        continue
                    try:
                        event = ChangeEvent.from_json(message["data"])
                    except (ValueError, KeyError, TypeError) as exc:
                        self._warn("event", "ignored a malformed event", exc)
                        continue
                    yield event
            except self._errors as exc:
                self._warn("subscribe", "subscription lost; reconnecting", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    # -- lifetime ----------------------------------------------------------------------
    async def release_loop(self) -> None:
        """Close the asyncio client of the running loop (call before the loop ends)."""
        client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    def close(self) -> None:
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
