"""What the cache stores (`CachedResponse`), and what every store of it offers."""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from dataclasses import dataclass

import orjson

__all__ = ["CacheBackend", "CacheUnavailable", "CachedResponse", "pack", "unpack"]

_MAGIC = b"C254R1"
_HEAD = struct.Struct(">I")


class CacheUnavailable(RuntimeError):
    """The backend could not be reached; the caller answers from the store instead."""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A finished response: status, raw ASGI headers (no content-length), body bytes."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def size(self) -> int:
        """Bytes it holds, roughly: what the in-process LRU budgets by."""
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers) + 128


def pack(entry: CachedResponse) -> bytes:
    """One string for Redis: magic, header length, headers as JSON, then the body."""
    head = orjson.dumps(
        [entry.status, [[k.decode("latin-1"), v.decode("latin-1")] for k, v in entry.headers]]
    )
    return b"".join((_MAGIC, _HEAD.pack(len(head)), head, entry.body))


def unpack(raw: bytes) -> CachedResponse | None:
    """The entry, or None for anything this version did not write."""
    start = len(_MAGIC) + _HEAD.size
    if not raw.startswith(_MAGIC) or len(raw) < start:
        return None
    (length,) = _HEAD.unpack_from(raw, len(_MAGIC))
    try:
        status, headers = orjson.loads(raw[start : start + length])
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return None
    pairs = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)
    return CachedResponse(status, pairs, raw[start + length :])


class CacheBackend(ABC):
    """A key-value store of `CachedResponse`s with TTLs, plus a lock per key.

    Methods raise `CacheUnavailable` when the store cannot be reached."""

    name: str

    @abstractmethod
    async def get(self, key: str) -> CachedResponse | None: ...

    @abstractmethod
    async def set(self, key: str, entry: CachedResponse, ttl: float) -> None: ...

    async def acquire(self, key: str, ttl_ms: int) -> str | None:
        """A token if this process may compute `key` now, None if another holds it.
        A single-process store never needs to wait (single-flight covers it)."""
        return "local"

    async def release(self, key: str, token: str) -> None:  # noqa: B027 - optional hook
        """Give back a lock from `acquire` (only if still ours)."""

    async def locked(self, key: str) -> bool:
        """Whether some process holds the lock of `key`."""
        return False

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Close the connections of the running event loop."""
