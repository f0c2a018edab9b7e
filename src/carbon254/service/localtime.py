"""Local-time columns (`tz=`): the same instants, shown on a wall clock.

`interval_start_local` / `interval_end_local` are timestamp columns typed with the zone,
so Arrow and Parquet carry the zone and JSON/CSV print the zone's offset
(`2024-11-03T01:00:00-05:00`). With `tz=market` each row uses its own ISO's market
clock; when the instruments asked for span more than one clock there is no single
column type, so the columns are ISO-8601 strings with each row's offset instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import InstrumentId, Iso
from .formats import column_values
from .params import MARKET_TZ

__all__ = ["LOCAL_COLUMNS", "with_local_times", "zones_of"]

LOCAL_COLUMNS = {"interval_start": "interval_start_local", "interval_end": "interval_end_local"}


def zones_of(instruments: Sequence[str]) -> list[str]:
    """The distinct market clocks of `instruments` (canonical ids; sorted)."""
    isos = {text.split(".", 1)[0] for text in instruments}
    return sorted({Iso(iso).tz_name for iso in isos})


def with_local_times(table: pa.Table, tz: str, instruments: Sequence[str]) -> pa.Table:
    """`table` plus a local column after each of interval_start and interval_end.

    `instruments` are those the request named (they fix the column type even when the
    table is empty); `tz` is an IANA zone or `market`.
    """
    zones = zones_of(instruments) if tz == MARKET_TZ else [tz]
    for source, name in LOCAL_COLUMNS.items():
        if source not in table.column_names:
            continue
        column = table.column(source)
        if len(zones) == 1:
            local: pa.ChunkedArray | pa.Array = column.cast(pa.timestamp("us", tz=zones[0]))
        else:
            local = _mixed_zone_strings(table, column)
        table = table.add_column(table.column_names.index(source) + 1, name, local)
    return table


def _mixed_zone_strings(table: pa.Table, column: pa.ChunkedArray) -> pa.Array:
    """ISO-8601 strings, each row in its own instrument's market clock (few zones: one
    vectorized pass per zone)."""
    out = np.empty(table.num_rows, dtype=object)
    instruments = table.column("instrument")
    distinct = pc.unique(instruments).to_pylist()
    by_zone: dict[str, list[str]] = {}
    for text in distinct:
        by_zone.setdefault(InstrumentId.parse(text).iso.tz_name, []).append(text)
    for zone, ids in by_zone.items():
        mask = pc.is_in(instruments, value_set=pa.array(ids)).to_numpy(zero_copy_only=False)
        part = column.filter(pa.array(mask)).cast(pa.timestamp("us", tz=zone))
        out[mask] = column_values(part)
    return pa.array(out, pa.string())
