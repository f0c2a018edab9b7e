"""What the sync and async clients share: configuration, request building, error mapping
and retry decisions. The two clients differ only in how they wait and send.

An API operation is a `Call`: method, path, query parameters, `Accept`, and a `parse`
function from the response to the result. Tabular operations are `Paged`: their `parse`
gives one `Page`, and `build` turns the pages into a frame.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

import httpx

from .. import __version__
from ._retry import RetryPolicy, parse_retry_after
from ._wire import ARROW_STREAM, JSON, Page, loads, media_type
from .errors import (
    AuthenticationError,
    Carbon254Error,
    NotFound,
    PermissionDenied,
    RateLimitError,
    ServerError,
    Timeout,
    TransportError,
    ValidationError,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "Call",
    "Config",
    "Paged",
    "Wire",
    "error_for",
    "instant",
    "instrument_list",
    "query",
    "retry_delay",
    "transport_error",
    "unreadable",
]

log = logging.getLogger("carbon254.client")

T = TypeVar("T")
F = TypeVar("F")
Wire = Literal["arrow", "json"]
Instant = datetime | date | str
DEFAULT_BASE_URL = "http://localhost:8000"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""30 s to read a response (a year of 5-minute prices is ~100 k rows), 5 s to connect."""
_ACCEPT = {"arrow": ARROW_STREAM, "json": JSON}


# -- operations ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its response."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: tuple[tuple[str, str], ...] = ()
    accept: str = JSON
    json: Any = None
    ok: frozenset[int] = frozenset()
    """Error statuses that `parse` reads instead of raising (e.g. 503 from `/ready`)."""
    retry: bool = True
    """False: never retried, whatever the method (probes report the moment)."""

    def with_cursor(self, cursor: str) -> Call[T]:
        params = (*tuple(p for p in self.params if p[0] != "cursor"), ("cursor", cursor))
        return replace(self, params=params)


@dataclass(frozen=True, slots=True)
class Paged(Generic[F]):
    """A tabular operation: follow the cursor, then `build` a frame from the pages."""

    call: Call[Page]
    build: Callable[[Sequence[Page]], F]

    def next_call(self, call: Call[Page], page: Page, seen: set[str]) -> Call[Page] | None:
        """The request for the page after `page`, or None after the last one."""
        cursor = page.next_cursor
        if not cursor:
            if page.next_url:  # a Link without a cursor parameter: follow it as given
                if page.next_url in seen:
                    raise Carbon254Error(f"the server repeated next page {page.next_url!r}")
                seen.add(page.next_url)
                return replace(call, path=page.next_url, params=())
            return None
        if cursor in seen:
            raise Carbon254Error(f"the server repeated cursor {cursor[:40]!r}; stopping")
        seen.add(cursor)
        return call.with_cursor(cursor)


# -- parameters ------------------------------------------------------------------------
def instant(value: Instant, name: str) -> str:
    """A time parameter as the API reads it. Aware datetimes (and pandas Timestamps) are
    sent in UTC with `Z`; naive ones are taken as UTC, as the API does; dates and strings
    are sent as they are (a date means its UTC midnight)."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise TypeError(f"{name} must be a datetime, date or ISO-8601 string, not {value!r}")


def instrument_list(instruments: str | Iterable[object], name: str = "instruments") -> str:
    """One id, a comma-separated string, or an iterable of ids (str or InstrumentId)."""
    ids = [instruments] if isinstance(instruments, str) else [str(i) for i in instruments]
    text = ",".join(i.strip() for i in ids)
    if not text.strip(","):
        raise ValueError(f"{name} must name at least one instrument")
    return text


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return instant(value, "value")
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_value(v) for v in value)
    return str(value)


def query(**params: Any) -> tuple[tuple[str, str], ...]:
    """Query pairs for the non-None parameters (`in_` style names lose the underscore)."""
    return tuple((k.rstrip("_"), _value(v)) for k, v in params.items() if v is not None)


# -- configuration ---------------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    """Everything both clients are configured with (see `Client` for the meaning)."""

    base_url: str
    auth: httpx.Auth | None
    timeout: httpx.Timeout
    retry: RetryPolicy
    wire: Wire
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        base_url: str | None,
        auth: httpx.Auth | None,
        timeout: float | httpx.Timeout | None,
        retries: int | RetryPolicy,
        wire: Wire,
        headers: Mapping[str, str] | None,
    ) -> Config:
        url = base_url or os.environ.get("CARBON254_BASE_URL") or DEFAULT_BASE_URL
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {url!r}")
        if wire not in _ACCEPT:
            raise ValueError(f"wire must be 'arrow' or 'json', got {wire!r}")
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        retry = retries if isinstance(retries, RetryPolicy) else RetryPolicy(max_retries=retries)
        ua = f"carbon254-python/{__version__} httpx/{httpx.__version__}"
        merged = {"User-Agent": ua, **(headers or {})}
        return cls(url.rstrip("/"), auth, timeout, retry, wire, merged)

    def accept(self, wire: Wire | None) -> str:
        choice = wire or self.wire
        if choice not in _ACCEPT:
            raise ValueError(f"wire must be 'arrow' or 'json', got {choice!r}")
        return _ACCEPT[choice]

    def http_kwargs(self, transport: Any, limits: httpx.Limits | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "base_url": self.base_url,
            "auth": self.auth,
            "timeout": self.timeout,
            "headers": dict(self.headers),
            "follow_redirects": False,
        }
        if limits is not None:
            kwargs["limits"] = limits
        if transport is not None:
            kwargs["transport"] = transport
        return kwargs


def build_request(http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
    return http.build_request(
        call.method,
        call.path,
        params=list(call.params) or None,
        headers={"Accept": call.accept},
        json=call.json,
    )


# -- errors ----------------------------------------------------------------------------
_BY_STATUS: dict[int, type[Carbon254Error]] = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    422: ValidationError,
    429: RateLimitError,
}


def _problem(response: httpx.Response) -> dict[str, Any]:
    kind = media_type(response)
    if kind != JSON and not kind.endswith("+json"):
        return {}
    try:
        body = loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_for(response: httpx.Response) -> Carbon254Error:
    """The typed error for an error response, carrying its RFC 9457 problem body."""
    status = response.status_code
    problem = _problem(response)
    message = problem.get("detail") or problem.get("title") or response.reason_phrase
    if not problem and response.content and media_type(response).startswith("text/"):
        message = response.text.strip()[:300] or message
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else Carbon254Error)
    kwargs: dict[str, Any] = {
        "status": status,
        "problem": problem,
        "method": response.request.method,
        "url": str(response.request.url),
        "request_id": response.headers.get("x-request-id"),
    }
    if cls is RateLimitError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    return cls(str(message or f"HTTP {status}"), **kwargs)


def transport_error(request: httpx.Request, exc: Exception) -> TransportError:
    cls = Timeout if isinstance(exc, httpx.TimeoutException) else TransportError
    what = type(exc).__name__
    text = str(exc) or what
    return cls(f"{what}: {text}", method=request.method, url=str(request.url))


# -- retries ---------------------------------------------------------------------------
NO_RETRY = RetryPolicy(max_retries=0)


def retry_delay(
    policy: RetryPolicy,
    request: httpx.Request,
    retry: int,
    *,
    response: httpx.Response | None = None,
    exc: Exception | None = None,
) -> float | None:
    """Seconds to wait before retrying, or None to stop (success, or not retryable)."""
    method = request.method
    if response is not None:
        if response.status_code < 400 or not policy.retries_status(method, response.status_code):
            return None
        after = parse_retry_after(response.headers.get("retry-after"))
        delay = policy.delay(retry, after)
        what = f"HTTP {response.status_code}"
    else:
        assert exc is not None
        if not policy.retries_exception(method, exc):
            return None
        delay = policy.delay(retry, None)
        what = type(exc).__name__
    if delay is not None:
        log.info(
            "%s %s: %s; retry %d of %d in %.2f s",
            method, request.url.path, what, retry + 1, policy.max_retries, delay,
        )  # fmt: skip
    return delay


def unreadable(response: httpx.Response, exc: Exception) -> Carbon254Error:
    """A 2xx response whose body is not what the operation expects."""
    return Carbon254Error(
        f"could not read the response ({type(exc).__name__}: {exc})",
        status=response.status_code,
        method=response.request.method,
        url=str(response.request.url),
    )


def check(response: httpx.Response, ok: frozenset[int] = frozenset()) -> httpx.Response:
    """The response, or its typed error (statuses in `ok` are let through)."""
    if response.status_code >= 400 and response.status_code not in ok:
        raise error_for(response)
    return response
