"""`serve()`: run the API under uvicorn in this process."""

from __future__ import annotations

import logging

import uvicorn

from .app import PARTS, create_app
from .services import DEFAULT_PORT, resolve_service

__all__ = ["serve"]


def serve(
    store_url: str | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    log_level: str = "info",
    scheduler: bool = False,
    service: str | None = None,
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

    With `service` (`ml`, `graphql`, `risk`, `lmp`) only that service is mounted, on its
    historical port unless `port` says otherwise; `ServiceNotBuilt` if its engine does not
    exist yet (raised before the store is opened).
    """
    from ..store import open_store  # the factory lives with the backends

    parts = PARTS
    if service is not None:
        chosen = resolve_service(service)
        parts = chosen.parts
        port = chosen.port if port is None else port
    port = DEFAULT_PORT if port is None else port
    store = open_store(store_url)
    jobs = None
    try:
        if scheduler:
            from ..ingest.scheduler import start_embedded

            jobs = start_embedded(store, log_level=log_level)
        app = create_app(store, parts=parts)
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
