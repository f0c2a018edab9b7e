"""HTTP behaviour of the connector framework: retries, Retry-After, errors, secrets."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from carbon254.connectors.errors import FetchError, RateLimited
from carbon254.connectors.http import HttpFetcher, RetryPolicy, parse_retry_after, scrub_url
from carbon254.connectors.ratelimit import RateBudget

URL = "https://api.example.test/v1/feed"


def fetcher(handler, **kwargs) -> tuple[HttpFetcher, list[float]]:
    waits: list[float] = []
    client = httpx.Client(transport=httpx.MockTransport(handler))
    http = HttpFetcher(client, sleep=waits.append, rng=random.Random(7), **kwargs)
    return http, waits


def sequence(*responses):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    handler.calls = calls  # type: ignore[attr-defined]
    return handler


def test_success_returns_bytes_url_and_fetch_time():
    handler = sequence(httpx.Response(200, content=b'{"a": 1}', headers={"content-type": "x"}))
    http, waits = fetcher(handler)
    before = datetime.now(UTC)
    raw = http.get("demo.feed", URL, params={"b": "2"})
    assert raw.content == b'{"a": 1}'
    assert raw.url == URL + "?b=2"
    assert raw.content_type == "x"
    assert before <= raw.fetched_at <= datetime.now(UTC)
    assert raw.sha256 == hashlib.sha256(b'{"a": 1}').hexdigest()
    assert waits == []


def test_500_then_success_retries_with_backoff():
    handler = sequence(httpx.Response(500), httpx.Response(503), httpx.Response(200, content=b"ok"))
    http, waits = fetcher(handler, retry=RetryPolicy(attempts=4, base=1.0, jitter=0.25))
    assert http.get("demo.feed", URL).content == b"ok"
    assert len(handler.calls) == 3
    assert len(waits) == 2
    assert 0.75 <= waits[0] <= 1.25 and 1.5 <= waits[1] <= 2.5  # 1 s then 2 s, ±25 %


def test_429_honours_retry_after_seconds():
    handler = sequence(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, content=b"ok")
    )
    http, waits = fetcher(handler)
    assert http.get("demo.feed", URL).content == b"ok"
    assert waits == [7.0]


def test_retry_after_http_date_and_cap():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == pytest.approx(30)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    handler = sequence(
        httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200, content=b"ok")
    )
    http, waits = fetcher(handler, retry=RetryPolicy(max_retry_after=60))
    with pytest.raises(RateLimited, match="retry after 3600s") as info:
        http.get("demo.feed", URL)
    assert info.value.retry_after == 3600 and waits == [] and len(handler.calls) == 1


def test_persistent_429_raises_rate_limited_with_hint():
    handler = sequence(httpx.Response(429, headers={"Retry-After": "2"}))
    http, _waits = fetcher(handler, retry=RetryPolicy(attempts=3))
    with pytest.raises(RateLimited) as info:
        http.get("demo.feed", URL)
    assert info.value.retry_after == 2.0
    assert info.value.dataset == "demo.feed"
    assert "429" in str(info.value) and "3 attempts" in str(info.value)
    assert len(handler.calls) == 3


def test_timeouts_are_retried_then_reported():
    handler = sequence(httpx.ReadTimeout("slow"), httpx.ConnectTimeout("down"))
    http, _waits = fetcher(handler, retry=RetryPolicy(attempts=2))
    with pytest.raises(FetchError) as info:
        http.get("demo.feed", URL)
    assert "timed out" in str(info.value) and info.value.status is None
    assert len(handler.calls) == 2


def test_timeout_then_success():
    handler = sequence(httpx.ReadTimeout("slow"), httpx.Response(200, content=b"ok"))
    http, _ = fetcher(handler)
    assert http.get("demo.feed", URL).content == b"ok"


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(status):
    handler = sequence(httpx.Response(status))
    http, waits = fetcher(handler)
    with pytest.raises(FetchError) as info:
        http.get("demo.feed", URL)
    assert info.value.status == status
    assert len(handler.calls) == 1 and waits == []
    if status in (401, 403):
        assert "credentials" in str(info.value)


def test_secrets_never_reach_url_or_errors():
    secret = "s3cr3t-key-value"
    handler = sequence(httpx.Response(500))
    http, _ = fetcher(handler, retry=RetryPolicy(attempts=1))
    with pytest.raises(FetchError) as info:
        http.get(
            "demo.feed",
            URL,
            params={"subscription-key": secret, "rows": "5"},
            headers={"Ocp-Apim-Subscription-Key": secret},
        )
    assert secret not in str(info.value)
    handler = sequence(httpx.Response(200, content=b"ok"))
    http, _ = fetcher(handler)
    raw = http.get("demo.feed", URL, params={"api_key": secret, "rows": "5"})
    assert secret not in raw.url and "rows=5" in raw.url
    assert scrub_url(f"{URL}?token={secret}&x=1") == f"{URL}?x=1"


def test_content_disposition_filename_lands_in_meta():
    handler = sequence(
        httpx.Response(
            200, content=b"PK", headers={"content-disposition": 'attachment; filename="a.zip"'}
        )
    )
    http, _ = fetcher(handler)
    assert http.get("demo.feed", URL, meta={"doc": 1}).meta == {"doc": 1, "filename": "a.zip"}


def test_rate_budget_is_applied_per_host(monkeypatch):
    from carbon254.connectors import ratelimit

    acquired = []

    class Recorder:
        def acquire(self):
            acquired.append(1)
            return 0.0

    monkeypatch.setattr(ratelimit, "_BUCKETS", {})
    monkeypatch.setattr("carbon254.connectors.http.bucket_for", lambda host, budget: Recorder())
    handler = sequence(httpx.Response(500), httpx.Response(200, content=b"ok"))
    http, _ = fetcher(handler)
    http.get("demo.feed", URL, budget=RateBudget(6, 60))
    assert len(acquired) == 2  # every attempt spends a token, retries included


def test_post_is_not_retried_unless_the_caller_says_it_is_idempotent():
    handler = sequence(httpx.Response(503), httpx.Response(200, content=b"ok"))
    http, waits = fetcher(handler)
    with pytest.raises(FetchError):
        http.request("demo.feed", "POST", URL)
    assert len(handler.calls) == 1 and waits == []
    handler = sequence(httpx.Response(503), httpx.Response(200, content=b"ok"))
    http, _ = fetcher(handler)
    raw = http.request("demo.feed", "POST", URL, retry_statuses=frozenset({503}))
    assert raw.content == b"ok" and len(handler.calls) == 2


def test_a_secret_with_a_control_character_never_reaches_an_error(monkeypatch):
    from carbon254.connectors.dataset import Auth
    from carbon254.connectors.errors import MissingCredentials

    secret = "SECRET123"
    monkeypatch.setenv("X_KEY", f"  {secret}\r\n")  # a Windows .env line end: stripped
    assert Auth(env=("X_KEY",)).values("demo.feed") == {"X_KEY": secret}
    monkeypatch.setenv("X_KEY", "SECRET\x1b123")
    with pytest.raises(MissingCredentials, match="X_KEY contains a control character") as info:
        Auth(env=("X_KEY",)).values("demo.feed")
    assert "SECRET" not in str(info.value)
    # and should a bad header reach httpx anyway, its text (which quotes it) is not shown
    # (what h11 raises on a real connection; the mock transport stands in for it)
    handler = sequence(httpx.LocalProtocolError(f"Illegal header value b'{secret}\\r'"))
    http, _ = fetcher(handler)
    with pytest.raises(FetchError) as error:
        http.get("demo.feed", URL, headers={"X-Key": secret})
    assert secret not in str(error.value) and "could not be sent" in str(error.value)
