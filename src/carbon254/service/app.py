"""`create_app(store)`: the FastAPI application over one `PriceStore`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import __version__
from ..store.base import PriceStore
from .params import Limits
from .problems import install_problem_handlers
from .routes import health, instruments, prices

__all__ = ["create_app"]


def create_app(
    store: PriceStore, *, owns_store: bool = False, limits: Limits | None = None
) -> FastAPI:
    """The API over `store` (kept on `app.state.store`).

    With `owns_store=True` the store is closed when the application shuts down;
    otherwise the caller keeps it and closes it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
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
    install_problem_handlers(app)
    for module in (health, prices, instruments):
        app.include_router(module.router)
    return app
