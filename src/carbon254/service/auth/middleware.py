"""`AuthMiddleware`: every HTTP request and websocket is authenticated, authorized and
rate-limited before the application sees it (pure ASGI: no request body is touched).

Credentials: `X-API-Key: c254_...`, or `Authorization: Bearer <value>` where a value
starting `c254_` is an API key and anything else an OIDC access token. Browsers cannot
set websocket headers, so a websocket may also pass `?access_token=` or `?api_key=`.
Refusals are problem bodies (401 with `WWW-Authenticate`, 403 naming the scope, 429 with
`Retry-After`); a websocket is accepted and closed at once with 4401, 4403 or 4429, so
the client sees why (a refusal before accepting reaches it only as an HTTP 403).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..problems import Problem, problem_response
from .authenticator import Authenticator, Refusal
from .principal import ANONYMOUS, Principal

__all__ = ["EXEMPT_PATHS", "PUBLIC", "AuthMiddleware"]

log = logging.getLogger("carbon254.service.auth")

EXEMPT_PATHS = frozenset(
    ["/health", "/api/v1/health", "/ready", "/metrics", "/openapi.json", "/redoc"]
)
"""Open to anyone: probes, metrics, the API's own documentation (and `/docs/...`)."""

PUBLIC = Principal("anonymous", frozenset(), "anonymous")
"""The principal of a request to an exempt path when auth is on: no scopes."""

_READ_METHODS = frozenset(["GET", "HEAD", "OPTIONS"])
_WS_CLOSE = {401: 4401, 403: 4403, 429: 4429, 503: 1013}
BANNER = (
    "*** authentication is OFF (CARBON254_AUTH=off): demo only -- every request is "
    "anonymous with every scope; never expose this server ***"
)


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lower-case name (the last of repeated ones)."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}


def _exempt(scope: Scope, headers: dict[str, str]) -> bool:
    path = scope["path"]
    if path in EXEMPT_PATHS or path == "/docs" or path.startswith("/docs/"):
        return True
    # GraphiQL's page (a browser asking for HTML without a query); queries need auth.
    return (
        path == "/graphql"
        and scope["type"] == "http"
        and scope["method"] == "GET"
        and "text/html" in headers.get("accept", "")
        and "query" not in parse_qs(scope.get("query_string", b"").decode("latin-1"))
    )


def required_scope(scope: Scope) -> str:
    """Reads need `read`, writes `trade`. GraphQL (POST for queries too, and its
    websocket) needs `read` here; its mutations check `trade` on the principal."""
    if scope["type"] == "websocket" or scope["path"] == "/graphql":
        return "read"
    return "read" if scope["method"] in _READ_METHODS else "trade"


@dataclass
class AuthMiddleware:
    app: ASGIApp
    auth: Authenticator
    _banner_shown: bool = field(default=False, init=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, self._lifespan(receive), send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if not self.auth.enabled:
            state["principal"] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if _exempt(scope, headers):
            state["principal"] = PUBLIC
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.auth.authenticate(scope, headers)
            # Every request of a key counts, refused for its scope or not.
            decision = await self.auth.limiter.check(principal)
            if decision is not None and not decision.allowed:
                raise Refusal.rate_limited(decision, principal)
            need = required_scope(scope)
            if not principal.allows(need):
                raise Refusal.forbidden(need, principal)
        except Refusal as refusal:
            await self._refuse(refusal, scope, receive, send)
            return
        state["principal"] = principal
        if decision is not None and kind == "http":
            send = _adding_headers(send, decision.headers())
        await self.app(scope, receive, send)

    async def _refuse(self, refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = Problem(
                refusal.status, refusal.detail, type=refusal.type, headers=refusal.headers
            )
            await problem_response(problem, scope["path"])(scope, receive, send)
            return
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        accept: Message = {"type": "websocket.accept"}
        if scope.get("subprotocols"):
            accept["subprotocol"] = scope["subprotocols"][0]
        await send(accept)
        reason = refusal.detail.encode()[:120].decode("utf-8", "ignore")
        code = _WS_CLOSE.get(refusal.status, 1008)
        await send({"type": "websocket.close", "code": code, "reason": reason})

    def _lifespan(self, receive: Receive) -> Receive:
        async def wrapped() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._announce()
            elif message["type"] == "lifespan.shutdown":
                await self.auth.aclose()
            return message

        return wrapped

    def _announce(self) -> None:
        if self._banner_shown:
            return
        self._banner_shown = True
        if not self.auth.enabled:
            log.warning(BANNER)
            return
        log.info("authentication: %s", self.auth.describe())


def _adding_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return wrapped
