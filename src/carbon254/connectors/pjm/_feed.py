"""What the PJM ancillary-service and constraint feeds share: a Data Miner dataset that
asks for a fixed field list and reads its pages into a typed raw table.

The transport itself (paging, the EPT filter, auth, archive rules) is `dataminer`; this
only adds the checks every one of these feeds needs after reading: required values
present (the first item's keys are checked by `read_items`, later items are not) and
UTC interval starts parsed from `datetime_beginning_utc`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pyarrow as pa

from ..clock import parse_utc
from ..dataset import Dataset, TimeRule, Transport, Window
from ..errors import PayloadError
from ..http import HttpFetcher, RawResponse
from .dataminer import AUTH, BUDGET, fetch_pages, read_items

__all__ = ["DataMinerFeed", "constant", "labelled", "require_values", "utc_column"]


class DataMinerFeed(Dataset):
    """A Data Miner feed read through a fixed field list.

    Subclasses set `feed`, `fields` (what the request asks for), `raw_schema` (every
    column the pages may carry: anything else is an unknown column and fails) and
    `required` (columns that must be present and non-null in every item).
    """

    transport = Transport.JSON_API
    auth = AUTH
    budget = BUDGET
    time_rule = TimeRule.UTC_FIELD
    feed: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    raw_schema: ClassVar[pa.Schema]
    required: ClassVar[tuple[str, ...]]

    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        return fetch_pages(http, self.name, self.feed, window, fields=self.fields)

    def read(self, raws: Sequence[RawResponse]) -> pa.Table:
        """The raw rows of every page, typed by `raw_schema`, required values checked."""
        table = read_items(raws, self.raw_schema, self.required)
        require_values(self.name, table, self.required)
        return table


def require_values(dataset: str, table: pa.Table, columns: Sequence[str]) -> None:
    """Raise if any row lacks a value in one of `columns` (a key missing from a later
    item comes back null from the reader, so this is where it is caught)."""
    for name in columns:
        nulls = table.column(name).null_count
        if nulls:
            raise PayloadError(dataset, f"{nulls} item(s) without a value for {name}")


def utc_column(dataset: str, table: pa.Table, name: str) -> pa.Array:
    """A UTC timestamp column from Data Miner text ("2023-11-06T04:55:00[.000]")."""
    return parse_utc(dataset, table.column(name))


def constant(value: str, n: int) -> pa.DictionaryArray:
    """`n` copies of `value`, dictionary-encoded (no per-row Python strings)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([value], pa.string())
    )


def labelled(codes: np.ndarray, labels: list[str]) -> pa.DictionaryArray:
    """Row labels from integer `codes` into `labels`, dictionary-encoded."""
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32, copy=False)), pa.array(labels, pa.string())
    )
