"""The connector contract: what every ISO dataset declares, and how a range is split.

A dataset is a class with declarations (transport, auth, rate budget, chunking, raw
columns, time rule, components, revision policy, what it writes) and two functions kept
apart on purpose: `fetch` (network → `RawResponse`s) and `parse` (bytes → a canonical
Arrow table). Parsing is pure, so it is tested on recorded bytes with no network.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

import pyarrow as pa

from ..core.intervals import market_day
from ..core.markets import Iso, Market, Product
from .errors import MissingCredentials
from .http import HttpFetcher, RawResponse
from .ratelimit import RateBudget

__all__ = [
    "Auth",
    "Chunking",
    "Components",
    "Dataset",
    "RevisionPolicy",
    "Target",
    "TimeRule",
    "Transport",
    "Window",
]


class Transport(StrEnum):
    JSON_API = "json-api"  # paginated JSON (PJM Data Miner, ERCOT public API)
    DOC_LIST = "doc-list"  # a list of documents, each a zip of CSV (ERCOT MIS, archives)
    FILE_TREE = "file-tree"  # files at predictable paths (SPP, MISO, NYISO)
    REPORT = "report"  # published auction reports, parsed from tables (PJM RPM)


class TimeRule(StrEnum):
    UTC_FIELD = "utc-field"  # a UTC timestamp column (PJM datetime_beginning_utc)
    LOCAL_DST_FLAG = "local+dst-flag"  # local prevailing time plus a repeated-hour flag
    HOUR_ENDING = "hour-ending"  # local date + hour ending 01:00..24:00 (+ DST flag)
    HOUR_ENDING_ELAPSED = "hour-ending-elapsed"  # HE 1..23/24/25 counted from midnight
    PERIOD = "period"  # a delivery period (capacity years), not market intervals


class Components(StrEnum):
    PUBLISHED = "published"  # energy, congestion and loss all published
    DERIVED_ENERGY = "derived-energy"  # energy = LMP - congestion - loss
    NONE = "none"  # a price with no components (ERCOT SPP, AS clearing prices)


class RevisionPolicy(StrEnum):
    VERSIONED = "versioned"  # rows carry a version; the current one is stored, old ones revised
    CORRECTIONS = "corrections"  # corrections arrive as separate reports that restate rows
    LATEST_WINS = "latest-wins"  # a re-published row replaces the stored one
    FINAL = "final"  # published once, never restated


class Target(StrEnum):
    """Which store table the parsed rows go to."""

    PRICES = "prices"
    LOCATIONS = "locations"
    CONSTRAINTS = "constraints"
    TELEMETRY = "telemetry"
    QUANTITIES = "quantities"  # market quantities that are not prices (cleared AS MW)


@dataclass(frozen=True, slots=True)
class Auth:
    """Environment variables that hold the credentials; their values are never logged."""

    env: tuple[str, ...] = ()
    optional: bool = False  # e.g. ERCOT MIS documents need none, the API needs both

    def values(self, dataset: str) -> dict[str, str]:
        """The credentials, stripped. A value with a control character (a CR left by a
        Windows .env file) is refused here, naming only the variable: sent as a header
        it would make httpx raise an error that quotes the secret."""
        found = {name: os.environ.get(name, "").strip() for name in self.env}
        missing = [name for name, value in found.items() if not value]
        if missing and not self.optional:
            raise MissingCredentials(
                dataset, f"set {', '.join(missing)} in the environment to fetch this dataset"
            )
        for name, value in found.items():
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
                raise MissingCredentials(
                    dataset, f"{name} contains a control character; set it to the bare value"
                )
        return {name: value for name, value in found.items() if value}


@dataclass(frozen=True, slots=True)
class Window:
    """One request's time span `[start, end)` in UTC; `archived` when older than the
    upstream's archive horizon (PJM: no node filter there)."""

    start: datetime
    end: datetime
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Chunking:
    """How a time range is split into requests.

    Windows are whole local market days (never `timedelta(days=1)` on UTC), at most
    `max_days` each, never across a year boundary when `split_years`, and never across
    the archive horizon (`archive_after` before now) when one is declared.
    """

    max_days: int = 1
    split_years: bool = False
    archive_after: timedelta | None = None

    def split(
        self, iso: Iso, start: date, end: date, *, now: datetime | None = None
    ) -> list[Window]:
        """Windows covering local market days `start` .. `end` (inclusive)."""
        if end < start:
            raise ValueError(f"end day {end} is before start day {start}")
        now = now or datetime.now(UTC)
        horizon = None if self.archive_after is None else now - self.archive_after
        windows: list[Window] = []
        day = start
        while day <= end:
            first = day
            count = 1
            while (
                count < self.max_days
                and (last := first + timedelta(days=count)) <= end
                and not (self.split_years and last.year != first.year)
                and _same_side(iso, first, last, horizon)
            ):
                count += 1
            last_day = first + timedelta(days=count - 1)
            w_start = market_day(iso, first)[0]
            w_end = market_day(iso, last_day)[1]
            archived = horizon is not None and w_end <= horizon
            windows.append(Window(w_start, w_end, archived))
            day = last_day + timedelta(days=1)
        return windows


def _same_side(iso: Iso, first: date, other: date, horizon: datetime | None) -> bool:
    if horizon is None:
        return True
    a = market_day(iso, first)[1] <= horizon
    b = market_day(iso, other)[1] <= horizon
    return a == b


class Dataset(ABC):
    """One upstream dataset. Subclasses set the declarations and write fetch and parse."""

    name: ClassVar[str]  # "pjm.da_hrl_lmps": iso prefix + the upstream's own feed name
    iso: ClassVar[Iso]
    description: ClassVar[str]
    target: ClassVar[Target] = Target.PRICES
    transport: ClassVar[Transport]
    auth: ClassVar[Auth] = Auth()
    budget: ClassVar[RateBudget | None] = None
    chunking: ClassVar[Chunking] = Chunking()
    raw_columns: ClassVar[tuple[str, ...]] = ()
    time_rule: ClassVar[TimeRule]
    components: ClassVar[Components] = Components.NONE
    revisions: ClassVar[RevisionPolicy] = RevisionPolicy.LATEST_WINS
    # For price datasets: the (market, product) series it writes, for quality checks.
    produces: ClassVar[tuple[tuple[Market, Product], ...]] = ()

    def windows(self, start: date, end: date, *, now: datetime | None = None) -> list[Window]:
        return self.chunking.split(self.iso, start, end, now=now)

    @abstractmethod
    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        """Every raw response (pages, documents) needed for `window`."""

    @abstractmethod
    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        """The canonical table for `target` built from `raws`; raises `PayloadError`."""

    def produces_on(self, day: date) -> tuple[tuple[Market, Product], ...]:
        """The series the dataset publishes for local market `day` (quality checks expect
        only these). Override when the upstream changed its products on a date."""
        return self.produces

    def locations(self, raws: Sequence[RawResponse]) -> pa.Table | None:
        """Location directory rows implied by the data itself (ERCOT), if any."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
