"""Reading one page of a price query: the cursor goes into the store reads, not a slice.

A page is the next `limit` rows in (instrument, interval_start) order after a position.
The walk takes the requested instruments in sorted order and, from the catalogue's
first/last stored interval and each market's interval length, knows an upper bound on
the rows each can contribute. Instruments that surely fit in the room left are read
together (one query); an instrument with more rows than fit is read alone, in time
windows sized to the room left (an index range, never the rest of its range), growing
when gaps leave a window short. Each page costs about what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa

from ..core import InstrumentId, market_day
from ..core.schema import PRICE_SCHEMA, RESAMPLE_SCHEMA
from ..store.base import Peak, PriceStore
from .cursor import Position
from .params import RESAMPLE_STEPS
from .problems import Problem

__all__ = ["Page", "SeriesSpec", "read_page"]

_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORDER = [("instrument", "ascending"), ("interval_start", "ascending")]


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """Which rows a price query returns (everything but the page)."""

    instruments: tuple[str, ...]
    start: datetime
    end: datetime
    as_of: datetime | None = None
    peak: Peak | None = None
    resample: str | None = None  # a `params.RESAMPLE_FREQS` member, or raw rows
    agg: str = "mean"


@dataclass(frozen=True, slots=True)
class Page:
    table: pa.Table
    next: Position | None  # the last row served, when more rows follow


def read_page(store: PriceStore, spec: SeriesSpec, *, limit: int, after: Position | None) -> Page:
    """The `limit` rows of `spec` that follow `after` (from the start when None)."""
    walk = _Walk(store, spec)
    ids = sorted(spec.instruments)
    tasks: list[tuple[str, datetime]] = []
    if after is not None:
        if after.instrument not in spec.instruments:
            raise Problem(422, f"cursor names {after.instrument}, not one of the instruments")
        tasks.append((after.instrument, walk.resume(after)))
        ids = [i for i in ids if i > after.instrument]
    tasks += [(i, spec.start) for i in ids]
    want = limit + 1  # one row more than the page tells whether another page follows
    parts: list[pa.Table] = []
    got, k = 0, 0
    if len(tasks) == 1:
        # One instrument: its ordered read stops at `want` rows by itself (the store's
        # LIMIT; a year of buckets at most when resampled), so no bounds, no catalogue
        # read (a third of the store time of a node-day request).
        instrument, lo = tasks[0]
        parts.append(walk.fetch([instrument], lo, spec.end, want))
        got, k = parts[0].num_rows, 1
    while k < len(tasks) and got < want:
        room = want - got
        instrument, lo = tasks[k]
        bound = walk.bound(instrument, lo, spec.end)
        if bound == 0:
            k += 1
            continue
        if bound is not None and bound <= room:
            first_task = k
            group, total, k = [instrument], bound, k + 1
            while lo == spec.start and k < len(tasks):
                more = walk.bound(tasks[k][0], spec.start, spec.end)
                if more is None or total + more > room:
                    break
                if more:
                    group.append(tasks[k][0])
                total, k = total + more, k + 1
            table = walk.fetch(group, lo, spec.end, room)
            if len(group) > 1 and table.num_rows >= room:
                # More rows than the bounds allow (overlapping intervals): redo one by one.
                table, k = walk.fetch(group[:1], lo, spec.end, room), first_task + 1
        else:
            table, k = walk.windowed(instrument, lo, spec.end, room), k + 1
        parts.append(table)
        got += table.num_rows
    table = pa.concat_tables(parts) if parts else walk.schema.empty_table()
    if table.num_rows <= limit:
        return Page(table, None)
    last = table.slice(limit - 1, 1).select(["instrument", "interval_start"]).to_pylist()[0]
    return Page(table.slice(0, limit), Position(last["instrument"], last["interval_start"]))


class _Walk:
    """Row bounds, windows and reads of one spec: raw rows or resampled buckets."""

    def __init__(self, store: PriceStore, spec: SeriesSpec) -> None:
        self.store = store
        self.spec = spec
        self.schema = RESAMPLE_SCHEMA if spec.resample else PRICE_SCHEMA
        self.step = RESAMPLE_STEPS.get(spec.resample or "")
        self.ids = {i: InstrumentId.parse(i) for i in spec.instruments}
        self._spans: dict[str, tuple[datetime | None, datetime | None]] | None = None

    @property
    def spans(self) -> dict[str, tuple[datetime | None, datetime | None]]:
        """First and last stored interval per instrument (read once, when a bound is)."""
        if self._spans is None:
            rows = self.store.instruments(instruments=list(self.spec.instruments)).to_pylist()
            self._spans = {r["instrument"]: (r["first_interval"], r["last_interval"]) for r in rows}
        return self._spans

    # -- how many rows, and where windows end ------------------------------------------
    def bound(self, instrument: str, lo: datetime, hi: datetime) -> int | None:
        """At most this many rows in [lo, hi); None when unknowable (period-priced)."""
        first, last = self.spans[instrument]
        if first is None or last is None:
            return 0
        a, b = max(lo, first), min(hi - _US, last)
        if a > b:
            return 0
        iid = self.ids[instrument]
        if self.spec.resample is None:
            if iid.product.is_period_priced:
                return None
            return (b - a) // iid.market.interval + 1
        if self.step is not None:
            return _ticks(b, self.step) - _ticks(a, self.step) + 1
        da, db = _local_date(iid, a), _local_date(iid, b)
        if self.spec.resample == "daily":
            return (db - da).days + 1
        return (db.year - da.year) * 12 + db.month - da.month + 1

    def window_end(self, instrument: str, lo: datetime, rows: int) -> datetime:
        """The end of a window from `lo` holding at most `rows` rows (buckets)."""
        iid = self.ids[instrument]
        if self.spec.resample is None:
            if iid.product.is_period_priced:
                return self.spec.end
            return lo + rows * iid.market.interval
        if self.step is not None:
            return _EPOCH + (_ticks(lo, self.step) + rows) * self.step
        day = _local_date(iid, lo)
        if self.spec.resample == "daily":
            return market_day(iid.iso, day + timedelta(days=rows))[0]
        return market_day(iid.iso, _add_months(day, rows))[0]

    def resume(self, after: Position) -> datetime:
        """Where the instrument of the last row served continues."""
        if self.spec.resample is None:
            return after.interval_start + _US
        return self.window_end(after.instrument, after.interval_start, 1)

    # -- reads -------------------------------------------------------------------------
    def fetch(self, group: list[str], lo: datetime, hi: datetime, limit: int) -> pa.Table:
        """Rows of `group` in [lo, hi), at most `limit`, in (instrument, time) order."""
        if lo >= hi:
            return self.schema.empty_table()
        spec = self.spec
        if spec.resample is None:
            table = self.store.read_prices(
                group, lo, hi, as_of=spec.as_of, peak=spec.peak, limit=limit
            )
        else:
            table = self.store.resample(
                group, lo, hi, freq=spec.resample, how=spec.agg, peak=spec.peak, as_of=spec.as_of
            )  # type: ignore[arg-type]
        # The SQL orders by its collation; the walk (and its cursors) by code point.
        table = table.sort_by(_ORDER) if len(group) > 1 else table
        return table.slice(0, limit)

    def windowed(self, instrument: str, lo: datetime, hi: datetime, room: int) -> pa.Table:
        """Up to `room` rows of one instrument from `lo`, in windows sized to fit."""
        first, last = self.spans[instrument]
        assert first is not None and last is not None
        lo, stop = max(lo, first), min(hi, last + _US)
        parts, got, factor = [], 0, 1
        while got < room and lo < stop:
            upto = min(stop, self.window_end(instrument, lo, (room - got) * factor))
            table = self.fetch([instrument], lo, upto, room - got)
            parts.append(table)
            got += table.num_rows
            lo, factor = upto, factor * 4  # a short window means gaps: look further
        return pa.concat_tables(parts) if parts else self.schema.empty_table()


def _ticks(instant: datetime, step: timedelta) -> int:
    return (instant - _EPOCH) // step


def _local_date(iid: InstrumentId, instant: datetime) -> date:
    return instant.astimezone(iid.iso.tz).date()


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
