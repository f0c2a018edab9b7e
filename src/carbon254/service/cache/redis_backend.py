"""`RedisBackend`: cached responses in Redis (single server, Sentinel or Cluster).

Every operation touches one key (`GET`, `SET PX`, `SET NX PX`, a one-key script), so a
cluster never needs a multi-slot command. Connection errors and timeouts surface as
`CacheUnavailable`; the pool reconnects by itself on the next call once Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import weakref
from typing import Any

from ...ingest.redis_url import RedisTarget, connect_async, parse_redis_url
from .backend import CacheBackend, CachedResponse, CacheUnavailable, pack, unpack

__all__ = ["RedisBackend"]

# Delete the lock only if it still holds our token (it may have expired and been taken).
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


def _errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError)


class RedisBackend(CacheBackend):
    """Entries as one string each (`backend.pack`), with a TTL in milliseconds."""

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = 1.0,
        connect_timeout: float = 0.5,
    ) -> None:
        self.target: RedisTarget = parse_redis_url(url)
        self._timeouts = {"socket_timeout": socket_timeout, "connect_timeout": connect_timeout}
        # One client per event loop: asyncio connections belong to the loop that made them.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._errors = _errors()

    def __repr__(self) -> str:
        return f"RedisBackend({self.target.redacted()!r})"

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = connect_async(self.target, **self._timeouts)
        return client

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self._client(), method)(*args, **kwargs)
        except self._errors as exc:
            raise CacheUnavailable(
                f"{self.target.redacted()}: {type(exc).__name__}: {exc}"
            ) from exc

    async def get(self, key: str) -> CachedResponse | None:
        raw = await self._call("get", key)
        return unpack(raw) if raw is not None else None

    async def set(self, key: str, entry: CachedResponse, ttl: float) -> None:
        await self._call("set", key, pack(entry), px=max(1, int(ttl * 1000)))

    async def acquire(self, key: str, ttl_ms: int) -> str | None:
        token = secrets.token_hex(8)
        ok = await self._call("set", _lock_key(key), token, nx=True, px=ttl_ms)
        return token if ok else None

    async def release(self, key: str, token: str) -> None:
        await self._call("eval", _RELEASE, 1, _lock_key(key), token)

    async def locked(self, key: str) -> bool:
        return bool(await self._call("exists", _lock_key(key)))

    async def ping(self) -> bool:
        try:
            return bool(await self._call("ping"))
        except CacheUnavailable:
            return False

    async def aclose(self) -> None:
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


def _lock_key(key: str) -> str:
    return key.replace(":resp:", ":lock:", 1)
