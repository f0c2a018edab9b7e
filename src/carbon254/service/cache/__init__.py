"""The response cache: cache-aside of serialized API responses (see docs/cache.md).

`install_cache(app)` picks the backend from `app.state.settings` (Redis when
`redis_url` is set, else an in-process LRU of `cache_max_bytes`), keys entries by the
generations of `app.state.changes`, keeps the cache on `app.state.cache` and adds the
middleware.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from .backend import CacheBackend, CachedResponse, CacheUnavailable
from .keys import CACHEABLE_PATHS, cache_key, describe_request
from .memory import MemoryBackend
from .middleware import CacheMiddleware
from .redis_backend import RedisBackend
from .response_cache import ResponseCache

__all__ = [
    "CACHEABLE_PATHS",
    "CacheBackend",
    "CacheMiddleware",
    "CacheUnavailable",
    "CachedResponse",
    "MemoryBackend",
    "RedisBackend",
    "ResponseCache",
    "cache_key",
    "describe_request",
    "install_cache",
]


def install_cache(app: FastAPI, *, backend: CacheBackend | None = None) -> ResponseCache:
    """Add the response cache to `app` (call where create_app installs middleware)."""
    settings = app.state.settings
    if backend is None:
        if settings.redis_url:
            backend = RedisBackend(settings.redis_url)
        else:
            backend = MemoryBackend(settings.cache_max_bytes)
    cache = ResponseCache(
        backend,
        app.state.changes,
        namespace=settings.redis_namespace,
        history_ttl=settings.cache_ttl_seconds,
        live_ttl=settings.cache_live_ttl_seconds,
    )
    app.state.cache = cache
    app.add_middleware(CacheMiddleware, cache=cache)
    _close_on_shutdown(app, cache)
    return cache


def _close_on_shutdown(app: FastAPI, cache: ResponseCache) -> None:
    """Wrap the app's lifespan so the cache's connections close in their own loop."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(target: Any) -> AsyncIterator[Any]:
        try:
            async with inner(target) as state:
                yield state
        finally:
            await cache.aclose()

    app.router.lifespan_context = lifespan
