"""Change events: ingestion announces which instruments a committed batch changed.

Two things listen: the API's response cache (each instrument carries a generation number
that a change bumps, so cached responses over that instrument stop matching) and live
subscriptions (GraphQL, streaming clients), which push the new intervals.

`LocalChangeFeed` serves one process (the embedded scheduler and the API together);
a Redis-backed feed serves several (Airflow workers writing, API processes reading).
`open_change_feed()` picks one from `CARBON254_REDIS_URL`.

Every publish also bumps the pseudo-instrument `ALL` ("*"), the generation of answers
that cover every instrument (the latest price of all of them). A feed's `epoch` names
its counters' lifetime: when the counters are lost (a Redis restart without
persistence, an eviction), the epoch changes, so no cached answer keyed by an old
count can match again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ALL",
    "ChangeEvent",
    "ChangeFeed",
    "FeedUnavailable",
    "Generations",
    "LocalChangeFeed",
    "announce_prices",
    "default_change_feed",
    "open_change_feed",
    "set_default_change_feed",
]

ALL = "*"
"""Pseudo-instrument whose generation every publish bumps."""

log = logging.getLogger("carbon254.ingest.events")


class FeedUnavailable(RuntimeError):
    """The feed's counters cannot be read (its Redis is down); callers must not guess."""


class Generations(NamedTuple):
    """Generations of some instruments, read together, and the counters' epoch."""

    epoch: str
    values: list[int]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """Instruments whose stored values a committed batch changed."""

    instruments: tuple[str, ...]
    dataset: str | None = None
    batch_id: int | None = None
    at: datetime = field(default_factory=_now)

    def to_json(self) -> bytes:
        return _dumps(
            {
                "instruments": list(self.instruments),
                "dataset": self.dataset,
                "batch_id": self.batch_id,
                "at": self.at.astimezone(UTC).isoformat(),
            }
        )

    @classmethod
    def from_json(cls, data: bytes | str) -> ChangeEvent:
        body = json.loads(data)
        return cls(
            instruments=tuple(body["instruments"]),
            dataset=body.get("dataset"),
            batch_id=body.get("batch_id"),
            at=datetime.fromisoformat(body["at"]),
        )


class ChangeFeed(ABC):
    """Per-instrument generations plus a stream of change events."""

    @abstractmethod
    def publish(self, event: ChangeEvent) -> None:
        """Bump the generation of every instrument in `event`, then notify subscribers.

        Called from ingestion threads after the batch committed; must not raise for a
        feed that is down (the data is stored; only caches and pushes are late).
        """

    @abstractmethod
    def generations(self, instruments: Sequence[str]) -> list[int]:
        """The current generation of each instrument (0 if never bumped), in order.

        Raises `FeedUnavailable` when they cannot be read."""

    async def read_generations(self, instruments: Sequence[str]) -> Generations:
        """`generations()` with the epoch, for async callers (the response cache).

        A network-backed feed overrides this so the event loop never blocks on it."""
        return Generations("", self.generations(instruments))

    @abstractmethod
    def subscribe(self) -> AsyncIterator[ChangeEvent]:
        """Events published from now on, until the consumer stops iterating."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class LocalChangeFeed(ChangeFeed):
    """In-process feed: counters in a dict, one asyncio queue per subscriber."""

    def __init__(self, queue_size: int = 1024) -> None:
        self._lock = threading.Lock()
        self._gens: dict[str, int] = {}
        self._subscribers: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = set()
        self._queue_size = queue_size

    def publish(self, event: ChangeEvent) -> None:
        with self._lock:
            for instrument in (*event.instruments, ALL):
                self._gens[instrument] = self._gens.get(instrument, 0) + 1
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(_offer, queue, event)

    def generations(self, instruments: Sequence[str]) -> list[int]:
        with self._lock:
            return [self._gens.get(i, 0) for i in instruments]

    async def subscribe(self) -> AsyncIterator[ChangeEvent]:
        queue: asyncio.Queue[ChangeEvent] = asyncio.Queue(self._queue_size)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.add(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subscribers.discard(entry)


def _offer(queue: asyncio.Queue, event: ChangeEvent) -> None:
    """A slow subscriber loses its oldest event rather than blocking ingestion."""
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(event)


_default: ChangeFeed | None = None
_default_lock = threading.Lock()


def open_change_feed(redis_url: str | None = None, namespace: str | None = None) -> ChangeFeed:
    """A Redis feed when a URL is given or `CARBON254_REDIS_URL` is set, else a local one.

    `namespace` (default `CARBON254_REDIS_NAMESPACE`, else "c254") prefixes its keys and
    channel, so environments can share one Redis."""
    url = redis_url or os.environ.get("CARBON254_REDIS_URL")
    if url:
        from ._redis_feed import RedisChangeFeed

        ns = namespace or os.environ.get("CARBON254_REDIS_NAMESPACE") or "c254"
        return RedisChangeFeed(url, namespace=ns)
    return LocalChangeFeed()


def default_change_feed() -> ChangeFeed:
    """The process's feed, which ingestion publishes to (opened on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = open_change_feed()
        return _default


def set_default_change_feed(
    feed: ChangeFeed | None, *, replacing: ChangeFeed | None = None
) -> None:
    """Install `feed` as the process's feed (the API does, so both sides share one).

    With `replacing`, only if that feed is still the default: an application that closes
    its feed withdraws it without undoing what another application installed since.
    """
    global _default
    with _default_lock:
        if replacing is None or _default is replacing:
            _default = feed


_last_failure_log = -float("inf")


def announce_prices(table: pa.Table, *, dataset: str | None, batch_id: int | None) -> None:
    """Publish the instruments of a committed price batch to the process's feed.

    Ingestion calls this after the store committed rows that changed. It never raises:
    the rows are stored whatever happens here; a lost event only leaves caches to their
    TTL. Failures are logged at most once a minute.
    """
    global _last_failure_log
    try:
        import pyarrow.compute as pc

        instruments = tuple(pc.unique(table.column("instrument")).to_pylist())
        default_change_feed().publish(ChangeEvent(instruments, dataset, batch_id))
    except Exception as exc:  # announcing must never fail the ingest
        now = time.monotonic()
        if now - _last_failure_log >= 60.0:
            _last_failure_log = now
            log.warning(
                "change feed: could not announce batch %s of %s: %s", batch_id, dataset, exc
            )


def _dumps(body: dict) -> bytes:
    # The standard library, not orjson: ingestion also runs in the Airflow environment,
    # which carries only what the jobs need.
    return json.dumps(body, separators=(",", ":")).encode()
