"""Retries: which requests, on what, how long; Retry-After in both forms; timeouts on a
real socket; the async client the same."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx

import carbon254
from carbon254.client import RetryPolicy
from carbon254.client._core import Call
from carbon254.client._retry import parse_retry_after

from ..service.service_helpers import run_server
from .sdk_helpers import Scripted, closed_port, silent_server

URL = "http://api.test"
HEALTH = f"{URL}/api/v1/health"
OK = {"status": "ok", "store": "duckdb", "schema_version": 5}


def _client(**kwargs) -> tuple[carbon254.Client, list[float]]:
    client = carbon254.Client(URL, **kwargs)
    waits: list[float] = []
    client._sleep = waits.append
    return client, waits


@respx.mock
@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried(status: int) -> None:
    route = respx.get(HEALTH)
    route.side_effect = [
        httpx.Response(status),
        httpx.Response(status),
        httpx.Response(200, json=OK),
    ]
    client, waits = _client(retries=RetryPolicy(max_retries=3, backoff=0.5))
    assert client.health().status == "ok"
    assert route.call_count == 3
    assert len(waits) == 2
    assert 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0  # full jitter under a doubling cap


@respx.mock
@pytest.mark.parametrize("status", [400, 401, 404, 422, 500, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    route = respx.get(HEALTH).respond(status, json={"title": "t", "status": status, "detail": "d"})
    client, waits = _client()
    with pytest.raises(carbon254.Carbon254Error):
        client.health()
    assert route.call_count == 1 and waits == []


@respx.mock
def test_retries_run_out() -> None:
    route = respx.get(HEALTH).respond(503, json={"title": "x", "status": 503, "detail": "down"})
    client, waits = _client(retries=2)
    with pytest.raises(carbon254.ServerError, match="down"):
        client.health()
    assert route.call_count == 3 and len(waits) == 2


@respx.mock
def test_retry_after_seconds_is_honoured() -> None:
    route = respx.get(HEALTH)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "4"}),
        httpx.Response(200, json=OK),
    ]
    client, waits = _client()
    client.health()
    assert 4.0 <= waits[0] <= 4.4  # the server's wait, plus at most 10 % jitter


@respx.mock
def test_retry_after_http_date_is_honoured() -> None:
    when = datetime.now(UTC) + timedelta(seconds=6)
    route = respx.get(HEALTH)
    route.side_effect = [
        httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)}),
        httpx.Response(200, json=OK),
    ]
    client, waits = _client()
    client.health()
    assert 4.0 <= waits[0] <= 6.7


@respx.mock
def test_a_wait_longer_than_allowed_fails_at_once() -> None:
    route = respx.get(HEALTH).respond(429, headers={"Retry-After": "3600"})
    client, waits = _client(retries=RetryPolicy(max_retry_after=60))
    with pytest.raises(carbon254.RateLimitError) as caught:
        client.health()
    assert caught.value.retry_after == 3600.0
    assert route.call_count == 1 and waits == []


@respx.mock
def test_non_idempotent_requests_are_not_retried() -> None:
    route = respx.post(f"{URL}/api/v1/things").respond(503)
    client, waits = _client()
    with pytest.raises(carbon254.ServerError):
        client._run(Call("POST", "/api/v1/things", lambda r: r, json={"a": 1}))
    assert route.call_count == 1 and waits == []
    failing = respx.post(f"{URL}/api/v1/other").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(carbon254.TransportError):
        client._run(Call("POST", "/api/v1/other", lambda r: r))
    assert failing.call_count == 1


@respx.mock
def test_connection_errors_are_retried() -> None:
    route = respx.get(HEALTH)
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(200, json=OK)]
    client, waits = _client()
    assert client.health().status == "ok"
    assert route.call_count == 2 and len(waits) == 1


def test_read_timeout_on_a_silent_server_is_retried_then_raised() -> None:
    with silent_server() as (url, accepted):
        policy = RetryPolicy(max_retries=2, backoff=0.01)
        with carbon254.Client(url, timeout=0.2, retries=policy) as client:
            started = time.monotonic()
            with pytest.raises(carbon254.Timeout) as caught:
                client.health()
            elapsed = time.monotonic() - started
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert len(accepted) == 3  # the first attempt and two retries
    assert 0.6 <= elapsed < 3


def test_connection_refused_is_a_transport_error_after_retries() -> None:
    with (
        carbon254.Client(closed_port(), retries=RetryPolicy(max_retries=2, backoff=0.01)) as client,
        pytest.raises(carbon254.TransportError),
    ):
        client.health()


def test_retry_after_from_a_real_server() -> None:
    """A fault-injecting server over a real socket: 503 with Retry-After, then healthy."""
    import orjson

    app = Scripted(
        (503, {"Retry-After": "1", "Content-Type": "application/problem+json"}, b"{}"),
        (200, {"Content-Type": "application/json"}, orjson.dumps(OK)),
    )
    with run_server(app) as url, carbon254.Client(url) as client:  # type: ignore[arg-type]
        started = time.monotonic()
        assert client.health().schema_version == 5
        elapsed = time.monotonic() - started
    assert len(app.requests) == 2
    assert 1.0 <= elapsed < 3


@respx.mock
def test_async_client_retries_the_same_way() -> None:
    route = respx.get(HEALTH)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.ReadTimeout("slow"),
        httpx.Response(200, json=OK),
    ]
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async def main() -> str:
        async with carbon254.AsyncClient(URL) as client:
            client._sleep = record
            return (await client.health()).status

    assert asyncio.run(main()) == "ok"
    assert route.call_count == 3 and 2.0 <= waits[0] <= 2.2 and len(waits) == 2


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0  # past
    for bad in (None, "", "soon", "-5"):
        assert parse_retry_after(bad) is None


def test_backoff_caps_double_and_are_bounded() -> None:
    policy = RetryPolicy(max_retries=10, backoff=0.5, max_backoff=5.0)
    caps = [policy.backoff_delay(n, rand=lambda: 1.0) for n in range(6)]
    assert caps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(0, None, rand=lambda: 0.0) == 0.0
    assert policy.delay(10, None) is None  # retries used up
    assert RetryPolicy(max_retries=0).delay(0, 1.0) is None
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)


def test_async_read_timeout_on_a_silent_server() -> None:
    async def main() -> None:
        policy = RetryPolicy(max_retries=1, backoff=0.01)
        async with carbon254.AsyncClient(url, timeout=0.2, retries=policy) as client:
            await client.health()

    with silent_server() as (url, accepted), pytest.raises(carbon254.Timeout):
        asyncio.run(main())
    assert len(accepted) == 2


@respx.mock
@pytest.mark.parametrize("error", [httpx.ReadError, httpx.WriteError])
def test_a_reset_connection_is_retried_for_idempotent_requests_only(error: type) -> None:
    route = respx.get(HEALTH)
    route.side_effect = [error("connection reset by peer"), httpx.Response(200, json=OK)]
    client, waits = _client()
    assert client.health().status == "ok"
    assert route.call_count == 2 and len(waits) == 1
    failing = respx.post(f"{URL}/api/v1/other").mock(side_effect=error("reset"))
    with pytest.raises(carbon254.TransportError):
        client._run(Call("POST", "/api/v1/other", lambda r: r))
    assert failing.call_count == 1
