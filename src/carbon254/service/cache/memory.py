"""`MemoryBackend`: the in-process LRU used when no Redis URL is set.

Entries are kept as objects (no serialization); a byte budget bounds the total, the
least recently used entries go first, and an entry past its TTL is a miss. It belongs to
one event loop, so it needs no lock.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from .backend import CacheBackend, CachedResponse

__all__ = ["MemoryBackend"]


class MemoryBackend(CacheBackend):
    """LRU of `CachedResponse`s within `max_bytes`, each with its own TTL."""

    name = "memory"

    def __init__(self, max_bytes: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, CachedResponse]] = OrderedDict()
        self._bytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    async def get(self, key: str) -> CachedResponse | None:
        item = self._entries.get(key)
        if item is None:
            return None
        expires, entry = item
        if expires <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    async def set(self, key: str, entry: CachedResponse, ttl: float) -> None:
        if key in self._entries:
            self._drop(key)
        if entry.size > self.max_bytes or ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, entry)
        self._bytes += entry.size
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self.evictions += 1

    def _drop(self, key: str) -> None:
        _, entry = self._entries.pop(key)
        self._bytes -= entry.size
