"""`create_app(store)`: the FastAPI application over one `PriceStore`.

The application is assembled from parts: `rest` (the `/api/v1` routers) and `graphql`
(`/graphql`). `carbon254 serve` mounts every part on one port; `serve --service graphql`
mounts one part on its historical port. Health, readiness and metrics are always there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from ..ingest.events import ChangeFeed, open_change_feed, set_default_change_feed
from ..store.base import PriceStore
from .auth import install_auth
from .cache import install_cache
from .metrics import install_metrics
from .openapi import install_openapi
from .params import Limits
from .problems import install_problem_handlers
from .routes import curves, health, instruments, lineage, locations, prices, quality, spreads
from .settings import Settings

__all__ = ["PARTS", "create_app"]

PARTS = ("rest", "graphql")
"""The parts an application can mount; `create_app(parts=...)` picks some."""

# Routers of the `rest` part. Each module has one `router`.
_REST_ROUTERS = (prices, spreads, instruments, locations, quality, lineage, curves)


def create_app(
    store: PriceStore,
    *,
    owns_store: bool = False,
    limits: Limits | None = None,
    settings: Settings | None = None,
    changes: ChangeFeed | None = None,
    parts: Collection[str] = PARTS,
) -> FastAPI:
    """The API over `store` (kept on `app.state.store`).

    With `owns_store=True` the store is closed when the application shuts down;
    otherwise the caller keeps it and closes it. `settings` default to the environment
    (`Settings.from_env()`); `changes` is the change feed ingestion publishes to
    (default: one opened from the settings' Redis URL, or an in-process feed).
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown part(s) {sorted(unknown)}; known: {', '.join(PARTS)}")
    settings = settings if settings is not None else Settings.from_env()
    owns_feed = changes is None
    feed = (
        changes
        if changes is not None
        else open_change_feed(settings.redis_url, settings.redis_namespace)
    )
    if owns_feed:  # ingestion in this process (the embedded scheduler) publishes to it
        set_default_change_feed(feed)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owns_feed:
                feed.close()
                set_default_change_feed(None, replacing=feed)  # ingestion opens its own
            if owns_store:
                store.close()

    app = FastAPI(
        title="carbon254",
        version=__version__,
        summary="North American power-market prices with revision history.",
        description="Errors are RFC 9457 problem details (`application/problem+json`).",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.limits = limits or Limits()
    app.state.settings = settings
    app.state.changes = feed
    app.state.parts = tuple(p for p in PARTS if p in parts)
    install_problem_handlers(app)
    install_openapi(app, auth=settings.auth)
    app.include_router(health.router)
    if "rest" in parts:
        for module in _REST_ROUTERS:
            app.include_router(module.router)
    if "graphql" in parts:
        from .graphql import graphql_router  # Strawberry loads only when mounted

        app.include_router(graphql_router())
    # Middleware: the last installed runs first. Requests pass metrics, then auth (which
    # refuses before anything is served), then the response cache.
    install_cache(app)
    install_auth(app)
    install_metrics(app)
    return app
