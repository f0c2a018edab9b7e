"""What the API benchmark prepares outside the server: auth (an API key) and Redis.

Auth follows what the service has: it is on only when `create_app` installs
`service.auth`, and the key is made the way an operator makes one, through the store
(`auth.apikeys.create_key`), then revoked when the bench ends. Redis: the server runs
with its own namespace (`NAMESPACE`) for cache entries, rate-limit buckets and the
change feed; its keys are deleted before each server starts and at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

import carbon254.service.app as app_module
from carbon254.store import open_store

__all__ = ["NAMESPACE", "Auth", "bench_auth", "flush_namespace", "redis_counters"]

NAMESPACE = "c254bench"


@dataclass(frozen=True, slots=True)
class Auth:
    on: bool
    label: str
    headers: dict[str, str] = field(default_factory=dict)


def _auth_installed() -> bool:
    return "install_auth(app)" in Path(app_module.__file__).read_text()


@contextmanager
def bench_auth(mode: str, store_url: str) -> Iterator[Auth]:
    """Auth for the bench: `mode` auto (on when installed), on or off. With auth on, an
    API key with the `read` scope exists while the context is open."""
    installed = _auth_installed()
    if mode == "off" or (mode == "auto" and not installed):
        why = "--auth off" if mode == "off" else "service.auth is not installed in create_app"
        yield Auth(False, f"off (Settings(auth=False); {why})")
        return
    if not installed:
        raise SystemExit("--auth on: service.auth is not installed in create_app")
    from carbon254.service.auth.apikeys import create_key

    with open_store(store_url) as store:
        record, key = create_key(store, "api_bench", ["read"])
    label = f"on (API key {record.key_id}, scope read, as X-API-Key; made via the store)"
    try:
        yield Auth(True, label, {"X-API-Key": key})
    finally:
        with open_store(store_url) as store:
            store.revoke_api_key(record.key_id)


def flush_namespace(redis_url: str, namespace: str = NAMESPACE) -> str:
    """Delete every key under `namespace:` (only the bench's own); what was done. Exits
    when Redis cannot be reached: the redis backend cannot be measured."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        client.close()
        raise SystemExit(
            f"Redis at {redis_url} is not reachable ({exc}): start it, pass --redis-url, "
            "or measure the in-process cache alone with --backends memory"
        ) from exc
    try:
        deleted = 0
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += client.delete(*batch)
                batch = []
        if batch:
            deleted += client.delete(*batch)
        return f"redis {redis_url}: deleted {deleted} keys under {namespace}:*"
    finally:
        client.close()


def redis_counters(redis_url: str | None) -> tuple[float, int]:
    """(CPU seconds, commands processed) of the Redis server so far (INFO; server-wide,
    other clients included), or (nan, 0) without Redis."""
    if redis_url is None:
        return float("nan"), 0
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        info = client.info("cpu") | client.info("stats")
    cpu = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    return cpu, int(info["total_commands_processed"]) - 2  # less this call's two INFOs
