"""The location directory: which pricing locations exist, and when.

A location may have several versions (renamed, re-typed, moved between zones), each in
effect from `effective_date` (inclusive) to `termination_date` (exclusive; null = still in
effect). Versions of one location never overlap, and a retired node keeps its rows.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .instrument import InvalidInstrumentId, check_location
from .markets import Iso, LocationType
from .schema import LOCATION_SCHEMA, SchemaError, conform

__all__ = ["validate_locations"]


def validate_locations(table: pa.Table) -> pa.Table:
    """Conform a directory table to `LOCATION_SCHEMA`, or raise `SchemaError` saying why."""
    table = conform(table, LOCATION_SCHEMA, ("iso", "location", "location_type", "effective_date"))
    for iso in pc.unique(table.column("iso")).to_pylist():
        if iso not in Iso.__members__:
            raise SchemaError(f"unknown iso {iso!r} in location directory")
    for kind in pc.unique(table.column("location_type")).to_pylist():
        if kind not in LocationType.__members__:
            raise SchemaError(f"unknown location_type {kind!r} in location directory")
    for location in pc.unique(table.column("location")).to_pylist():
        try:
            check_location(location)
        except InvalidInstrumentId as exc:
            raise SchemaError(f"location directory: {exc.reason} ({location!r})") from None
    ends = table.column("termination_date")
    bad = pc.fill_null(pc.less_equal(ends, table.column("effective_date")), False)
    if pc.any(bad).as_py():
        index = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
        row = table.slice(index, 1).to_pylist()[0]
        raise SchemaError(
            f"location {row['iso']}.{row['location']}: termination_date "
            f"{row['termination_date']} is not after effective_date {row['effective_date']}"
        )
    keys = table.group_by(["iso", "location", "effective_date"]).aggregate([])
    if keys.num_rows != table.num_rows:
        raise SchemaError("duplicate (iso, location, effective_date) in location directory")
    check_no_overlap(table)
    return table


def check_no_overlap(table: pa.Table) -> None:
    """Raise if two versions of one location are in effect on the same day."""
    ordered = table.sort_by(
        [("iso", "ascending"), ("location", "ascending"), ("effective_date", "ascending")]
    ).to_pylist()
    for prev, cur in pairwise(ordered):
        if (prev["iso"], prev["location"]) != (cur["iso"], cur["location"]):
            continue
        end = prev["termination_date"]
        if end is None or end > cur["effective_date"]:
            raise SchemaError(
                f"location {cur['iso']}.{cur['location']}: the version effective "
                f"{prev['effective_date']} (terminating {end or 'never'}) "
                f"overlaps the version effective {cur['effective_date']}"
            )
