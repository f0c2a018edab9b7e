"""Request latency per route template, as a pure ASGI middleware (no per-request objects
beyond one closure, so it costs microseconds).

The route label is the template the router matched (`/api/v1/curves/{instrument}`),
never the raw path: raw paths would make one time series per instrument. A request an
outer layer answered before routing (auth refusing it, the cache serving it) is matched
against the application's routes here; a path no route matches is `<unmatched>`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

try:
    from fastapi.routing import iter_route_contexts as _route_contexts
except ImportError:  # FastAPI before 0.16x listed included routes flat, with full paths

    def _route_contexts(routes: list) -> list:  # type: ignore[misc]
        return routes


__all__ = ["BUCKETS", "UNMATCHED", "HttpMetrics", "RequestMetrics"]

# 1 ms … 10 s: a cache hit is ~1-5 ms, an uncached series read tens of ms.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MEMO_SIZE = 4096  # raw path -> template, for requests answered before routing


class RequestMetrics:
    """The request series of one application, and how a request gets its labels."""

    def __init__(self, registry: CollectorRegistry, routes: Callable[[], list]) -> None:
        self._routes = routes  # the application's routes, indexed when first needed
        self._templates: dict[int, tuple[str, bool]] = {}  # id(route) -> (template, absolute)
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        self._indexed: list[Any] = []  # keeps the indexed routes (and so their ids) alive
        self._memo: dict[str, str] = {}
        self._children: dict[tuple[str, str, str], Any] = {}
        self.duration = Histogram(
            "carbon254_http_request_duration_seconds",
            "HTTP request duration, from the request arriving to the response sent, by "
            "method, route template and status code.",
            ("method", "route", "status"),
            registry=registry,
            buckets=BUCKETS,
        )
        self.in_flight = Gauge(
            "carbon254_http_requests_in_flight",
            "HTTP requests being served now.",
            registry=registry,
        )
        self.websockets = Gauge(
            "carbon254_websockets_open",
            "Open websocket connections (GraphQL subscriptions).",
            registry=registry,
        )

    def observe(self, scope: Scope, root_path: str, status: int, elapsed: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        key = (method, self._template(scope, root_path), str(status))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.duration.labels(*key)
        child.observe(elapsed)

    def _index(self) -> None:
        """Every route with its full template: a router included under a prefix keeps
        its routes' own (shorter) paths, so the template comes from the app's view."""
        contexts = list(_route_contexts(self._routes()))
        self._indexed = [getattr(c, "original_route", c) for c in contexts]
        self._templates = {
            id(route): (c.path_format, True)
            for route, c in zip(self._indexed, contexts, strict=True)
            if getattr(c, "path_format", None)
        }
        self._patterns = [
            (c.path_regex, c.path_format)
            for c in contexts
            if getattr(c, "path_regex", None) is not None and getattr(c, "path_format", None)
        ]
        self._memo.clear()

    def _template(self, scope: Scope, root_path: str) -> str:
        route = scope.get("route")
        if route is not None:
            known = self._templates.get(id(route))
            if known is None:
                self._index()
                known = self._templates.get(id(route))
                if known is None:  # a route of a mounted sub-application
                    self._indexed.append(route)
                    known = self._templates[id(route)] = (_own_template(route), False)
            template, absolute = known
            if absolute:
                return template
            # Inside a mounted sub-application the route is relative to its mount point.
            return scope.get("root_path", "")[len(root_path) :] + template
        path = scope["path"]
        template = self._memo.get(path)
        if template is None:
            if not self._patterns:
                self._index()
            template = next((t for p, t in self._patterns if p.match(path)), UNMATCHED)
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[path] = template
        return template


def _own_template(route: Any) -> str:
    return getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED


class HttpMetrics:
    """Pure ASGI middleware: times each HTTP request into `metrics`."""

    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        metrics = self.metrics
        if kind == "websocket":
            metrics.websockets.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                metrics.websockets.dec()
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers if the application raises
        root_path = scope.get("root_path", "")

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.in_flight.inc()
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - began
            metrics.in_flight.dec()
            metrics.observe(scope, root_path, status, elapsed)
