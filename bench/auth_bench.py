"""Auth benchmark: what verifying a credential costs, per request.

In-process (the verifiers alone, on one event loop, a DuckDB store in a temp dir):

- JWT uncached: a fresh RS256 token each time (signing key cached, JWKS fetched once);
- JWT cached: the same token again (the verified-token cache, by SHA-256);
- API key uncached: a store lookup each time (cache disabled), off the event loop;
- API key cached: the in-process record cache (30 s in production);
- the rate limiter's check: an in-process bucket, and the Lua script in Redis.

End to end (a live uvicorn server, one keep-alive connection, sequential requests): the
median latency of one small route with auth off (the anonymous principal), with an API
key, and with a JWT (both cached after the first request, rate limiting off), so the
middleware's share of a request is visible.

The last line is `SUMMARY ratelimit_local_us=... ratelimit_redis_us=... jwt_uncached_us=...
jwt_cached_us=... apikey_uncached_us=... apikey_cached_us=... e2e_none_ms=...
e2e_apikey_ms=... e2e_jwt_ms=...`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from carbon254.service import create_app
from carbon254.service.auth.apikeys import ApiKeyVerifier, create_key
from carbon254.service.auth.oidc import JwksCache, OidcVerifier
from carbon254.service.auth.principal import Principal
from carbon254.service.auth.ratelimit import RateLimiter
from carbon254.service.settings import Settings
from carbon254.store import open_store

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the tests' stand-in IdP and server helpers

from tests.service.auth.auth_helpers import AUDIENCE, add_probe_routes, serve_idp  # noqa: E402
from tests.service.service_helpers import run_server  # noqa: E402


async def _per_call_us(call: Callable[[], Awaitable[object]], n: int) -> float:
    await call()  # warm
    start = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - start) / n * 1e6


def _median_ms(client: httpx.Client, path: str, headers: dict[str, str], n: int) -> float:
    for _ in range(20):
        client.get(path, headers=headers).raise_for_status()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(path, headers=headers).raise_for_status()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="calls per in-process case")
    parser.add_argument("--requests", type=int, default=1000, help="requests per e2e case")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--quick", action="store_true", help="n=300, requests=200")
    args = parser.parse_args()
    n, requests = (300, 200) if args.quick else (args.n, args.requests)

    with tempfile.TemporaryDirectory() as tmp, serve_idp() as idp:
        store = open_store(f"duckdb://{Path(tmp) / 'auth.duckdb'}")
        _, key = create_key(store, "bench", ["read"])

        async def in_process() -> dict[str, float]:
            oidc = OidcVerifier(idp.issuer, AUDIENCE, JwksCache(idp.jwks_url))
            tokens = iter([idp.token(("read",)) for _ in range(n + 1)])
            token = idp.token(("read",))
            uncached = ApiKeyVerifier(store, cache_seconds=0.0, miss_seconds=0.0)
            cached = ApiKeyVerifier(store)
            principal = Principal("bench", frozenset(["read"]), "apikey")
            local = RateLimiter(10**9, 10**6)
            shared = RateLimiter(10**9, 10**6, redis_url=args.redis_url, prefix="c254bench:")
            results = {
                "ratelimit_local_us": await _per_call_us(lambda: local.check(principal), n),
                "ratelimit_redis_us": await _per_call_us(lambda: shared.check(principal), n),
            }
            if shared.redis_errors:
                results.pop("ratelimit_redis_us")  # Redis unreachable: that was the fallback
            await shared.aclose()
            return results | {
                "jwt_uncached_us": await _per_call_us(lambda: oidc.verify(next(tokens)), n),
                "jwt_cached_us": await _per_call_us(lambda: oidc.verify(token), n),
                "apikey_uncached_us": await _per_call_us(lambda: uncached.verify(key), n),
                "apikey_cached_us": await _per_call_us(lambda: cached.verify(key), n),
            }

        results = asyncio.run(in_process())
        settings = Settings(
            oidc_issuer=idp.issuer, oidc_jwks_url=idp.jwks_url, rate_limit_per_minute=0
        )
        apps = {}
        for name, config in (("off", Settings(auth=False)), ("on", settings)):
            apps[name] = create_app(store, settings=config, parts=("rest",))
            add_probe_routes(apps[name])
        token = idp.token(("read",))
        cases = {
            "e2e_none_ms": ("off", {}),
            "e2e_apikey_ms": ("on", {"X-API-Key": key}),
            "e2e_jwt_ms": ("on", {"Authorization": f"Bearer {token}"}),
        }
        for name, (which, headers) in cases.items():
            with run_server(apps[which]) as base, httpx.Client(base_url=base) as client:
                results[name] = _median_ms(client, "/api/v1/_probe", headers, requests)
        store.close()

    for name, value in results.items():
        print(f"{name:<20}{value:10.3f}")
    print("SUMMARY " + " ".join(f"{k}={v:.3f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
