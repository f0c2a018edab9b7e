"""Per-key rate limits: the token bucket itself (with a fake clock), then through live
servers: 429 with Retry-After and RateLimit headers, allowed again after the wait, a
key's own limit, one limit shared by two apps through Redis, and failing open without it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx

from carbon254.service.auth.principal import Principal
from carbon254.service.auth.ratelimit import Decision, LocalBuckets, RateLimiter

from .auth_helpers import IdP

PROBE = "/api/v1/_probe"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_burst_then_refill() -> None:
    clock = Clock()
    buckets = LocalBuckets(clock=clock)
    taken = [buckets.take("k", per_minute=60, burst=3) for _ in range(4)]
    assert [d.allowed for d in taken] == [True, True, True, False]
    assert [d.remaining for d in taken] == [2, 1, 0, 0]
    assert taken[-1].retry_after == 1 and taken[-1].reset == 3
    clock.now += 0.5
    assert not buckets.take("k", 60, 3).allowed  # half a token is not a request
    clock.now += 0.5
    assert buckets.take("k", 60, 3).allowed
    assert buckets.take("other", 60, 3).allowed  # one bucket per key
    clock.now += 3600
    assert buckets.take("k", 60, 3).remaining == 2  # refills to the burst, no further


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    slow = Decision(False, 0.25, burst=5, per_minute=6)  # one token per 10 s
    assert slow.retry_after == 8 and slow.reset == 48
    fast = Decision(False, 0.99, burst=5, per_minute=6000)
    assert fast.retry_after == 1
    headers = dict(slow.headers())
    assert headers[b"retry-after"] == b"8" and headers[b"ratelimit-limit"] == b"5"
    assert headers[b"ratelimit-policy"] == b"5;w=50"
    assert b"retry-after" not in dict(Decision(True, 3.0, 5, 6).headers())


def test_a_key_limit_scales_its_burst() -> None:
    limiter = RateLimiter(600, 120)
    assert limiter.policy(Principal("a", frozenset(), "apikey")) == (600, 120)
    assert limiter.policy(Principal("b", frozenset(), "apikey", rate_limit_per_minute=1200)) == (
        1200,
        240,
    )
    assert limiter.policy(Principal("c", frozenset(), "apikey", rate_limit_per_minute=6)) == (6, 1)
    assert RateLimiter(0, 10).policy(Principal("d", frozenset(), "oidc")) is None


def test_burst_exceeded_is_a_429_then_allowed_after_the_wait(
    serve: Callable, new_key: Callable
) -> None:
    _, base = serve(rate_limit_per_minute=60, rate_limit_burst=2)
    key, other = new_key("read"), new_key("read")
    headers = {"X-API-Key": key}
    first = httpx.get(f"{base}{PROBE}", headers=headers)
    assert first.status_code == 200
    assert first.headers["ratelimit-limit"] == "2" and first.headers["ratelimit-remaining"] == "1"
    assert httpx.get(f"{base}{PROBE}", headers=headers).status_code == 200
    refused = httpx.get(f"{base}{PROBE}", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert "rate limit of 60 requests per minute" in refused.json()["detail"]
    retry_after = int(refused.headers["retry-after"])
    assert retry_after >= 1 and refused.headers["ratelimit-remaining"] == "0"
    assert int(refused.headers["ratelimit-reset"]) >= retry_after
    # Another key has a bucket of its own; the exempt probes are never limited.
    assert httpx.get(f"{base}{PROBE}", headers={"X-API-Key": other}).status_code == 200
    assert httpx.get(f"{base}/health").status_code == 200
    time.sleep(retry_after)
    assert httpx.get(f"{base}{PROBE}", headers=headers).status_code == 200


def test_a_key_with_its_own_limit(serve: Callable, new_key: Callable) -> None:
    _, base = serve(rate_limit_per_minute=6000, rate_limit_burst=100)
    slow = new_key("read", rate_limit_per_minute=60)  # burst 100 * 60 / 6000 = 1
    assert httpx.get(f"{base}{PROBE}", headers={"X-API-Key": slow}).status_code == 200
    response = httpx.get(f"{base}{PROBE}", headers={"X-API-Key": slow})
    assert response.status_code == 429 and "60 requests per minute" in response.json()["detail"]


def test_tokens_are_limited_by_subject(serve: Callable, idp: IdP) -> None:
    _, base = serve(rate_limit_per_minute=60, rate_limit_burst=1)
    subject = f"user-{uuid.uuid4().hex[:6]}"
    first, second = idp.token(sub=subject), idp.token(sub=subject, preferred_username="b")
    assert httpx.get(f"{base}{PROBE}", headers={"Authorization": f"Bearer {first}"}).is_success
    response = httpx.get(f"{base}{PROBE}", headers={"Authorization": f"Bearer {second}"})
    assert response.status_code == 429 and subject in response.json()["detail"]


def test_two_apps_share_the_limit_through_redis(
    serve: Callable, new_key: Callable, redis_url: str
) -> None:
    prefix = f"c254test:{uuid.uuid4().hex}:ratelimit:"
    apps = [serve(rate_limit_per_minute=60, rate_limit_burst=3, redis_url=redis_url) for _ in "ab"]
    for app, _ in apps:
        app.state.auth.limiter.prefix = prefix
    (_, one), (_, two) = apps
    headers = {"X-API-Key": new_key("read")}
    codes = [httpx.get(f"{base}{PROBE}", headers=headers).status_code for base in (one, two, one)]
    assert codes == [200, 200, 200]
    assert httpx.get(f"{two}{PROBE}", headers=headers).status_code == 429
    assert httpx.get(f"{one}{PROBE}", headers=headers).status_code == 429
    assert all(app.state.auth.limiter.redis_errors == 0 for app, _ in apps)


def test_redis_down_fails_open_to_a_local_limit(serve: Callable, new_key: Callable) -> None:
    app, base = serve(
        rate_limit_per_minute=60, rate_limit_burst=2, redis_url="redis://127.0.0.1:1/0"
    )
    headers = {"X-API-Key": new_key("read")}
    codes = [httpx.get(f"{base}{PROBE}", headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # limited, in this process, and never a 5xx
    assert app.state.auth.limiter.redis_errors == 1  # then Redis is left alone for a while
