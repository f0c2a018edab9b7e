"""`serve()`: run the API under uvicorn in this process."""

from __future__ import annotations

import logging

import uvicorn

from .app import create_app

__all__ = ["serve"]


def serve(
    store_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    log_level: str = "info",
    scheduler: bool = False,
) -> None:
    """Open the store at `store_url` (default: the DuckDB file in the user's data
    directory) and serve the API on `host:port` until interrupted.

    Always exactly one uvicorn worker process. A DuckDB database file can be opened for
    writing by one process only, and the app holds its store open for its whole life, so
    a second worker would fail to open the file (or, read-only, miss writes made by
    ingest). To scale out, run the PostgreSQL backend behind several single-worker
    processes. Request handlers run in the worker's thread pool.

    With `scheduler=True` the ingestion jobs run in this process too, on the same store
    (`ingest.scheduler`; `CARBON254_SCHEDULER=off` still disables them), and stop
    cleanly before the store closes.
    """
    from ..store import open_store  # the factory lives with the backends

    store = open_store(store_url)
    jobs = None
    try:
        if scheduler:
            from ..ingest.scheduler import start_embedded

            jobs = start_embedded(store, log_level=log_level)
        app = create_app(store)
        uvicorn.run(app, host=host, port=port, workers=1, log_level=log_level)
    finally:
        if jobs is None or jobs.stop():
            store.close()
        else:
            # A job is still inside a batch: closing the store under it could corrupt
            # nothing (the batch is one transaction) but would fail it noisily; process
            # exit rolls the open transaction back instead.
            logging.getLogger("carbon254").warning(
                "scheduler: a job was still running at shutdown; its batch is rolled back"
            )
