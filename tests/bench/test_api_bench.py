"""bench/api_bench.py keeps running: a tiny store, one-second phases, both cache backends."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
MS = r"\d+\.\d\d"
SUMMARY = re.compile(
    rf"^SUMMARY p99_cached_ms={MS} p99_uncached_ms={MS} p99_floor_ms={MS} errors=0 "
    r"arrow_decode_speedup=\d+\.\d$"
)


def test_quick_run_prints_the_summary_line(redis_url: str) -> None:
    namespace = f"c254test{uuid.uuid4().hex[:8]}"
    command = [sys.executable, str(BENCH / "api_bench.py"), "--quick", "--nodes", "10"]
    command += ["--duration", "1", "--rate", "50", "--decode-runs", "3"]
    command += ["--redis-url", redis_url, "--namespace", namespace]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    for backend in ("redis", "memory"):  # hot requests were hits, cold ones misses
        checks = [line for line in lines if line.strip().startswith(f"cache {backend}:")]
        assert len(checks) == 1 and checks[0].endswith(": ok)"), checks
    for decoder in ("Arrow", "JSON, vectorized", "JSON, pandas"):  # checked equal, timed
        assert any(line.startswith(f"  {decoder} ") for line in lines), decoder
    with redis.Redis.from_url(redis_url) as client:  # the bench deleted its keys
        assert not list(client.scan_iter(match=f"{namespace}:*"))
