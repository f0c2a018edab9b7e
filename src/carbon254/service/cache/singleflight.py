"""Single-flight: concurrent misses on one key in one process share one computation.

The first caller (the leader) registers a future and computes; callers arriving while it
runs await that future instead of computing again. A leader that fails or is cancelled
resolves the future with None, and its followers compute for themselves.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Futures of the computations in progress, by key (one event loop)."""

    def __init__(self) -> None:
        self._calls: dict[str, asyncio.Future[T | None]] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def running(self, key: str) -> asyncio.Future[T | None] | None:
        """The computation of `key` in progress, if any."""
        return self._calls.get(key)

    def lead(self, key: str) -> asyncio.Future[T | None]:
        """Register the caller as the one computing `key`."""
        future: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._calls[key] = future
        return future

    @staticmethod
    def share(future: asyncio.Future[T | None], result: T) -> None:
        """Hand `result` to the followers now; the key stays registered (so later callers
        take it too) until `finish`."""
        if not future.done():
            future.set_result(result)

    def finish(self, key: str, future: asyncio.Future[T | None], result: T | None) -> None:
        """Hand `result` (None: compute yourselves) to the followers; forget the key."""
        if self._calls.get(key) is future:
            del self._calls[key]
        if not future.done():
            future.set_result(result)

    @staticmethod
    async def follow(future: asyncio.Future[T | None]) -> T | None:
        """The leader's result; a cancelled follower does not cancel the leader."""
        return await asyncio.shield(future)
