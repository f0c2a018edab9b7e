"""Per-request DataLoaders: every nested field of a list of instruments is one store read.

A query over N instruments asking for `latest`, `location` and `prices` calls the store
once per field (per distinct price window), not N times: each loader collects the keys
requested in one event-loop tick and reads them together. Loaders are created for each
request (`make_loaders`), never shared: their cache holds one request's view.

Store calls are blocking (DuckDB, psycopg), so they run on worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from strawberry.dataloader import DataLoader

from ...store.base import PriceStore, ResultTooLarge, StoreError, UnknownInstrument
from ..curves import CurveUnavailable
from .errors import RESULT_TOO_LARGE, GraphQLUserError, bad_input, from_store_error
from .inputs import PriceWindow

__all__ = ["Loaders", "RowBudget", "make_loaders", "run_sync", "store_call"]

T = TypeVar("T")
PriceKey = tuple[str, PriceWindow]


async def run_sync(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking store call on a worker thread, off the event loop."""
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


async def store_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`run_sync` with store refusals (unknown instrument, bad argument, too many rows)
    raised as GraphQL user errors; other failures propagate (and are masked)."""
    try:
        return await run_sync(fn, *args, **kwargs)
    except StoreError as exc:
        if isinstance(exc, CurveUnavailable):
            raise bad_input(str(exc), reason=exc.reason) from None
        error = from_store_error(exc)
        if error is None:
            raise
        raise error from None


@dataclass(slots=True)
class RowBudget:
    """Price rows one request may still read, and the cap on any single series."""

    total: int
    per_series: int
    left: int = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.left = self.total

    def spend(self, rows: int) -> None:
        with self._lock:  # loader batches of one request may read on several threads
            self.left -= rows


@dataclass(frozen=True, slots=True)
class Loaders:
    instrument: DataLoader[str, dict[str, Any] | None]
    """Catalogue row (`INSTRUMENT_SCHEMA` as a dict) by canonical id; None if unknown."""
    latest: DataLoader[str, Any]
    """`types.Price` of the most recent interval by id; None when nothing is stored."""
    location: DataLoader[tuple[str, str], Any]
    """`types.Location` by (iso, location code); None when the directory lacks it."""
    prices: DataLoader[PriceKey, pa.Table]
    """One instrument's rows for a window; same-window keys share one store read."""


def make_loaders(store: PriceStore, budget: RowBudget) -> Loaders:
    from .types import Location, Price  # the types resolve through these loaders

    async def instruments(ids: list[str]) -> list[dict[str, Any] | None]:
        table = await run_sync(_catalogue_rows, store, ids)
        rows = {row["instrument"]: row for row in table.to_pylist()}
        return [rows.get(i) for i in ids]

    async def latest(ids: list[str]) -> list[Any]:
        table, _ = await run_sync(_without_unknown, store.latest, ids)
        rows = table.to_pylist() if table is not None else []
        latest = {row["instrument"]: Price.from_row(row) for row in rows}
        return [latest.get(i) for i in ids]

    async def locations(keys: list[tuple[str, str]]) -> list[Any]:
        isos = {iso for iso, _ in keys}
        table = await run_sync(store.locations, iso=next(iter(isos)) if len(isos) == 1 else None)
        current = _current_versions(table, keys)
        return [Location.from_row(current[k]) if k in current else None for k in keys]

    async def prices(keys: list[PriceKey]) -> list[pa.Table | BaseException]:
        return await run_sync(_read_windows, store, keys, budget)

    return Loaders(
        instrument=DataLoader(load_fn=instruments),
        latest=DataLoader(load_fn=latest),
        location=DataLoader(load_fn=locations),
        prices=DataLoader(load_fn=prices),
    )


def _catalogue_rows(store: PriceStore, ids: Sequence[str]) -> pa.Table:
    """Catalogue rows of `ids`, filtered in the store by ISO/market/product when shared."""
    parts = [i.split(".", 3) for i in ids]
    filters = {
        name: values.pop() if len(values := {p[n] for p in parts}) == 1 else None
        for n, name in enumerate(("iso", "market", "product"))
    }
    table = store.instruments(**filters)
    return table.filter(pc.is_in(table.column("instrument"), pa.array(ids, pa.string())))


def _without_unknown(read: Callable[..., pa.Table], ids: list[str], *args: Any, **kw: Any):
    """`read(ids, ...)`, retried once without the ids the store has never seen."""
    try:
        return read(ids, *args, **kw), set()
    except UnknownInstrument as exc:
        unknown = set(exc.instruments)
        known = [i for i in ids if i not in unknown]
        if not known:
            return None, unknown
        return read(known, *args, **kw), unknown


def _current_versions(
    table: pa.Table, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (iso, location): the version in effect today, else the latest effective one."""
    codes = pa.array(sorted({code for _, code in keys}), pa.string())
    wanted = set(keys)
    versions: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in table.filter(pc.is_in(table.column("location"), codes)).to_pylist():
        key = (row["iso"], row["location"])
        if key in wanted:
            versions.setdefault(key, []).append(row)
    today = datetime.now(UTC).date()
    best = {}
    for key, rows in versions.items():
        current = [
            r for r in rows
            if r["effective_date"] <= today
            and (r["termination_date"] is None or r["termination_date"] > today)
        ]  # fmt: skip
        best[key] = current[0] if current else max(rows, key=lambda r: r["effective_date"])
    return best


def _read_window(store: PriceStore, ids: list[str], w: PriceWindow, max_rows: int) -> pa.Table:
    if w.freq is None:
        return store.read_prices(ids, w.start, w.end, as_of=w.as_of, max_rows=max_rows)
    table = store.resample(
        ids, w.start, w.end, freq=w.freq, how=w.how, peak=w.peak, as_of=w.as_of  # type: ignore[arg-type]
    )  # fmt: skip
    if table.num_rows > max_rows:
        raise ResultTooLarge(max_rows)
    return table


def _read_windows(
    store: PriceStore, keys: list[PriceKey], budget: RowBudget
) -> list[pa.Table | BaseException]:
    """One store read per distinct window, split back into one table per key."""
    by_window: dict[PriceWindow, list[str]] = {}
    for instrument, window in keys:
        by_window.setdefault(window, []).append(instrument)
    results: dict[PriceKey, pa.Table | BaseException] = {}
    for window, ids in by_window.items():
        for instrument, outcome in _read_group(store, ids, window, budget).items():
            results[(instrument, window)] = outcome
    return [results[k] for k in keys]


def _read_group(
    store: PriceStore, ids: list[str], window: PriceWindow, budget: RowBudget
) -> dict[str, pa.Table | BaseException]:
    # Never negative: batches reading on two threads at once can overdraw the budget.
    max_rows = max(0, min(budget.left, budget.per_series * len(ids)))
    try:
        table, unknown = _without_unknown(partial(_read_window, store), ids, window, max_rows)
    except StoreError as exc:
        error = from_store_error(exc)
        if error is None:
            raise
        if isinstance(exc, ResultTooLarge):
            error = _too_large(ids, budget, max_rows)
        return dict.fromkeys(ids, error)
    out: dict[str, pa.Table | BaseException] = {}
    for instrument in unknown:
        out[instrument] = from_store_error(UnknownInstrument([instrument]))  # type: ignore[assignment]
    parts = _split(table, [i for i in ids if i not in unknown]) if table is not None else {}
    for instrument, part in parts.items():
        if part.num_rows > budget.per_series:
            out[instrument] = _too_large([instrument], budget, budget.per_series)
        else:
            out[instrument] = part
    budget.spend(sum(p.num_rows for p in parts.values()))
    return out


def _too_large(ids: list[str], budget: RowBudget, max_rows: int) -> GraphQLUserError:
    """Which cap a read ran into: the per-series one, or the request's total."""
    if max_rows < budget.per_series * len(ids):
        return GraphQLUserError(
            f"this request would read more than {budget.total:,} price rows in total; ask "
            "for fewer instruments or a shorter window, or use GET /api/v1/prices (Arrow) "
            "for bulk reads",
            RESULT_TOO_LARGE,
            maxRows=budget.total,
        )
    which = f"the series of {ids[0]}" if len(ids) == 1 else f"one of these {len(ids)} series"
    return GraphQLUserError(
        f"{which} has more than {budget.per_series:,} rows; at most {budget.per_series:,} "
        "per series: resample it, shorten the window, or use GET /api/v1/prices (Arrow) "
        "for bulk reads",
        RESULT_TOO_LARGE,
        maxRows=budget.per_series,
    )


def _split(table: pa.Table, ids: list[str]) -> dict[str, pa.Table]:
    """Zero-copy slices of `table` (ordered by instrument) per id; empty when absent."""
    column = table.column("instrument")
    if table.num_rows == 0:
        return {i: table for i in ids}
    present = pc.unique(column)
    codes = pc.index_in(column, value_set=present).to_numpy()
    if np.any(np.diff(codes) < 0):  # not grouped by instrument: group it (stable)
        order = np.argsort(codes, kind="stable")
        table, codes = table.take(pa.array(order)), codes[order]
    bounds = np.searchsorted(codes, np.arange(len(present) + 1))
    slices = {
        name: table.slice(int(bounds[n]), int(bounds[n + 1] - bounds[n]))
        for n, name in enumerate(present.to_pylist())
    }
    empty = table.slice(0, 0)
    return {i: slices.get(i, empty) for i in ids}
