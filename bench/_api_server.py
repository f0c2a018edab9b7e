"""The API benchmark's server process: `create_app` over a store, under uvicorn.

Run by `api_bench.py` as a subprocess, like `carbon254 serve`: one uvicorn worker,
uvloop and httptools, the application's middleware as configured by `Settings` (cache,
auth) plus three routes that exist only here:

- `GET /bench/floor`: a constant JSON body, through the same middleware, with no
  application work: the floor a cached response cannot beat.
- `GET /bench/floor-size?size=N`: sets that body's size (the bench learns the size of a
  node-day response first).
- `GET /bench/stats`: `app.state.cache.stats()` if a cache is installed, else null.

Prints `LISTENING <port>` once the socket is bound and the app is about to serve.
`serving(...)` (used by the bench) starts this script and yields its URL and pid.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store import open_store


def _floor_body(size: int) -> bytes:
    """Valid JSON of exactly `size` bytes (at least 12)."""
    head, tail = b'{"pad":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def _add_bench_routes(app: FastAPI, floor_bytes: int) -> None:
    body = {"floor": _floor_body(floor_bytes)}

    @app.get("/bench/floor", include_in_schema=False)
    async def floor() -> Response:
        return Response(body["floor"], media_type="application/json")

    @app.get("/bench/floor-size", include_in_schema=False)
    async def floor_size(size: int) -> Response:
        body["floor"] = _floor_body(size)
        return Response(status_code=204)

    @app.get("/bench/stats", include_in_schema=False)
    async def stats(request: Request) -> Response:
        cache = getattr(request.app.state, "cache", None)
        return Response(orjson.dumps(cache.stats() if cache is not None else None))


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")  # not Linux: the CPU line prints nan
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(
    store_url: str,
    log: Path,
    *,
    redis_url: str | None,
    namespace: str,
    auth: bool,
    timeout: float = 60.0,
) -> Iterator[Served]:
    """Run this script as a subprocess; yield it once `/health` answers 200."""
    command = [sys.executable, __file__, "--store", store_url, "--namespace", namespace]
    command += ["--redis-url", redis_url] if redis_url else []
    command += ["--auth"] if auth else []
    with log.open("ab") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
    try:
        line = process.stdout.readline().decode() if process.stdout else ""
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"server did not start: {line!r}; see {log}")
        url = f"http://127.0.0.1:{int(line.split()[1])}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server not healthy; see {log}")
            time.sleep(0.1)
        yield Served(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--store", required=True, help="store URL (duckdb://...)")
    p.add_argument("--redis-url", help="cache in Redis (default: the in-process LRU)")
    p.add_argument("--namespace", default="c254bench", help="Redis key namespace")
    p.add_argument("--auth", action="store_true", help="auth on (default off)")
    p.add_argument("--floor-bytes", type=int, default=32_000)
    args = p.parse_args()
    settings = dataclasses.replace(
        Settings.from_env(),
        auth=args.auth,
        redis_url=args.redis_url,
        redis_namespace=args.namespace,
        # One load generator sends every request with one key: keep the limiter in the
        # path but never let it refuse.
        rate_limit_per_minute=10**9,
        rate_limit_burst=10**9,
    )
    store = open_store(args.store)
    app = create_app(store, owns_store=True, settings=settings)
    _add_bench_routes(app, args.floor_bytes)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        workers=1,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    print(f"LISTENING {sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
