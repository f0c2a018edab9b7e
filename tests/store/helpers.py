"""Small builders of canonical price tables for the store tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from carbon254.core import PRICE_SCHEMA, InstrumentId, interval_starts, market_day

UTC_TS = pa.timestamp("us", tz="UTC")


def prices(
    instruments: Sequence[str],
    starts: Sequence[datetime] | np.ndarray,
    *,
    base: float = 30.0,
    components: bool = True,
) -> pa.Table:
    """Every instrument at every start; value = 30 + 0.25*i + 0.01*t, split into components."""
    step = InstrumentId.parse(instruments[0]).market.interval
    starts = list(starts)
    rows_i = np.repeat(np.arange(len(instruments)), len(starts))
    rows_t = np.tile(np.arange(len(starts)), len(instruments))
    value = np.round(base + 0.25 * rows_i + 0.01 * rows_t, 2)
    start = pa.array([starts[t] for t in rows_t], UTC_TS)
    table = {
        "instrument": pa.array([instruments[i] for i in rows_i], pa.string()),
        "interval_start": start,
        "interval_end": pa.array([starts[t] + step for t in rows_t], UTC_TS),
        "value": value,
    }
    if components:
        table["congestion"] = np.round(0.5 * rows_i, 2)
        table["loss"] = np.full(len(value), 0.25)
        table["energy"] = np.round(value - table["congestion"] - 0.25, 2)
    return pa.table(table)


def day_prices(instruments: Sequence[str], iso: str, day: date, **kwargs: object) -> pa.Table:
    step = InstrumentId.parse(instruments[0]).market.interval
    return prices(instruments, list(interval_starts(iso, day, step).to_pydatetime()), **kwargs)


def day_bounds(iso: str, day: date) -> tuple[datetime, datetime]:
    return market_day(iso, day)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def dump(store) -> dict:
    """Everything the store holds about prices, for before/after comparisons."""
    start, end = EVER
    return {
        "prices": store.read_prices(None, start, end).to_pylist(),
        "revisions": store.revisions(None, start, end).to_pylist(),
        "instruments": store.instruments().to_pylist(),
        "locations": store.locations().to_pylist(),
    }


def empty_prices() -> pa.Table:
    return PRICE_SCHEMA.empty_table()


ONE_HOUR = timedelta(hours=1)
