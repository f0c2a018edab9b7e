"""Helpers for the API tests: a live uvicorn server, a DuckDB store, price tables."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import uvicorn
from fastapi import FastAPI

from carbon254.core import PRICE_SCHEMA, InstrumentId, interval_starts, validate_prices
from carbon254.store.base import PriceStore

PJM_DA = "PJM.DA.LMP.51288"
CAISO_DA = "CAISO.DA.LMP.TH_NP15_GEN-APND"
ERCOT_RT15 = "ERCOT.RT15.SPP.HB_NORTH"
FALL_BACK = date(2024, 11, 3)
SPRING_FORWARD = date(2024, 3, 10)


def price_table(instrument: str, starts: list[datetime], values: list[float]) -> pa.Table:
    """Rows in `PRICE_SCHEMA`; LMPs get components that add up (CAISO also ghg), others none."""
    iid = InstrumentId.parse(instrument)
    n = len(starts)
    columns: dict[str, list] = {
        "instrument": [instrument] * n,
        "interval_start": starts,
        "interval_end": [s + iid.market.interval for s in starts],
        "value": values,
    }
    if iid.product.has_components:
        columns["congestion"] = [-0.0015 * (i % 7) for i in range(n)]
        columns["loss"] = [1 / 3 + i / 1000 for i in range(n)]
        columns["ghg"] = [0.1 * (i % 3) for i in range(n)] if iid.iso == "CAISO" else [None] * n
        columns["energy"] = [
            values[i] - columns["congestion"][i] - columns["loss"][i] - (columns["ghg"][i] or 0.0)
            for i in range(n)
        ]
    table = pa.Table.from_pydict(columns)
    return validate_prices(table.select([n for n in PRICE_SCHEMA.names if n in columns]))


def day_prices(instrument: str, day: date, base: float = 20.0) -> pa.Table:
    """One local market day of prices, every interval of the day."""
    iid = InstrumentId.parse(instrument)
    starts = [t.to_pydatetime() for t in interval_starts(iid.iso, day, iid.market.interval)]
    values = [base + 0.1 * i + 0.123456789 for i in range(len(starts))]
    return price_table(instrument, starts, values)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@contextmanager
def run_server(app: FastAPI, host: str = "127.0.0.1", timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` with uvicorn in a background thread on a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def open_duckdb(path: Path) -> PriceStore:
    from carbon254.store.duckdb_store import DuckDBStore

    store = DuckDBStore(path)
    store.migrate()
    return store
