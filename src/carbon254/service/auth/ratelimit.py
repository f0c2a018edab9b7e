"""Per-principal rate limits: a token bucket per API key or token subject.

A bucket holds up to `burst` requests and refills at `per_minute / 60` per second. With a
Redis URL the bucket lives in Redis (one atomic Lua script per request, Redis's clock),
so every API process shares it; if Redis cannot be reached the limiter fails open to a
bucket in this process (logged once per outage) and returns to Redis a few seconds later.
A key's own limit (`rate_limit_per_minute` stored with it) scales its burst in proportion.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .principal import Principal

__all__ = ["Decision", "LocalBuckets", "RateLimiter"]

log = logging.getLogger("carbon254.service.auth")

# KEYS[1]: the bucket; ARGV: refill per second, burst. Returns {allowed, tokens left}.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
else
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, tostring(tokens)}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """One request's verdict, and what the RateLimit headers say about the bucket."""

    allowed: bool
    tokens: float
    """Left in the bucket after this request."""
    burst: int
    per_minute: int

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def reset(self) -> int:
        """Seconds until the bucket is full again."""
        return max(0, math.ceil((self.burst - self.tokens) * 60 / self.per_minute))

    @property
    def retry_after(self) -> int:
        """Seconds until one more request is allowed (at least 1)."""
        return max(1, math.ceil((1 - self.tokens) * 60 / self.per_minute))

    def headers(self) -> list[tuple[bytes, bytes]]:
        window = max(1, math.ceil(self.burst * 60 / self.per_minute))
        values = [
            (b"ratelimit-limit", str(self.burst)),
            (b"ratelimit-remaining", str(self.remaining)),
            (b"ratelimit-reset", str(self.reset)),
            (b"ratelimit-policy", f"{self.burst};w={window}"),
        ]
        if not self.allowed:
            values.append((b"retry-after", str(self.retry_after)))
        return [(name, value.encode()) for name, value in values]


class LocalBuckets:
    """Token buckets in this process, the least recently used dropped past `max_keys`
    (a dropped bucket is a full one: only idle keys lose anything, and they lose nothing)."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, per_minute: int, burst: int) -> Decision:
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(burst), now))
        tokens = min(float(burst), tokens + (now - at) * per_minute / 60)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return Decision(allowed, tokens, burst, per_minute)


class RateLimiter:
    """The limit for each principal, enforced in Redis when configured, else locally."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        redis_url: str | None = None,
        prefix: str = "c254:ratelimit:",
        retry_redis_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.burst = burst
        self.prefix = prefix
        self.retry_redis_after = retry_redis_after
        self.local = LocalBuckets(clock=clock)
        self._clock = clock
        self._target: Any = None
        if redis_url:
            from ...ingest.redis_url import parse_redis_url

            self._target = parse_redis_url(redis_url)  # a bad URL fails at startup
        self._client: Any = None
        self._script: Any = None
        self._down_until = float("-inf")
        self.redis_errors = 0

    @property
    def backend(self) -> str:
        return "redis" if self._target is not None else "memory"

    def policy(self, principal: Principal) -> tuple[int, int] | None:
        """(per minute, burst) for `principal`, or None when unlimited (limit <= 0)."""
        per_minute = principal.rate_limit_per_minute or self.per_minute
        if per_minute <= 0:
            return None
        burst = self.burst
        if principal.rate_limit_per_minute and self.per_minute > 0:
            burst = round(self.burst * per_minute / self.per_minute)
        return per_minute, max(1, min(burst, per_minute))

    async def check(self, principal: Principal) -> Decision | None:
        """Take one request from the principal's bucket; None when unlimited."""
        policy = self.policy(principal)
        if policy is None:
            return None
        per_minute, burst = policy
        key = principal.limit_key
        if self._target is not None and self._clock() >= self._down_until:
            try:
                return await self._take_redis(key, per_minute, burst)
            except Exception as exc:  # Redis down or refusing: fail open, locally
                self._redis_failed(exc)
        return self.local.take(key, per_minute, burst)

    async def _take_redis(self, key: str, per_minute: int, burst: int) -> Decision:
        if self._client is None:
            from ...ingest.redis_url import connect_async

            self._client = connect_async(self._target, socket_timeout=0.25, connect_timeout=0.25)
            self._script = self._client.register_script(_TAKE)
        allowed, tokens = await self._script(
            keys=[self.prefix + key], args=[per_minute / 60, burst]
        )
        if self._down_until > float("-inf"):
            log.info("rate limits: Redis is back; limits are shared across processes again")
            self._down_until = float("-inf")
        return Decision(bool(int(allowed)), float(tokens), burst, per_minute)

    def _redis_failed(self, exc: Exception) -> None:
        self.redis_errors += 1
        if self._down_until == float("-inf"):
            log.warning(
                "rate limits: Redis at %s failed (%s: %s); limiting per process until it returns",
                self._target.redacted(),
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
        self._down_until = self._clock() + self.retry_redis_after

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # shutting down: nothing to do about it
                await client.aclose()
