"""A token bucket per host: the rate-limit budget a dataset declares, enforced on fetch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateBudget", "TokenBucket", "bucket_for"]


@dataclass(frozen=True, slots=True)
class RateBudget:
    """`requests` per `per_seconds`, with bursts up to `burst` (default: `requests`)."""

    requests: float
    per_seconds: float
    burst: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.per_seconds

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.requests)


class TokenBucket:
    """Thread-safe token bucket. `acquire()` blocks (through `sleep`) until a token is free."""

    def __init__(
        self,
        budget: RateBudget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._tokens = budget.capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(
            self.budget.capacity, self._tokens + (now - self._stamp) * self.budget.rate
        )
        self._stamp = now

    def acquire(self) -> float:
        """Take one token; return the seconds waited for it."""
        waited = 0.0
        while True:
            with self._lock:
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return waited
                wait = (1.0 - self._tokens) / self.budget.rate
            self._sleep(wait)
            waited += wait


_BUCKETS: dict[tuple[str, RateBudget], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(host: str, budget: RateBudget) -> TokenBucket:
    """The process-wide bucket for `host`: every dataset on one host shares its budget."""
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get((host, budget))
        if bucket is None:
            bucket = _BUCKETS[(host, budget)] = TokenBucket(budget)
        return bucket
