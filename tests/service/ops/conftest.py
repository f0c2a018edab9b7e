"""Fixtures for the operations endpoints: a store on either backend, a client per app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store import PriceStore, open_store


@pytest.fixture
def backend_store(store_url: str) -> Iterator[PriceStore]:
    """An empty, migrated store on DuckDB and on PostgreSQL (the root `store_url` params)."""
    with open_store(store_url) as store:
        yield store


@pytest.fixture
def serve(
    live_server: Callable[[FastAPI], str],
) -> Iterator[Callable[..., tuple[FastAPI, httpx.Client]]]:
    """`serve(store, prepare=None, settings=None)`: an app over `store` (default settings:
    auth off, in-process cache) on a live server, and an httpx client on it.
    `prepare(app)` runs before the server starts."""
    with ExitStack() as stack:

        def start(
            store: PriceStore,
            prepare: Callable[[FastAPI], None] | None = None,
            settings: Settings | None = None,
        ) -> tuple[FastAPI, httpx.Client]:
            app = create_app(store, settings=settings or Settings(auth=False))
            if prepare is not None:
                prepare(app)
            client = httpx.Client(base_url=live_server(app), timeout=10.0)
            stack.enter_context(client)
            return app, client

        yield start


@pytest.fixture
def store_outage(
    backend_store: PriceStore, request: pytest.FixtureRequest
) -> Callable[[], AbstractContextManager[None]]:
    """`with store_outage():` the store cannot be reached. DuckDB: the store is closed
    (for good). PostgreSQL: the database refuses connections and its sessions are ended
    (a closed PostgresStore would quietly reconnect its readers), then allowed again."""

    @contextmanager
    def outage() -> Iterator[None]:
        if backend_store.backend == "duckdb":
            backend_store.close()
            yield
            return
        import psycopg

        admin = request.getfixturevalue("postgres_server")
        database = urlsplit(backend_store.url).path.lstrip("/")  # type: ignore[attr-defined]
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            try:
                con.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )
                yield
            finally:
                con.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")

    return outage
