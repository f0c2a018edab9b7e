"""ASGI plumbing: answer from a `CachedResponse`, or run the app and keep what it sent.

The app's response goes to the client as it is produced (nothing waits for the cache);
a copy of the body is kept up to a size cap, so a miss costs one extra reference per
chunk, not a re-encoding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .backend import CachedResponse

__all__ = ["X_CACHE", "Captured", "cacheable", "run_capturing", "run_marked", "send_entry"]

X_CACHE = b"x-cache"
# Headers a replay must not repeat: recomputed (length), per-response, or not storable.
_NOT_KEPT = frozenset(
    {b"content-length", b"date", b"server", b"transfer-encoding", b"connection", X_CACHE}
)


@dataclass(slots=True)
class Captured:
    """What the app sent: complete when the last body chunk arrived within the cap."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    complete: bool = False
    overflow: bool = False

    def entry(self) -> CachedResponse | None:
        if not self.complete:
            return None
        kept = tuple((k, v) for k, v in self.headers if k.lower() not in _NOT_KEPT)
        return CachedResponse(self.status, kept, b"".join(self.chunks))


def cacheable(captured: Captured) -> bool:
    """A complete 200 that neither sets a cookie nor asks not to be stored."""
    if not captured.complete or captured.status != 200:
        return False
    for name, value in captured.headers:
        name = name.lower()
        if name == b"set-cookie":
            return False
        if name == b"cache-control" and (b"no-store" in value or b"private" in value):
            return False
    return True


def _marked(headers: Any, x_cache: bytes) -> list[tuple[bytes, bytes]]:
    return [*(h for h in headers if h[0].lower() != X_CACHE), (X_CACHE, x_cache)]


async def send_entry(send: Send, entry: CachedResponse, x_cache: bytes) -> None:
    """Answer with `entry`: one start message, one body message."""
    headers = [
        *entry.headers,
        (b"content-length", str(len(entry.body)).encode()),
        (X_CACHE, x_cache),
    ]
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})


async def run_marked(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, x_cache: bytes
) -> None:
    """Run the app untouched except for the `X-Cache` header."""

    async def marked_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": _marked(message.get("headers", ()), x_cache)}
        await send(message)

    await app(scope, receive, marked_send)


async def run_capturing(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    x_cache: bytes,
    max_body: int,
    on_complete: Callable[[Captured], None] | None = None,
) -> Captured:
    """Run the app, forward its response (marked), and keep a copy up to `max_body`.
    `on_complete` sees the copy once its last chunk arrived, before that chunk is sent:
    a client that reads slowly holds up the sending, not what was captured."""
    captured = Captured()

    async def capturing_send(message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            captured.status = message["status"]
            captured.headers = list(message.get("headers", ()))
            message = {**message, "headers": _marked(captured.headers, x_cache)}
        elif kind == "http.response.body" and not captured.overflow:
            body = message.get("body", b"")
            captured.size += len(body)
            if captured.size > max_body:
                captured.overflow = True
                captured.chunks.clear()
            elif body:
                captured.chunks.append(body)
            if not message.get("more_body", False) and not captured.overflow:
                captured.complete = True
                if on_complete is not None:
                    on_complete(captured)
        await send(message)

    await app(scope, receive, capturing_send)
    return captured
