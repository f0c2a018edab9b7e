"""Response cache, in process: what a hit costs against a miss, for one node-day.

The application is `create_app` as served (auth off, metrics and the cache installed),
driven through ASGI directly, with no HTTP server or socket in the way, so the numbers
are the application's own work. Store: a DuckDB file with one PJM 5-minute node-day
(288 rows). Per backend (`memory`, and `redis` when `--redis-url` answers) and format
(JSON, Arrow IPC), `--runs` requests each, median and p99 in microseconds:

- miss: the node's generation is bumped before every request (as an ingest would), so
  every request misses: key, store read, encoding, and storing the entry;
- hit: the same request again and again.

Peer in the same run: `route`, the same request against the same app without the
cache middleware (`create_app` then the middleware removed): what a hit saves.
Last line: `SUMMARY hit_us=... miss_us=... route_us=... hit_redis_us=... speedup=...`
(memory backend, JSON, medians; speedup = miss / hit).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from carbon254.core import InstrumentId, interval_starts
from carbon254.ingest.events import ChangeEvent
from carbon254.service import create_app
from carbon254.service.cache import CacheMiddleware
from carbon254.service.formats import ARROW_STREAM, JSON
from carbon254.service.settings import Settings
from carbon254.store.duckdb_store import DuckDBStore

NODE = "PJM.RT5.LMP.51288"
DAY = date(2025, 10, 15)
QUERY = f"instruments={NODE}&start=2025-10-15T04:00:00Z&end=2025-10-16T04:00:00Z".encode()


def _store(path: Path) -> DuckDBStore:
    import pyarrow as pa

    iid = InstrumentId.parse(NODE)
    starts = [t.to_pydatetime() for t in interval_starts(iid.iso, DAY, iid.market.interval)]
    n = len(starts)
    table = pa.table(
        {
            "instrument": [NODE] * n,
            "interval_start": starts,
            "interval_end": [s + iid.market.interval for s in starts],
            "value": [31.75 + 0.01 * i for i in range(n)],
            "energy": [30.0 + 0.01 * i for i in range(n)],
            "congestion": [1.25] * n,
            "loss": [0.5] * n,
        }
    )
    store = DuckDBStore(path)
    store.migrate()
    store.upsert_prices(table, source="bench")
    return store


async def _request(app: Any, accept: str) -> tuple[int, dict[bytes, bytes], int]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/prices",
        "raw_path": b"/api/v1/prices",
        "root_path": "",
        "query_string": QUERY,
        "headers": [(b"host", b"bench"), (b"accept", accept.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    status, headers, size = 0, {}, 0

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status, headers, size
        if message["type"] == "http.response.start":
            status, headers = message["status"], dict(message["headers"])
        else:
            size += len(message.get("body", b""))

    await app(scope, receive, send)
    return status, headers, size


async def _time(app: Any, accept: str, runs: int, before: Any = None, expect: bytes | None = None):
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        t0 = time.perf_counter()
        status, headers, size = await _request(app, accept)
        samples.append((time.perf_counter() - t0) * 1e6)
        assert status == 200, status
        if expect is not None:
            assert headers.get(b"x-cache") == expect, headers.get(b"x-cache")
    samples.sort()
    return statistics.median(samples), samples[int(0.99 * (len(samples) - 1))], size


def _app(store: DuckDBStore, settings: Settings, *, cache: bool = True) -> Any:
    app = create_app(store, settings=settings)
    if not cache:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not CacheMiddleware]
    return app


async def _measure(store: DuckDBStore, settings: Settings, runs: int) -> dict[str, float]:
    app = _app(store, settings)
    feed = app.state.changes
    results: dict[str, float] = {}
    for name, accept in (("json", JSON), ("arrow", ARROW_STREAM)):
        bump = lambda: feed.publish(ChangeEvent((NODE,)))  # noqa: E731 - a miss each time
        await _request(app, accept)  # warm: imports, first store read, connections
        miss, miss99, size = await _time(app, accept, runs, bump, b"miss")
        await _request(app, accept)
        hit, hit99, _ = await _time(app, accept, runs, None, b"hit")
        results |= {
            f"{name}_miss_us": miss,
            f"{name}_miss_p99_us": miss99,
            f"{name}_hit_us": hit,
            f"{name}_hit_p99_us": hit99,
            f"{name}_bytes": size,
        }
    await app.state.cache.aclose()
    return results


async def _route(store: DuckDBStore, runs: int) -> tuple[float, float]:
    app = _app(store, Settings(auth=False), cache=False)
    await _request(app, JSON)
    median, p99, _ = await _time(app, JSON, runs)
    return median, p99


def _redis_ok(url: str) -> bool:
    try:
        import redis

        with redis.Redis.from_url(url, socket_connect_timeout=1) as r:
            return bool(r.ping())
    except Exception:  # the bench reports what it could measure
        return False


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        store = _store(Path(work) / "bench.duckdb")
        try:
            route, route99 = asyncio.run(_route(store, args.runs))
            backends = {"memory": Settings(auth=False)}
            namespace = f"c254bench-{uuid.uuid4().hex[:8]}"
            if _redis_ok(args.redis_url):
                backends["redis"] = Settings(
                    auth=False, redis_url=args.redis_url, redis_namespace=namespace
                )
            print(f"one node-day: 288 rows; {args.runs} requests per line; microseconds")
            print("backend  format   bytes  miss p50     p99  hit p50    p99 miss/hit")
            print(f"{'(none)':8} {'json':6} {'':>7} {route:9.0f} {route99:7.0f}  (no cache)")
            measured = {}
            for backend, settings in backends.items():
                measured[backend] = r = asyncio.run(_measure(store, settings, args.runs))
                for fmt in ("json", "arrow"):
                    miss, hit = r[f"{fmt}_miss_us"], r[f"{fmt}_hit_us"]
                    print(
                        f"{backend:8} {fmt:6} {r[f'{fmt}_bytes']:7d} {miss:9.0f} "
                        f"{r[f'{fmt}_miss_p99_us']:7.0f} {hit:8.0f} {r[f'{fmt}_hit_p99_us']:6.0f} "
                        f"{miss / hit:8.1f}"
                    )
            if "redis" in backends:
                _cleanup(args.redis_url, namespace)
        finally:
            store.close()
    mem = measured["memory"]
    summary = {
        "hit_us": mem["json_hit_us"],
        "miss_us": mem["json_miss_us"],
        "route_us": route,
        "hit_redis_us": measured.get("redis", {}).get("json_hit_us", float("nan")),
        "speedup": mem["json_miss_us"] / mem["json_hit_us"],
    }
    print("SUMMARY " + " ".join(f"{k}={v:.4g}" for k, v in summary.items()))


def _cleanup(url: str, namespace: str) -> None:
    import redis

    with redis.Redis.from_url(url) as r:
        keys = list(r.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            r.delete(*keys)


if __name__ == "__main__":
    main()
