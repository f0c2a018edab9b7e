"""Hub-to-node spreads (basis): node minus hub, interval by interval, then bucketed.

Only intervals both series have count: a spread against a missing hub value is not a
spread. With a bucket (`resample`), every column is aggregated on its own over those
intervals, so `agg=max` gives the widest interval spread of the bucket (not the node's
maximum minus the hub's). Buckets follow the store's rules: 5-minute, 15-minute and
hourly buckets on the UTC grid (every market clock is a whole number of hours from
UTC), daily and monthly ones are local market days and months (23, 24 or 25 hours).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import InstrumentId, market_day
from ..core.schema import UTC_TS
from ..store.base import Peak, PriceStore
from .params import RESAMPLE_STEPS

__all__ = ["SPREAD_COLUMNS", "spread_table"]

SPREAD_COLUMNS = (
    "instrument",
    "hub",
    "interval_start",
    "interval_end",
    "spread",
    "node_value",
    "hub_value",
    "congestion_spread",
    "loss_spread",
)
_VALUES = ("spread", "node_value", "hub_value", "congestion_spread", "loss_spread")
_ORDER = [("instrument", "ascending"), ("interval_start", "ascending")]


def spread_table(
    store: PriceStore,
    hub: str,
    nodes: list[str],
    start: datetime,
    end: datetime,
    *,
    as_of: datetime | None = None,
    peak: Peak | None = None,
    resample: str | None = None,
    agg: str = "mean",
    max_rows: int | None = None,
) -> pa.Table:
    """Spreads of `nodes` against `hub` (all one ISO, market and product)."""
    store.instruments(instruments=[hub, *nodes])  # every unknown id in one 404
    reads = {"as_of": as_of, "peak": peak, "max_rows": max_rows}
    node_rows = store.read_prices(nodes, start, end, **reads)  # type: ignore[arg-type]
    hub_rows = store.read_prices([hub], start, end, **reads)  # type: ignore[arg-type]
    hub_side = hub_rows.select(["interval_start", "value", "congestion", "loss"])
    hub_side = hub_side.rename_columns(["interval_start", "hub_value", "hub_cong", "hub_loss"])
    both = node_rows.join(hub_side, keys="interval_start", join_type="inner").sort_by(_ORDER)
    table = pa.table(
        {
            "instrument": both.column("instrument"),
            "hub": pa.repeat(pa.scalar(hub), both.num_rows),
            "interval_start": both.column("interval_start"),
            "interval_end": both.column("interval_end"),
            "spread": pc.subtract(both.column("value"), both.column("hub_value")),
            "node_value": both.column("value"),
            "hub_value": both.column("hub_value"),
            "congestion_spread": pc.subtract(both.column("congestion"), both.column("hub_cong")),
            "loss_spread": pc.subtract(both.column("loss"), both.column("hub_loss")),
        }
    )
    if resample is None:
        return table
    return _bucketed(table, InstrumentId.parse(hub), resample, agg)


def _bucketed(table: pa.Table, iid: InstrumentId, freq: str, agg: str) -> pa.Table:
    starts = table.column("interval_start")
    step = RESAMPLE_STEPS.get(freq)
    if step is not None:
        micros = starts.cast(pa.int64()).to_numpy()
        size = step // timedelta(microseconds=1)
        label = pa.array(micros - micros % size, pa.int64()).cast(UTC_TS)
    else:
        local = pc.local_timestamp(starts.cast(pa.timestamp("us", tz=iid.iso.tz_name)))
        unit = "day" if freq == "daily" else "month"
        label = pc.floor_temporal(local, unit=unit).cast(pa.date32())
    grouped = (
        table.select(["instrument", *_VALUES])
        .append_column("bucket", label)
        .group_by(["instrument", "bucket"], use_threads=False)
        .aggregate([(name, agg) for name in _VALUES] + [("spread", "count")])
    )
    lo, hi = _bounds(grouped.column("bucket"), iid, freq, step)
    out = pa.table(
        {
            "instrument": grouped.column("instrument"),
            "hub": pa.repeat(pa.scalar(str(iid)), grouped.num_rows),
            "interval_start": lo,
            "interval_end": hi,
            **{name: grouped.column(f"{name}_{agg}") for name in _VALUES},
            "count": grouped.column("spread_count"),
        }
    )
    return out.sort_by(_ORDER)


def _bounds(
    labels: pa.ChunkedArray, iid: InstrumentId, freq: str, step: timedelta | None
) -> tuple[pa.Array, pa.Array]:
    """UTC [start, end) of each bucket label."""
    if step is not None:
        lo = labels.combine_chunks() if isinstance(labels, pa.ChunkedArray) else labels
        hi = pc.add(lo, pa.scalar(step, pa.duration("us")))
        return lo, hi
    days: list[date] = pc.unique(labels).to_pylist()
    bounds = [_local_bounds(iid, day, freq) for day in days]
    position = pc.index_in(labels, value_set=pa.array(days, pa.date32()))
    lo = pa.array(np.array([b[0] for b in bounds], dtype="datetime64[us]"), UTC_TS)
    hi = pa.array(np.array([b[1] for b in bounds], dtype="datetime64[us]"), UTC_TS)
    return lo.take(position), hi.take(position)


def _local_bounds(iid: InstrumentId, day: date, freq: str) -> tuple[datetime, datetime]:
    if freq == "daily":
        start, end = market_day(iid.iso, day)
    else:
        nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        start, end = market_day(iid.iso, day)[0], market_day(iid.iso, nxt)[0]
    return start.replace(tzinfo=None), end.replace(tzinfo=None)
