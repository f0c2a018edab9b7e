"""Data quality: completeness per dataset and local market day, gaps, duplicate keys,
and the LMP components invariant.

Completeness of a day = stored rows ÷ (expected intervals × expected locations). The
expected intervals follow the market clock (`core.intervals`): 23/24/25 hours,
276/288/300 five-minute and 92/96/100 fifteen-minute intervals on DST days. The expected
locations are those the dataset priced anywhere in the period, less those the location
directory says were not in effect that day (a retired node is not missing), so a node
absent on one day shows up as missing on that day. A node never priced in the period is
not seen: nothing says it should have been.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..connectors.dataset import Dataset, Target
from ..core import Iso, Market, Product, SchemaError, market_day
from ..core.records import CONSTRAINT_KEY, QUANTITY_KEY, TELEMETRY_KEY
from ..store import PriceStore

__all__ = [
    "TARGET",
    "DatasetQuality",
    "DayQuality",
    "DuplicateKeys",
    "Gap",
    "QualityReport",
    "batch_key",
    "duplicate_keys",
    "expected_intervals",
    "quality_report",
    "raise_on_duplicates",
]

TARGET = 0.999  # completeness every dataset must reach (99.9 %)
MAX_GAP_READS = 200  # instrument-days read back to list the missing intervals
MAX_MISSING_LISTED = 20  # locations named per day in the report


class DuplicateKeys(SchemaError):
    """A parsed batch holds the same key more than once; nothing of it is stored."""


def batch_key(target: Target) -> tuple[str, ...]:
    """The key that must be unique within one batch for `target`."""
    return {
        Target.PRICES: ("instrument", "interval_start"),
        Target.LOCATIONS: ("iso", "location", "effective_date"),
        Target.CONSTRAINTS: CONSTRAINT_KEY,
        Target.TELEMETRY: TELEMETRY_KEY,
        Target.QUANTITIES: QUANTITY_KEY,
    }[Target(target)]


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Dense codes 0..n-1, equal exactly where the values are (one code for null), and n.
    Hash-based (`dictionary_encode`): linear in the rows, no sort."""
    encoded = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.unify_dictionaries().combine_chunks()
    size = len(encoded.dictionary) + 1
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes + 1, size


# Keys with at most this many possible combinations are counted in a table (no sort);
# up to _PACK_LIMIT they are packed into one int64 and sorted; beyond, sorted by column.
_DENSE_LIMIT = 64_000_000
_PACK_LIMIT = 2**62


def duplicate_keys(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """Keys present more than once in `table`, with how often (column `count`).

    Linear: each key column is hashed to dense codes, the codes are packed into one
    integer per row and counted (a PJM five-minute day, 3.7 M rows over 13,000 nodes and
    288 intervals, takes a fraction of a second); only repeated keys are then grouped.
    """
    missing = [name for name in key if name not in table.column_names]
    if missing:
        raise SchemaError(f"missing key column(s): {', '.join(missing)}")
    empty = table.select(list(key)).slice(0, 0).append_column("count", pa.array([], pa.int64()))
    if table.num_rows < 2:
        return empty
    packed = np.zeros(table.num_rows, dtype=np.int64)
    capacity = 1
    for name in key:
        codes, size = _codes(table.column(name))
        capacity *= size
        if capacity >= _PACK_LIMIT:  # cannot pack: compare on a lexicographic sort instead
            return _duplicates_by_sort(table, key, empty)
        packed = packed * size + codes
    if capacity <= _DENSE_LIMIT:
        repeated = np.bincount(packed, minlength=capacity)[packed] > 1
    else:
        order = np.argsort(packed)
        ordered = packed[order]
        same = ordered[1:] == ordered[:-1]
        repeated = np.zeros(table.num_rows, dtype=bool)
        repeated[order[1:][same]] = True
        repeated[order[:-1][same]] = True
    if not repeated.any():
        return empty
    return _grouped(table, key, np.flatnonzero(repeated))


def _duplicates_by_sort(table: pa.Table, key: Sequence[str], empty: pa.Table) -> pa.Table:
    codes = [_codes(table.column(name))[0] for name in key]
    order = np.lexsort(codes[::-1])
    same = np.ones(table.num_rows - 1, dtype=bool)
    for c in codes:
        c = c[order]
        same &= c[1:] == c[:-1]
    if not same.any():
        return empty
    return _grouped(table, key, np.unique(np.concatenate([order[1:][same], order[:-1][same]])))


def _grouped(table: pa.Table, key: Sequence[str], rows: np.ndarray) -> pa.Table:
    repeated = table.select(list(key)).take(pa.array(rows))
    counts = repeated.group_by(list(key)).aggregate([([], "count_all")])
    return counts.rename_columns([*key, "count"])


def raise_on_duplicates(dataset: str, table: pa.Table, key: Sequence[str]) -> None:
    """Raise `DuplicateKeys` naming how many keys repeat and a few of them."""
    if any(name not in table.column_names for name in key):
        return  # schema validation reports missing columns, in its own words
    dups = duplicate_keys(table, key)
    if dups.num_rows == 0:
        return
    shown = "; ".join(
        ", ".join(str(row[k]) for k in key) + f" (x{row['count']})"
        for row in dups.slice(0, 3).to_pylist()
    )
    raise DuplicateKeys(
        f"{dataset}: {dups.num_rows} duplicate key(s) ({', '.join(key)}) in the parsed "
        f"batch, e.g. {shown}"
    )


def expected_intervals(iso: Iso, market: Market, day: date) -> int:
    """Intervals of `market` in the local market day (DST-aware: 23/24/25 hours…)."""
    start, end = market_day(iso, day)
    return int((end - start) / market.interval)


@dataclass(slots=True)
class DayQuality:
    """One local market day of one dataset."""

    day: date
    expected_intervals: int  # per location (the finest of the dataset's series that day)
    locations: int  # expected locations (all series)
    rows: int  # stored rows (at most the expected intervals per instrument)
    expected_rows: int
    missing_locations: list[str] = field(default_factory=list)  # no row at all that day

    @property
    def completeness(self) -> float | None:
        return self.rows / self.expected_rows if self.expected_rows else None


@dataclass(slots=True)
class Gap:
    """Consecutive missing intervals of one instrument: [start, end)."""

    instrument: str
    start: datetime
    end: datetime
    intervals: int


@dataclass(slots=True)
class DatasetQuality:
    """Completeness and gaps of one dataset over the period.

    status: 'ok' (at or above target), 'incomplete', 'no data' (nothing stored in the
    period) or 'n/a' (not a per-interval price series: constraints, directory, capacity).
    """

    dataset: str
    iso: str
    series: list[str]
    status: str
    rows: int = 0
    expected_rows: int = 0
    days: list[DayQuality] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    gaps_not_listed: int = 0  # instrument-days with gaps beyond MAX_GAP_READS
    note: str | None = None

    @property
    def completeness(self) -> float | None:
        return self.rows / self.expected_rows if self.expected_rows else None


@dataclass(slots=True)
class QualityReport:
    """The answer of `carbon254 quality` (and, later, of the API): plain data."""

    start: date
    end: date
    target: float
    datasets: list[DatasetQuality]
    component_violations: dict[str, int]  # LMP rows breaking value = e + c + l, per ISO
    required: bool = False  # a dataset with no data fails (it was asked for by name)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def passed(self) -> bool:
        allowed = {"ok", "n/a"} if self.required else {"ok", "n/a", "no data"}
        return all(d.status in allowed for d in self.datasets) and not any(
            self.component_violations.values()
        )

    def to_dict(self) -> dict[str, Any]:
        data = _jsonable(asdict(self))
        data["passed"] = self.passed
        for entry, quality in zip(data["datasets"], self.datasets, strict=True):
            entry["completeness"] = quality.completeness
            for day, day_quality in zip(entry["days"], quality.days, strict=True):
                day["completeness"] = day_quality.completeness
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _in_effect(store: PriceStore, iso: Iso) -> dict[str, list[tuple[date, date | None]]]:
    """Directory versions per location of `iso`: (effective, termination) spans."""
    table = store.locations(iso=iso)
    spans: dict[str, list[tuple[date, date | None]]] = {}
    for loc, eff, term in zip(
        table.column("location").to_pylist(),
        table.column("effective_date").to_pylist(),
        table.column("termination_date").to_pylist(),
        strict=True,
    ):
        spans.setdefault(loc, []).append((eff, term))
    return spans


def _expected_on(spans: list[tuple[date, date | None]] | None, day: date) -> bool:
    if spans is None:  # not in the directory: expected whenever the dataset prices it
        return True
    return any(eff <= day and (term is None or day < term) for eff, term in spans)


def _target(dataset: Dataset) -> Target | None:
    try:
        return Target(dataset.target)
    except ValueError:  # a dataset with no store table yet
        return None


def _series(dataset: Dataset) -> list[tuple[Market, Product]]:
    return [(Market(m), Product(p)) for m, p in dataset.produces if not Product(p).is_period_priced]


def _dataset_quality(
    store: PriceStore,
    dataset: Dataset,
    start: date,
    end: date,
    directory: dict[str, list[tuple[date, date | None]]],
    target: float,
) -> tuple[DatasetQuality, list[tuple[str, Market, date, int]]]:
    iso = Iso(dataset.iso)
    series = _series(dataset)
    names = [f"{iso.value}.{m.value}.{p.value}" for m, p in series]
    result = DatasetQuality(dataset.name, iso.value, names, status="n/a")
    if _target(dataset) is not Target.PRICES or not series:
        result.note = "not a per-interval price series: completeness does not apply"
        return result, []
    n_days = (end - start).days + 1
    days = [start + timedelta(days=i) for i in range(n_days)]
    per_day = {d: DayQuality(d, 0, 0, 0, 0) for d in days}
    partial: list[tuple[str, Market, date, int]] = []  # (instrument, market, day, rows)
    for market, product in series:
        counts = store.daily_counts(iso, market, product, start, end)
        expected = {d: expected_intervals(iso, market, d) for d in days}
        for instrument, day, rows in zip(
            counts.column("instrument").to_pylist(),
            counts.column("day").to_pylist(),
            counts.column("rows").to_pylist(),
            strict=True,
        ):
            location = instrument.split(".", 3)[3]
            if (market, product) not in dataset.produces_on(day):
                continue  # not published that day (ERCOT ORDC adders before/after RTC+B)
            if not _expected_on(directory.get(location), day):
                continue
            quality = per_day[day]
            want = expected[day]
            quality.locations += 1
            quality.expected_intervals = max(quality.expected_intervals, want)
            quality.expected_rows += want
            quality.rows += min(rows, want)
            if rows == 0 and len(quality.missing_locations) < MAX_MISSING_LISTED:
                quality.missing_locations.append(instrument)
            if rows < want:
                partial.append((instrument, market, day, rows))
    result.days = list(per_day.values())
    result.rows = sum(q.rows for q in result.days)
    result.expected_rows = sum(q.expected_rows for q in result.days)
    if result.expected_rows == 0:
        result.status = "no data"
        result.note = "nothing stored for this dataset in the period"
    else:
        result.status = "ok" if result.rows >= target * result.expected_rows else "incomplete"
    return result, partial


def _gaps(
    store: PriceStore, iso: Iso, partial: list[tuple[str, Market, date, int]]
) -> tuple[list[Gap], int]:
    """Missing intervals per instrument as ranges; days with no row are one range each
    (merged across consecutive days), partly filled days are read back (up to a cap)."""
    gaps: list[Gap] = []
    reads = 0
    not_listed = 0
    for instrument, market, day, rows in sorted(partial, key=lambda p: (p[0], p[2])):
        start, end = market_day(iso, day)
        step = market.interval
        if rows == 0:
            missing = [(start, end)]
        elif reads < MAX_GAP_READS:
            reads += 1
            stored = store.read_prices([instrument], start, end).column("interval_start")
            present = set(stored.cast(pa.int64()).to_pylist())
            grid = np.arange(
                int(start.timestamp() * 1e6), int(end.timestamp() * 1e6), int(step / _US)
            )
            holes = grid[~np.isin(grid, np.fromiter(present, np.int64, len(present)))]
            missing = _runs(holes, int(step / _US))
        else:
            not_listed += 1
            continue
        for lo, hi in missing:
            count = int((hi - lo) / step)
            last = gaps[-1] if gaps else None
            if last is not None and last.instrument == instrument and last.end == lo:
                last.end, last.intervals = hi, last.intervals + count
            else:
                gaps.append(Gap(instrument, lo, hi, count))
    return gaps, not_listed


_US = timedelta(microseconds=1)


def _runs(holes: np.ndarray, step_us: int) -> list[tuple[datetime, datetime]]:
    if holes.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(holes) != step_us) + 1
    out = []
    for run in np.split(holes, breaks):
        lo = datetime.fromtimestamp(int(run[0]) / 1e6, tz=UTC)
        hi = datetime.fromtimestamp((int(run[-1]) + step_us) / 1e6, tz=UTC)
        out.append((lo, hi))
    return out


def quality_report(
    store: PriceStore,
    datasets: Iterable[Dataset],
    start: date,
    end: date,
    *,
    target: float = TARGET,
    required: bool = False,
    tolerance: float = 0.01,
) -> QualityReport:
    """Completeness, gaps and component violations of `datasets` over local days
    `start`..`end` (inclusive, each dataset in its ISO's clock). With `required`, a
    dataset with nothing stored fails the report (it was asked for by name)."""
    if end < start:
        raise ValueError(f"end day {end} is before start day {start}")
    if not 0 < target <= 1:
        raise ValueError(f"target must be in (0, 1], got {target}")
    chosen = list(datasets)
    directories: dict[Iso, dict[str, list[tuple[date, date | None]]]] = {}
    results = []
    for dataset in chosen:
        iso = Iso(dataset.iso)
        if iso not in directories:
            directories[iso] = _in_effect(store, iso)
        quality, partial = _dataset_quality(store, dataset, start, end, directories[iso], target)
        quality.gaps, quality.gaps_not_listed = _gaps(store, iso, partial)
        results.append(quality)
    violations = {}
    for iso in sorted({Iso(d.iso) for d in chosen if _target(d) is Target.PRICES}):
        lo, hi = market_day(iso, start)[0], market_day(iso, end)[1]
        violations[iso.value] = store.component_violations(iso, lo, hi, tolerance)
    return QualityReport(start, end, target, results, violations, required=required)
