"""PJM's pricing-node directory (`pnode` feed) as a time-versioned location directory.

PJM publishes one row per effective-date window of a node. Every window is kept,
retired nodes included: a node retired last month still priced every interval before
that, and its history must keep its name, type and zone. (gridstatus once asked only
for `termination_date=12/31/9999` and inner-joined prices to that list, which dropped
1,337 retired nodes' history; gridstatus#942.) The open end 9999-12-31 becomes null.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.directory import validate_locations
from ...core.markets import Iso, LocationType
from ...core.schema import LOCATION_SCHEMA, SchemaError
from ..dataset import Chunking, Dataset, RevisionPolicy, Target, TimeRule, Transport, Window
from ..errors import PayloadError
from ..http import HttpFetcher, RawResponse
from ..registry import register
from . import dataminer

__all__ = ["RAW_SCHEMA", "PnodeDirectory", "location_types"]

log = logging.getLogger("carbon254.connectors.pjm")

RAW_SCHEMA = pa.schema(
    [
        ("pnode_id", pa.int64()),
        ("pnode_name", pa.string()),
        ("pnode_type", pa.string()),
        ("pnode_subtype", pa.string()),
        ("zone", pa.string()),
        ("voltage_level", pa.string()),
        ("effective_date", pa.timestamp("us")),
        ("termination_date", pa.timestamp("us")),
    ]
)
_REQUIRED = ("pnode_id", "pnode_name", "pnode_type", "effective_date", "termination_date")
_OPEN_END = date(9999, 12, 31)
CSV_DATE = "%m/%d/%Y %I:%M:%S %p"

# PJM node types (LMP `type`, directory `pnode_type`/`pnode_subtype`) in core words.
_TYPES = {
    "HUB": LocationType.HUB,
    "ZONE": LocationType.ZONE,
    "AGGREGATE": LocationType.AGGREGATE,
    "LOAD": LocationType.LOAD,
    "GEN": LocationType.GENERATOR,
    "GENERATOR": LocationType.GENERATOR,
    "INTERFACE": LocationType.INTERFACE,
    "EXT": LocationType.INTERFACE,  # external pricing points
    "TIE": LocationType.INTERFACE,
    "EHV": LocationType.BUS,  # extra-high-voltage buses
    "BUS": LocationType.BUS,
    "RESIDUAL_METERED_EDC": LocationType.LOAD_ZONE,
    "RESIDUAL METERED EDC": LocationType.LOAD_ZONE,
}


def location_types(kind: pa.Array | pa.ChunkedArray, sub: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Core `LocationType` names from PJM's type and subtype (a bus is typed by its
    subtype when that says load or generator); anything unknown is OTHER, never dropped."""

    def mapped(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        text = pc.utf8_upper(pc.utf8_trim_whitespace(pc.fill_null(values, "")))
        keys = pa.array(list(_TYPES), pa.string())
        index = pc.index_in(text, value_set=keys)
        names = pa.array([str(v) for v in _TYPES.values()], pa.string())
        return pc.take(names, index)

    main = mapped(kind)
    detail = mapped(sub)
    use_detail = pc.or_kleene(
        pc.is_null(main),
        pc.and_(
            pc.equal(main, str(LocationType.BUS)),
            pc.is_in(
                detail, value_set=pa.array([str(LocationType.LOAD), str(LocationType.GENERATOR)])
            ),
        ),
    )
    chosen = pc.if_else(pc.fill_null(use_detail, False), detail, main)
    return pc.fill_null(chosen, str(LocationType.OTHER))


@register
class PnodeDirectory(Dataset):
    name = "pjm.pnode"
    iso = Iso.PJM
    description = "PJM pricing nodes: every effective-date window, retired nodes included"
    target = Target.LOCATIONS
    transport = Transport.JSON_API
    auth = dataminer.AUTH
    budget = dataminer.BUDGET
    # The directory is fetched whole, whatever the window: one window for any range.
    chunking: ClassVar[Chunking] = Chunking(max_days=36_600)
    raw_columns = tuple(RAW_SCHEMA.names)
    time_rule = TimeRule.PERIOD
    revisions = RevisionPolicy.LATEST_WINS

    def __init__(self, pnodes: Sequence[int | str] | None = None) -> None:
        self.pnodes = tuple(str(int(p)) for p in pnodes) if pnodes else ()

    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        filters = {"pnode_id": ";".join(self.pnodes)} if self.pnodes else {}
        # No termination_date filter: retired nodes are part of the directory.
        return dataminer.fetch_pages(
            http, self.name, "pnode", None, fields=RAW_SCHEMA.names, filters=filters
        )

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_pnodes(self.name, raws)


def parse_pnodes(dataset: str, raws: Sequence[RawResponse]) -> pa.Table:
    """LOCATION_SCHEMA rows, one per node window, validated; raises `PayloadError`."""
    raw = dataminer.read_items(
        raws,
        RAW_SCHEMA,
        _REQUIRED,
        csv_format={"effective_date": CSV_DATE, "termination_date": CSV_DATE},
    )
    if raw.column("pnode_id").null_count or raw.column("effective_date").null_count:
        raise PayloadError(dataset, "directory rows without pnode_id or effective_date")
    effective = raw.column("effective_date").cast(pa.date32())
    ending = raw.column("termination_date").cast(pa.date32())
    open_end = pc.greater_equal(ending, pa.scalar(_OPEN_END, pa.date32()))
    ending = pc.if_else(pc.fill_null(open_end, False), pa.scalar(None, pa.date32()), ending)
    # A window that ends the day it starts still existed that day (our ends are exclusive).
    short = pc.fill_null(pc.less_equal(ending, effective), False)
    if pc.any(short).as_py():
        ending = pc.if_else(short, _next_day(effective), ending)
    table = pa.table(
        {
            "iso": pa.array([str(Iso.PJM)] * raw.num_rows, pa.string()),
            "location": raw.column("pnode_id").cast(pa.string()),
            "name": _blank_is_null(raw.column("pnode_name")),
            "location_type": location_types(raw.column("pnode_type"), raw.column("pnode_subtype")),
            "zone": _blank_is_null(raw.column("zone")),
            "effective_date": effective,
            "termination_date": ending,
        },
        schema=LOCATION_SCHEMA,
    )
    table = _dedupe(table)
    table = _clip_overlaps(table)
    try:
        return validate_locations(table)
    except SchemaError as exc:
        raise PayloadError(dataset, str(exc)) from None


def _blank_is_null(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """CSV exports write a missing zone or name as an empty field."""
    blank = pc.equal(pc.utf8_trim_whitespace(values), "")
    return pc.if_else(pc.fill_null(blank, False), pa.scalar(None, pa.string()), values)


def _next_day(days: pa.ChunkedArray | pa.Array) -> pa.Array:
    values = days.to_numpy(zero_copy_only=False).astype("datetime64[D]") + np.timedelta64(1, "D")
    return pa.array(values, pa.date32())


def _dedupe(table: pa.Table) -> pa.Table:
    """One row per (location, effective_date): the same window served twice (two pages,
    a re-fetch) is kept once, the later-ending copy winning."""
    ordered = table.sort_by(
        [
            ("location", "ascending"),
            ("effective_date", "ascending"),
            ("termination_date", "descending"),
        ]
    )
    loc = ordered.column("location").to_numpy(zero_copy_only=False)
    eff = ordered.column("effective_date").cast(pa.int32()).to_numpy(zero_copy_only=False)
    first = np.ones(len(loc), dtype=bool)
    first[1:] = (loc[1:] != loc[:-1]) | (eff[1:] != eff[:-1])
    return ordered.filter(pa.array(first))


def _clip_overlaps(table: pa.Table) -> pa.Table:
    """End a window where the node's next window starts, if PJM's windows overlap."""
    loc = table.column("location").to_numpy(zero_copy_only=False)
    eff = table.column("effective_date").cast(pa.int32()).to_numpy(zero_copy_only=False)
    ending = table.column("termination_date").cast(pa.int32())
    is_open = pc.is_null(ending).to_numpy(zero_copy_only=False)
    end = pc.fill_null(ending, np.iinfo(np.int32).max).to_numpy(zero_copy_only=False)
    overlap = np.zeros(len(loc), dtype=bool)
    overlap[:-1] = (loc[:-1] == loc[1:]) & (end[:-1] > eff[1:])
    if not overlap.any():
        return table
    log.warning(
        "pjm.pnode: %d node window(s) overlap the next; ended at the next start",
        int(overlap.sum()),
    )
    clipped = end.copy()
    clipped[:-1] = np.where(overlap[:-1], eff[1:], end[:-1])
    column = pa.array(clipped, pa.int32(), mask=is_open & ~overlap).cast(pa.date32())
    index = table.schema.get_field_index("termination_date")
    return table.set_column(index, table.schema.field(index), column)
