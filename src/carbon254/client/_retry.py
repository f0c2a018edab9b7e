"""When to retry a request and how long to wait: pure decisions, no I/O.

Only idempotent methods are retried, on 429/502/503/504 and on connection failures and
timeouts. The wait is exponential backoff with full jitter (uniform in [0, cap]); a
`Retry-After` from the server (seconds or an HTTP date) replaces it, so a rate-limited
client waits exactly as long as it was told. A `Retry-After` longer than
`max_retry_after` is not waited out: the error is raised at once with `retry_after` set.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["RETRY_METHODS", "RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Failures where the request certainly or very likely never reached a handler that acted
# on it, or where the server just did not answer in time; safe for idempotent methods.
# A reset keep-alive connection surfaces as ReadError/WriteError: retrying an idempotent
# request on a fresh connection is what a browser would do.
_RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.ConnectError,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds (>= 0): delay-seconds or an HTTP date; None if absent/bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        seconds = float(text)  # not RFC 9110, but some servers send "1.5"
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a client retries. `RetryPolicy(max_retries=0)` turns retries off."""

    max_retries: int = 3
    """Retries after the first attempt (so at most `max_retries + 1` requests)."""
    backoff: float = 0.5
    """Cap of the first wait in seconds; the cap doubles with each retry."""
    max_backoff: float = 30.0
    """Largest computed wait (Retry-After is honoured up to `max_retry_after`)."""
    max_retry_after: float = 120.0
    """A server asking for a longer wait than this fails at once (RateLimitError etc.)."""
    statuses: frozenset[int] = RETRY_STATUSES
    methods: frozenset[str] = RETRY_METHODS

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("backoff, max_backoff and max_retry_after must be >= 0")

    def retries_method(self, method: str) -> bool:
        return method.upper() in self.methods

    def retries_status(self, method: str, status: int) -> bool:
        return self.retries_method(method) and status in self.statuses

    def retries_exception(self, method: str, exc: Exception) -> bool:
        return self.retries_method(method) and isinstance(exc, _RETRY_EXCEPTIONS)

    def backoff_delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter wait before retry number `retry` (0 for the first retry)."""
        cap = min(self.max_backoff, self.backoff * (2**retry))
        return cap * rand()

    def delay(
        self, retry: int, retry_after: float | None, rand: Callable[[], float] = random.random
    ) -> float | None:
        """The wait before retry number `retry`, or None when it must not be retried
        (retries used up, or the server asks for longer than `max_retry_after`)."""
        if retry >= self.max_retries:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            # Honour the server's wait; a little jitter keeps a crowd from returning at once.
            return retry_after + min(1.0, 0.1 * retry_after) * rand()
        return self.backoff_delay(retry, rand)
