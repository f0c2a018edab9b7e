"""`CacheMiddleware`: hands GETs of cacheable paths to the `ResponseCache`.

Pure ASGI (no `BaseHTTPMiddleware`): a hit is two `send` calls with bytes that were
stored, and a miss streams the route's response through untouched but for `X-Cache`.
It sits innermost (after auth), so only authorized requests reach it, and the cached
answers never depend on who asked.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .keys import CACHEABLE_PATHS
from .response_cache import ResponseCache

__all__ = ["CacheMiddleware"]


class CacheMiddleware:
    def __init__(self, app: ASGIApp, cache: ResponseCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"] not in CACHEABLE_PATHS
        ):
            return await self.app(scope, receive, send)
        await self.cache.serve(scope, receive, send, self.app)
