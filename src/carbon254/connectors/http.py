"""HTTP for connectors: timeouts, retries with jittered backoff that honour Retry-After,
a per-host rate budget, and secrets kept out of URLs, logs and errors.

Every fetch returns a `RawResponse`: the exact bytes with the url they came from and
when. Parsing happens elsewhere, on bytes, so it can be tested with no network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from .errors import FetchError, RateLimited
from .ratelimit import RateBudget, bucket_for

__all__ = [
    "HttpFetcher",
    "RawResponse",
    "RetryPolicy",
    "parse_retry_after",
    "scrub_url",
]

log = logging.getLogger("carbon254.connectors")

# Query parameters and headers whose values are secrets: never logged, stored or raised.
SECRET_NAMES = frozenset(
    {
        "authorization",
        "ocp-apim-subscription-key",
        "subscription-key",
        "x-api-key",
        "api_key",
        "apikey",
        "password",
        "client_secret",
        "token",
        "id_token",
        "access_token",
    }
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(15.0, read=120.0)


@dataclass(frozen=True, slots=True)
class RawResponse:
    """The bytes of one response, as received, with where and when they came from."""

    dataset: str
    url: str  # secrets scrubbed
    fetched_at: datetime
    content: bytes
    content_type: str | None = None
    status: int = 200
    meta: Mapping[str, Any] = field(default_factory=dict)
    # The identity of the bytes, computed once when the response is made (while the
    # next page is still on the wire) rather than on every use: a PJM 5-minute day is
    # 1.3 GB of pages. Give it only to copy a response whose content is unchanged.
    sha256: str = ""

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", hashlib.sha256(self.content).hexdigest())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Up to `attempts` tries; the n-th retry waits base·2^(n-1), capped, with ±jitter.

    A Retry-After header replaces the computed wait. One longer than `max_retry_after`
    fails the request at once (`RateLimited` with the hint): a server asking for an hour
    is better answered by letting the scheduler come back than by holding a worker.
    """

    attempts: int = 4
    base: float = 1.0
    cap: float = 30.0
    jitter: float = 0.25
    max_retry_after: float = 120.0

    def delay(self, retry: int, retry_after: float | None = None, *, rng: random.Random) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        wait = min(self.cap, self.base * 2 ** (retry - 1))
        return max(0.0, wait * (1.0 + rng.uniform(-self.jitter, self.jitter)))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def scrub_url(url: str | httpx.URL) -> str:
    """The url with secret query parameters removed (the value, not just masked)."""
    parts = urlsplit(str(url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if k.lower() not in SECRET_NAMES]
    return urlunsplit(parts._replace(query=urlencode(kept, safe=":/;,*")))


def _client_from_env() -> httpx.Client:
    """A real client, or one that replays recorded responses when CARBON254_HTTP_REPLAY is set."""
    replay = os.environ.get("CARBON254_HTTP_REPLAY")
    if replay:
        from .replay import ReplayTransport

        return httpx.Client(transport=ReplayTransport(replay), timeout=DEFAULT_TIMEOUT)
    return httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=True, http2=False)


class HttpFetcher:
    """Sends requests for connectors with retries, backoff and per-host rate budgets.

    `sleep` and `rng` are injectable so tests run the retry schedule without waiting.
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client if client is not None else _client_from_env()
        self._owns_client = client is None
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.slept: list[float] = []  # retry waits, for logs and tests

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        dataset: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        budget: RateBudget | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> RawResponse:
        return self.request(
            dataset, "GET", url, params=params, headers=headers, budget=budget, meta=meta
        )

    def request(
        self,
        dataset: str,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        budget: RateBudget | None = None,
        meta: Mapping[str, Any] | None = None,
        retry_statuses: frozenset[int] | None = None,
    ) -> RawResponse:
        """Send one request, retrying transient failures; raise a typed error otherwise.

        Only GET is retried by default: re-sending a POST is safe only where the caller
        knows the endpoint is idempotent (a token or download request), so it opts in by
        passing `retry_statuses` for POST as well.
        """
        idempotent = method.upper() in ("GET", "HEAD") or retry_statuses is not None
        if retry_statuses is None:
            retry_statuses = RETRY_STATUSES if idempotent else frozenset()
        attempts = self.retry.attempts if idempotent else 1
        request = self._client.build_request(
            method, url, params=params, headers=headers, data=data, json=json
        )
        shown = scrub_url(request.url)
        host = request.url.host
        last: str = "no attempt made"
        retry_after: float | None = None
        status: int | None = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                wait = self.retry.delay(attempt - 1, retry_after, rng=self._rng)
                log.info(
                    "%s: retry %d of %s in %.2fs (%s)", dataset, attempt - 1, shown, wait, last
                )
                self.slept.append(wait)
                self._sleep(wait)
            if budget is not None:
                bucket_for(host, budget).acquire()
            retry_after = None
            try:
                response = self._client.send(request)
            except httpx.TimeoutException as exc:
                last, status = f"timed out ({type(exc).__name__})", None
                continue
            except httpx.LocalProtocolError as exc:
                # Raised before sending, for a malformed request; its text can quote a
                # header value (a secret), so only the type is reported. Not retryable.
                raise FetchError(
                    dataset, f"request could not be sent ({type(exc).__name__}): {shown}"
                ) from None
            except httpx.TransportError as exc:
                last, status = f"connection failed ({type(exc).__name__}: {exc})", None
                continue
            status = response.status_code
            if status < 400:
                return RawResponse(
                    dataset=dataset,
                    url=shown,
                    fetched_at=datetime.now(UTC),
                    content=response.content,
                    content_type=response.headers.get("content-type"),
                    status=status,
                    meta=dict(meta or {}) | _disposition(response),
                )
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            last = f"HTTP {status}"
            if status not in retry_statuses:
                raise FetchError(dataset, _status_message(status, shown), status=status)
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                # Asked to come back much later: fail now and let the scheduler return.
                raise RateLimited(
                    dataset,
                    f"HTTP {status} from {host} asks to retry after {retry_after:.0f}s: {shown}",
                    retry_after=retry_after,
                )
        if status == 429:
            raise RateLimited(
                dataset,
                f"rate limited (HTTP 429) by {host} after {attempts} attempts: {shown}",
                retry_after=retry_after,
            )
        raise FetchError(dataset, f"{last} after {attempts} attempts: {shown}", status=status)


def _status_message(status: int, url: str) -> str:
    if status in (401, 403):
        return f"HTTP {status} from {url}: check the credentials for this dataset"
    if status == 404:
        return f"HTTP 404 from {url}: the endpoint or document does not exist (moved upstream?)"
    return f"HTTP {status} from {url}"


def _disposition(response: httpx.Response) -> dict[str, Any]:
    value = response.headers.get("content-disposition")
    if not value or "filename=" not in value:
        return {}
    name = value.split("filename=", 1)[1].split(";", 1)[0].strip().strip('"')
    return {"filename": name}
