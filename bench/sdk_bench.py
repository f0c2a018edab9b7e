"""SDK benchmark: one node-month of 5-minute prices through `carbon254.Client`, Arrow vs
JSON on the wire, end to end (request -> pandas DataFrame), in the same run.

Data: one PJM real-time node (`PJM.RT5.LMP.51288`) for January 2024, 31 days x 288 =
8,928 rows with energy, congestion and loss, in a fresh DuckDB store. The API runs in a
**separate process** (uvicorn, uvloop, httptools, one worker, auth off, the in-process
response cache as `carbon254 serve` configures it without Redis), so the client's decode
and the server's encode do not share one interpreter. The client is the SDK as a user
calls it: `client.prices(node, START, END, wire=...).to_pandas()`, START/END being the
PJM January's local-day bounds in UTC.

Two regimes, each timed with Arrow and JSON interleaved (A, J, A, J, ...), after one
warm-up of each; every figure is the median of `--runs`:

- **cold**: every request is a cache miss (a different `page_size`, all >= the row count,
  makes a new cache key for the same single page): the store read, the server's encode,
  the transfer, the SDK's decode and the DataFrame.
- **warm**: the same request repeated, answered from the server's response cache: what
  the wire format itself costs the client.

`arrow_speedup` (the SUMMARY figure and the issue's target, >= 5x) is the cold JSON
median over the cold Arrow median: the end-to-end cost a user sees for a new query.
Before timing, the two wires' DataFrames are checked equal. `--quick`: 5 runs per cell
(the default is 15). The last line is `SUMMARY arrow_ms=... json_ms=... arrow_speedup=...`.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa

NODE = "PJM.RT5.LMP.51288"
# PJM's January as local market days, in UTC (05:00Z to 05:00Z): no DST change, 31 x 288.
START, END = "2024-01-01T05:00:00Z", "2024-02-01T05:00:00Z"
ROWS = 31 * 288


def month_table() -> pa.Table:
    """One node-month of canonical 5-minute prices; the components add up to the price."""
    from carbon254.core import Iso, market_day, validate_prices

    first, last = (
        market_day(Iso.PJM, date(2024, 1, 1))[0],
        market_day(Iso.PJM, date(2024, 1, 31))[1],
    )
    starts = pd.date_range(first, last, freq="5min", inclusive="left")
    n = len(starts)
    rng = np.random.default_rng(254)
    energy = np.round(25 + 10 * np.sin(np.arange(n) / 288 * 2 * np.pi) + rng.normal(0, 3, n), 2)
    congestion = np.round(rng.normal(0, 2, n), 2)
    loss = np.round(energy * 0.02, 2)
    ts = pa.timestamp("us", tz="UTC")
    start = pa.array(starts, ts)
    table = pa.table({
        "instrument": [NODE] * n,
        "interval_start": start,
        "interval_end": pa.array(starts + pd.Timedelta(minutes=5), ts),
        "value": np.round(energy + congestion + loss, 2),
        "energy": energy,
        "congestion": congestion,
        "loss": loss,
    })  # fmt: skip
    return validate_prices(table)


# -- the server process ----------------------------------------------------------------------
def serve(store_url: str) -> None:
    """`--serve`: the API over the store, as `carbon254 serve` runs it (auth off)."""
    import uvicorn

    from carbon254.service import create_app
    from carbon254.service.settings import Settings
    from carbon254.store import open_store

    settings = dataclasses.replace(Settings.from_env(), auth=False, redis_url=None)
    app = create_app(open_store(store_url), owns_store=True, settings=settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning",
                            access_log=False, lifespan="on")  # fmt: skip
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def server(store_url: str, log: Path) -> Iterator[str]:
    command = [sys.executable, __file__, "--serve", store_url]
    env = {**os.environ, "CARBON254_AUTH": "off"}
    with log.open("ab") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=env)
    try:
        line = process.stdout.readline().decode() if process.stdout else ""
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"server did not start ({line!r}); see {log}")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- measuring -------------------------------------------------------------------------------
def _timed(fn: Callable[[], pd.DataFrame]) -> float:
    started = time.perf_counter()
    frame = fn()
    elapsed = (time.perf_counter() - started) * 1000
    if len(frame) != ROWS:
        raise AssertionError(f"expected {ROWS} rows, got {len(frame)}")
    return elapsed


# Arrow, then JSON decoded as `pip install carbon254` does (the standard library), then as
# the SDK does when orjson is importable (the `server` extra installs it).
CELLS = ("arrow", "json", "json_orjson")


@contextmanager
def _decoder(cell: str) -> Iterator[None]:
    """The SDK picks orjson when importable; `json` cells hide it (as a plain install)."""
    from carbon254.client import _wire

    saved = _wire._orjson
    if cell == "json":
        _wire._orjson = None
    try:
        yield
    finally:
        _wire._orjson = saved


def measure(url: str, runs: int) -> dict[str, float]:
    import carbon254
    from carbon254.client import _wire

    if _wire._orjson is None:
        raise SystemExit("orjson is not installed: install the `server` extra to run this")
    results: dict[str, float] = {}
    sizes = itertools.count(100_000, -1)
    with carbon254.Client(url, timeout=60, retries=0) as client:

        def fetch(cell: str, page_size: int | None = None) -> pd.DataFrame:
            wire = "arrow" if cell == "arrow" else "json"
            with _decoder(cell):
                frame = client.prices(NODE, START, END, wire=wire, page_size=page_size)
                return frame.to_pandas()

        first = {cell: fetch(cell) for cell in CELLS}  # warm-up, and the correctness check
        for cell in CELLS[1:]:
            pd.testing.assert_frame_equal(first["arrow"], first[cell])
        arrow = first["arrow"]
        if len(arrow) != ROWS or str(arrow["interval_start"].dtype) != "datetime64[us, UTC]":
            raise AssertionError(f"unexpected frame: {len(arrow)} rows, {arrow.dtypes}")
        samples = {f"{regime}_{cell}": [] for regime in ("cold", "warm") for cell in CELLS}
        for _ in range(runs):
            for cell in CELLS:
                # A page size never asked before: a cache miss, for the same single page.
                size = next(sizes)
                samples[f"cold_{cell}"].append(_timed(lambda c=cell, n=size: fetch(c, n)))
            for cell in CELLS:
                samples[f"warm_{cell}"].append(_timed(lambda c=cell: fetch(c)))
        for key, values in samples.items():
            results[f"{key}_ms"] = statistics.median(values)
            results[f"{key}_min_ms"] = min(values)
        results.update(_decode_only(client, runs))
    return results


def _decode_only(client: object, runs: int) -> dict[str, float]:
    """Client time alone: response bytes in hand -> DataFrame, as the SDK decodes them."""
    from carbon254.client._wire import read_page
    from carbon254.core import PRICE_SCHEMA

    http = client._http  # type: ignore[attr-defined]
    params = {"instruments": NODE, "start": START, "end": END}
    out: dict[str, float] = {}
    for cell in CELLS:
        accept = "application/vnd.apache.arrow.stream" if cell == "arrow" else "application/json"
        response = http.get("/api/v1/prices", params=params, headers={"Accept": accept})
        out[f"{cell}_bytes"] = len(response.content)
        times = []
        with _decoder(cell):
            for _ in range(max(runs, 5)):
                started = time.perf_counter()
                read_page(response, PRICE_SCHEMA).table.to_pandas()
                times.append((time.perf_counter() - started) * 1000)
        out[f"decode_{cell}_ms"] = statistics.median(times)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--quick", action="store_true", help="5 runs per cell")
    p.add_argument("--runs", type=int, help="runs per cell (default 15, 5 with --quick)")
    p.add_argument("--serve", metavar="STORE_URL", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.serve)
        return
    runs = args.runs or (5 if args.quick else 15)
    if runs < 5:
        p.error("--runs must be at least 5 (medians of 5 or more)")
    import carbon254
    from carbon254.store import open_store

    with tempfile.TemporaryDirectory(prefix="c254_sdk_bench_") as tmp:
        store_url = f"duckdb://{Path(tmp) / 'prices.duckdb'}"
        with open_store(store_url) as store:
            store.upsert_prices(month_table(), source="bench")
        log = Path(tmp) / "server.log"
        with server(store_url, log) as url:
            results = measure(url, runs)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    import orjson

    print(f"carbon254 {carbon254.__version__}, httpx {httpx.__version__}, pyarrow "
          f"{pa.__version__}, pandas {pd.__version__}, orjson {orjson.__version__}; "
          f"{runs} runs per cell")  # fmt: skip
    print(f"{NODE} {START}..{END}: {ROWS:,} rows; body arrow {results['arrow_bytes']:,.0f} B, "
          f"json {results['json_bytes']:,.0f} B")  # fmt: skip
    print(
        "median ms (min)    arrow           json (stdlib)     json (orjson)   "
        "json/arrow  json_orjson/arrow"
    )
    for regime in ("cold", "warm"):
        row = [f"{results[f'{regime}_{c}_ms']:7.2f} ({results[f'{regime}_{c}_min_ms']:6.2f})"
               for c in CELLS]  # fmt: skip
        a = results[f"{regime}_arrow_ms"]
        stdlib, fast = results[f"{regime}_json_ms"] / a, results[f"{regime}_json_orjson_ms"] / a
        ratios = f"{stdlib:9.1f}x {fast:13.1f}x"
        print(f"{regime:<18} " + "   ".join(row) + f"   {ratios}")
    decode = [results[f"decode_{c}_ms"] for c in CELLS]
    print(f"client decode only (bytes -> DataFrame): arrow {decode[0]:.2f} ms, json (stdlib) "
          f"{decode[1]:.2f} ms ({decode[1] / decode[0]:.1f}x), json (orjson) {decode[2]:.2f} ms "
          f"({decode[2] / decode[0]:.1f}x)")  # fmt: skip
    arrow_ms, json_ms = results["cold_arrow_ms"], results["cold_json_ms"]
    print(f"SUMMARY arrow_ms={arrow_ms:.3f} json_ms={json_ms:.3f} "
          f"arrow_speedup={json_ms / arrow_ms:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
