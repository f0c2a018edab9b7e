"""API benchmark: node-day price requests against a real uvicorn server, open loop.

Store: a DuckDB file of PJM-like real-time prices (`--nodes` 500 x `--days` 31 market days
of 5-minute intervals with energy/congestion/loss in cents, `store_bench.make_day`), built
through `upsert_prices` once and kept under `bench/.data/` (`--quick`: a temp store).

Server: `_api_server.py` in its own process, `create_app` as `carbon254 serve` builds it
(one uvicorn worker, uvloop, httptools) with the application's response cache, once per
`--backends` entry: `redis` (`--redis-url`, the bench's keys flushed before) and `memory`
(the in-process LRU). Auth is on (an API key made through the store) when the service
has it, else `Settings(auth=False)`; the header says which.

Load: this process, `--connections` keep-alive HTTP/1.1 connections (`_loadgen.Pool`),
open loop at `--rate` requests/s for `--duration` s per phase: request i is due at
t0 + i/rate, and its latency runs from that due time (no coordinated omission). Per
server, after a warm-up (each hot key read twice, a few unmeasured cold keys):

1. **floor**: `GET /bench/floor`, a constant body the size of a node-day JSON response,
   through the same middleware with no application work;
2. **mixed**: `GET /api/v1/prices` for one node-day, `--hot-share` of them from a small
   set of hot keys ("cached": every one a hit) and the rest each a (node, day) never
   requested before ("uncached": a miss that reads the store), interleaved.

Errors: non-200, timeouts, and hot responses of the wrong size. The cache's own counters
(`/bench/stats`) are checked against the hot/cold counts.

Decode (`_api_decode`): one node-month (31 days x 288 = 8,928 rows) fetched as JSON and
as Arrow; the client-side decode to a pandas DataFrame with UTC timestamps is timed
3 x `--decode-runs` times each (median); `arrow_decode_speedup` = JSON (decoded the
vectorized way the SDK does) / Arrow; JSON parsed by `pd.to_datetime` is printed too.

The last line is `SUMMARY p99_cached_ms=... p99_uncached_ms=... p99_floor_ms=... errors=...
arrow_decode_speedup=...`, with the first backend's latencies and errors over all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

import _api_setup
from _api_decode import JSON, decode_speedup
from _api_server import Served, serving
from _loadgen import Pool, Request, Result, TagStats, run_open_loop
from carbon254.core import Iso, interval_starts
from carbon254.store import open_store
from store_bench import FIRST_DAY, HERE, STEP, instrument_ids, load, make_day

TARGETS = [  # (summary key, bound): p99 latencies below, the decode speedup at least
    ("p99_cached_ms", 10.0),
    ("p99_uncached_ms", 50.0),
    ("arrow_decode_speedup", 10.0),
]
T = TypeVar("T")
LABELS = {"floor": "floor", "hot": "cached", "cold": "uncached"}


# -- data -----------------------------------------------------------------------------
def ensure_store(url: str, nodes: int, days: int) -> None:
    """Build (or finish) the store: `days` PJM market days x `nodes`, a batch per day."""
    per_day = nodes * 288
    with open_store(url) as store:
        counts = store.status().counts
        done, rest = divmod(counts["prices"], per_day)
        if rest or counts["instruments"] not in (0, nodes) or done > days:
            raise SystemExit(f"store {store.location} holds something else: {counts}")
        t0 = time.perf_counter()
        for day in range(done, days):
            table, sha = make_day(nodes, day)
            store.upsert_prices(table, source="bench:api", content_sha256=sha)
        if done < days:
            print(f"  built {days - done} days in {time.perf_counter() - t0:.1f} s")


def day_start(day: int) -> datetime:
    return interval_starts(Iso.PJM, FIRST_DAY + timedelta(days=day), STEP)[0].to_pydatetime()


def z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def prices_path(instrument: str, first_day: int, days: int = 1) -> str:
    start, end = day_start(first_day), day_start(first_day + days)
    return f"/api/v1/prices?instruments={instrument}&start={z(start)}&end={z(end)}"


# -- one server -----------------------------------------------------------------------
@dataclass
class BackendRun:
    backend: str
    floor: Result
    mixed: Result
    cache_check: str
    body_bytes: int
    cpu_ms: dict[str, float]  # server CPU per request in each phase (all its threads)
    redis_per_request: tuple[float, float]  # mixed phase: redis-server CPU ms, commands

    def stats(self, tag: str) -> TagStats:
        return (self.floor if tag == "floor" else self.mixed).stats(tag)

    @property
    def errors(self) -> int:
        return self.floor.total_errors + self.mixed.total_errors


def key_plan(args: argparse.Namespace, seed: int) -> tuple[list[str], list[str], list[str]]:
    """(hot paths, unmeasured warm-up cold paths, measured cold paths): all distinct."""
    ids = instrument_ids(args.nodes)
    rng = np.random.default_rng(seed)
    keys = rng.permutation(args.nodes * args.days)
    paths = [prices_path(ids[k // args.days], int(k % args.days)) for k in keys]
    hot, warm = paths[: args.hot_keys], paths[args.hot_keys : args.hot_keys + args.warm_cold]
    cold = paths[args.hot_keys + args.warm_cold :]
    return hot, warm, cold


async def _fetch(pool: Pool, path: str) -> bytes:
    status, body = await pool.get(path, 60.0)
    if status != 200:
        raise SystemExit(f"GET {path}: status {status}: {body[:300]!r}")
    return body


async def measure_backend(
    args: argparse.Namespace, server: Served, backend: str, headers: dict[str, str], seed: int
) -> BackendRun:
    hot, warm, cold = key_plan(args, seed)
    n = int(args.rate * args.duration)
    redis_url = args.redis_url if backend == "redis" else None
    pool = Pool(server.url, args.connections, headers)
    await pool.open()
    try:
        sizes = {}
        for path in hot:  # the first read fills the cache; the second must be the same bytes
            first, second = await _fetch(pool, path), await _fetch(pool, path)
            if first != second:
                raise SystemExit(f"hot key {path}: a second read returned other bytes")
            sizes[path] = len(first)
        for path in warm:
            await _fetch(pool, path)
        floor_size = int(statistics.median(sizes.values()))
        await pool.get(f"/bench/floor-size?size={floor_size}", 10.0)
        floor_plan = [Request("floor", "/bench/floor", floor_size)] * n
        cpu = server.cpu_seconds()
        floor = await run_open_loop(pool, floor_plan, args.rate)
        cpu_floor, cpu = server.cpu_seconds() - cpu, server.cpu_seconds()
        rng = np.random.default_rng(seed + 1)
        plan, next_cold = [], iter(cold)
        for i, is_hot in enumerate(rng.random(n) < args.hot_share):
            path = hot[i % len(hot)] if is_hot else next(next_cold)
            plan.append(Request("hot", path, sizes[path]) if is_hot else Request("cold", path))
        before = orjson.loads(await _fetch(pool, "/bench/stats"))
        cpu, redis_before = server.cpu_seconds(), _api_setup.redis_counters(redis_url)
        mixed = await run_open_loop(pool, plan, args.rate)
        cpu_mixed = server.cpu_seconds() - cpu
        redis_after = _api_setup.redis_counters(redis_url)
        after = orjson.loads(await _fetch(pool, "/bench/stats"))
    finally:
        pool.close()
    per_request = {"floor": cpu_floor * 1000 / n, "mixed": cpu_mixed * 1000 / n}
    check = _check_cache(before, after, mixed)
    redis_cpu = (redis_after[0] - redis_before[0]) * 1000 / n
    redis_commands = (redis_after[1] - redis_before[1]) / n
    return BackendRun(
        backend, floor, mixed, check, floor_size, per_request, (redis_cpu, redis_commands)
    )


def _check_cache(before: dict | None, after: dict | None, mixed: Result) -> str:
    """The cache's hit/miss counters during the mixed phase against what was sent."""
    if before is None or after is None:
        return "no cache installed (app.state.cache missing): 'cached' = repeated store reads"
    hits = after["hits"] - before["hits"]
    misses = after["misses"] - before["misses"]
    hot, cold = mixed.stats("hot").count, mixed.stats("cold").count
    ok = "ok" if (hits, misses) == (hot, cold) else "MISMATCH"
    return (
        f"cache {after.get('backend')}: {hits} hits, {misses} misses, "
        f"{after['errors'] - before['errors']} errors during the mixed phase "
        f"(sent {hot} hot, {cold} cold: {ok})"
    )


# -- report ---------------------------------------------------------------------------
def print_run(run: BackendRun) -> None:
    print(f"  {'':9}{'requests':>9} {'errors':>7} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}  ms")
    for tag, label in LABELS.items():
        s = run.stats(tag)
        print(
            f"  {label:9}{s.count:>9,} {s.errors:>7} {s.p50_ms:>8.2f} {s.p90_ms:>8.2f} "
            f"{s.p99_ms:>8.2f} {s.max_ms:>8.2f}"
        )
    lag = np.percentile(run.floor.send_lag_ms + run.mixed.send_lag_ms, [50, 99, 100])
    print(f"  node-day JSON {run.body_bytes:,} bytes (median of the hot keys; the floor's body)")
    print(f"  {run.cache_check}")
    cpu = run.cpu_ms
    line = f"  server CPU per request: floor {cpu['floor']:.2f} ms, mixed {cpu['mixed']:.2f} ms"
    print(line)
    redis_cpu, commands = run.redis_per_request
    if not np.isnan(redis_cpu):
        print(
            f"  redis-server per mixed request: {commands:.2f} commands, {redis_cpu:.2f} ms CPU "
            "(server-wide counters: other clients of this Redis included)"
        )
    print(
        "  generator send lag (in every figure) p50/p99/max ms: "
        + " / ".join(f"{x:.2f}" for x in lag)
    )
    for result in (run.floor, run.mixed):
        for tag, reasons in result.errors.items():
            if reasons:
                print(f"  errors ({LABELS[tag]}): {dict(reasons)}")


def report(runs: list[BackendRun], decode: dict[str, float]) -> None:
    first = runs[0]
    results = {
        "p99_cached_ms": first.stats("hot").p99_ms,
        "p99_uncached_ms": first.stats("cold").p99_ms,
        "p99_floor_ms": first.stats("floor").p99_ms,
        **decode,
    }
    print(f"\n{'backend':8} {'p99 floor':>10} {'p99 cached':>11} {'p99 uncached':>13} errors")
    for run in runs:
        p99 = [run.stats(tag).p99_ms for tag in LABELS]
        print(f"{run.backend:8} {p99[0]:>10.2f} {p99[1]:>11.2f} {p99[2]:>13.2f} {run.errors}")
    print(f"\ntargets ({first.backend} backend):")
    for key, bound in TARGETS:
        value = results[key]
        ok = value >= bound if key == "arrow_decode_speedup" else value < bound
        op = ">=" if key == "arrow_decode_speedup" else "<"
        print(f"  {'PASS' if ok else 'MISS'}  {key} = {value:.2f}  (target {op} {bound:g})")
    print(f"  (JSON parsed by pandas.to_datetime: {results['pandas_json_vs_arrow']:.1f}x Arrow)")
    errors = sum(run.errors for run in runs)
    print(f"end: {load()}; SUMMARY: latencies of the {first.backend} backend, errors of all")
    print(
        f"SUMMARY p99_cached_ms={results['p99_cached_ms']:.2f} "
        f"p99_uncached_ms={results['p99_uncached_ms']:.2f} "
        f"p99_floor_ms={results['p99_floor_ms']:.2f} errors={errors} "
        f"arrow_decode_speedup={results['arrow_decode_speedup']:.1f}"
    )


def header(args: argparse.Namespace) -> None:
    git = ["git", "describe", "--always", "--dirty"]
    rev = subprocess.run(git, cwd=HERE, capture_output=True, text=True).stdout.strip()
    cpu = next(
        (x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text().splitlines()
         if x.startswith("model name")), "?",
    )  # fmt: skip
    import duckdb
    import fastapi
    import uvicorn

    print(f"api_bench  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  code {rev or '?'}")
    print(f"machine: nproc {os.cpu_count()}, CPU {cpu}, Python {sys.version.split()[0]}, {load()}")
    print(
        f"versions: fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__}, "
        f"httpx {httpx.__version__}, duckdb {duckdb.__version__}, pyarrow {pa.__version__}, "
        f"pandas {pd.__version__}"
    )
    print(
        f"store: {args.nodes} nodes x {args.days} days x 288 = "
        f"{args.nodes * args.days * 288:,} rows; load: {args.rate:g} req/s x {args.duration:g} s "
        f"per phase, {args.hot_share:.0%} hot ({args.hot_keys} keys), {args.connections} "
        f"connections"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="40 nodes, temp store, 5 s phases")
    p.add_argument("--nodes", type=int, help="nodes in the store (500; --quick 40)")
    p.add_argument("--days", type=int, default=31, help="market days in the store (>= 31)")
    p.add_argument("--rate", type=float, default=200.0, help="requests/s in each phase")
    p.add_argument("--duration", type=float, help="seconds per phase (30; --quick 5)")
    p.add_argument("--hot-share", type=float, default=0.5, help="share of hot requests")
    p.add_argument("--hot-keys", type=int, default=16, help="node-days in the hot set")
    p.add_argument("--warm-cold", type=int, default=20, help="unmeasured cold warm-up reads")
    p.add_argument("--connections", type=int, default=32, help="client keep-alive pool")
    p.add_argument("--backends", default="redis,memory", help="cache backends, first in SUMMARY")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument(
        "--namespace", default=_api_setup.NAMESPACE, help="the server's Redis key namespace"
    )
    p.add_argument("--auth", choices=["auto", "on", "off"], default="auto")
    p.add_argument("--decode-runs", type=int, default=15, help="decodes per format and round")
    p.add_argument("--data-dir", type=Path, default=HERE / ".data", help="where the store lives")
    args = p.parse_args(argv)
    args.nodes = args.nodes or (40 if args.quick else 500)
    args.duration = args.duration or (5.0 if args.quick else 30.0)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(args.backends) - {"redis", "memory"}:
        p.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    if args.days < 31:
        p.error("--days must be at least 31 (the decode reads one node-month)")
    cold = args.rate * args.duration * (1 - args.hot_share)
    if cold > (args.nodes * args.days - args.hot_keys - args.warm_cold) * 0.9:
        p.error(f"{cold:.0f} cold requests need more node-days: raise --nodes")
    return args


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """On uvloop, like the server: the generator's own overhead is part of every figure."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so the servers stop and the bench's keys go


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    with tempfile.TemporaryDirectory(prefix="c254_api_bench_") as work:
        folder = Path(work) if args.quick else args.data_dir
        folder.mkdir(parents=True, exist_ok=True)
        url = f"duckdb://{folder / f'api_{args.nodes}n_{args.days}d.duckdb'}"
        header(args)
        ensure_store(url, args.nodes, args.days)
        with _api_setup.bench_auth(args.auth, url) as auth:
            print(f"auth: {auth.label}")
            runs, decode = measure_all(args, url, auth, Path(work))
    report(runs, decode)


def measure_all(
    args: argparse.Namespace, url: str, auth: _api_setup.Auth, work: Path
) -> tuple[list[BackendRun], dict[str, float]]:
    """One server per cache backend, one after the other; the decode on the first."""
    headers = {"Accept": JSON, **auth.headers}
    runs, decode = [], {}
    try:
        for seed, backend in enumerate(args.backends):
            redis_url = args.redis_url if backend == "redis" else None
            if redis_url:
                print(f"\n{_api_setup.flush_namespace(redis_url, args.namespace)}")
            print(f"\n== {backend} cache ==  ({load()})")
            with serving(
                url, work / f"server_{backend}.log", redis_url=redis_url,
                namespace=args.namespace, auth=auth.on,
            ) as server:  # fmt: skip
                run = run_async(measure_backend(args, server, backend, headers, 10 * seed))
                print_run(run)
                runs.append(run)
                if not decode:
                    month = prices_path(instrument_ids(args.nodes)[0], 0, 31)
                    decode = decode_speedup(server.url, month, auth.headers, args.decode_runs)
    finally:
        if "redis" in args.backends:
            _api_setup.flush_namespace(args.redis_url, args.namespace)
    return runs, decode


if __name__ == "__main__":
    main()
