"""PJM LMPs from Data Miner 2: real-time 5-minute, real-time hourly and day-ahead hourly.

- `pjm.rt_fivemin_hrl_lmps`: verified 5-minute LMPs. When the verified feed has no rows
  for a window yet, the same window is asked of `rt_unverified_fivemin_lmps`, which has
  no energy column: energy = LMP - congestion - loss there. Each page's meta says which
  feed answered.
- `pjm.rt_hrl_lmps` and `pjm.da_hrl_lmps`: hourly, energy/congestion/loss published.

Times come from `datetime_beginning_utc` (the EPT column is ambiguous in the repeated
fall-back hour); interval_end = start + the market interval. PJM restates rows with a
higher `version_nbr`: we ask for `row_is_current=TRUE`, and when a response still holds
several versions of one row, the highest wins (older versions become revisions in the
store when a later batch restates them). Parsing accepts the API's JSON pages and the
Data Miner CSV export (same columns; times as "M/D/YYYY h:mm:ss AM").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ...core.markets import Iso, Market, Product
from ...core.schema import UTC_TS, SchemaError, validate_prices
from ..dataset import (
    Chunking,
    Components,
    Dataset,
    RevisionPolicy,
    TimeRule,
    Transport,
    Window,
)
from ..errors import PayloadError
from ..http import HttpFetcher, RawResponse
from ..registry import register
from . import dataminer

__all__ = ["DaHourlyLmp", "LmpFeed", "RtFiveMinLmp", "RtHourlyLmp", "raw_lmp_schema"]

CSV_TIME = "%m/%d/%Y %I:%M:%S %p"
UNVERIFIED_FIVE_MIN = "rt_unverified_fivemin_lmps"


def raw_lmp_schema(suffix: str) -> pa.Schema:
    """Every column the LMP feeds publish (API items and CSV exports), typed."""
    return pa.schema(
        [
            ("datetime_beginning_utc", UTC_TS),
            ("datetime_beginning_ept", pa.string()),
            ("pnode_id", pa.int64()),
            ("pnode_name", pa.string()),
            ("voltage", pa.string()),
            ("equipment", pa.string()),
            ("type", pa.string()),
            ("zone", pa.string()),
            (f"system_energy_price_{suffix}", pa.float64()),
            (f"total_lmp_{suffix}", pa.float64()),
            (f"congestion_price_{suffix}", pa.float64()),
            (f"marginal_loss_price_{suffix}", pa.float64()),
            ("row_is_current", pa.bool_()),
            ("version_nbr", pa.int64()),
            # unverified 5-minute feed only
            ("occ_check", pa.string()),
            ("ref_caseid_used_multi_interval", pa.string()),
        ]
    )


class LmpFeed(Dataset):
    """One Data Miner LMP feed. `pnodes` and `location_type` narrow what is fetched
    (the registered instances fetch every node)."""

    iso = Iso.PJM
    transport = Transport.JSON_API
    auth = dataminer.AUTH
    budget = dataminer.BUDGET
    time_rule = TimeRule.UTC_FIELD
    components = Components.PUBLISHED
    revisions = RevisionPolicy.VERSIONED
    feed: ClassVar[str]
    suffix: ClassVar[str]  # "da" or "rt": the column suffix
    market: ClassVar[Market]
    # The feed cannot filter on type even when current (gridstatus: RT 5-minute).
    type_filter_on_server: ClassVar[bool] = True
    # Days per request when only a few nodes are asked for (all nodes: one day).
    node_max_days: ClassVar[int] = 31

    def __init__(
        self, pnodes: Sequence[int | str] | None = None, location_type: str | None = None
    ) -> None:
        self.pnodes = tuple(str(int(p)) for p in pnodes) if pnodes else ()
        self.location_type = location_type.upper() if location_type else None

    def windows(self, start: date, end: date, *, now: datetime | None = None) -> list[Window]:
        """Whole local days; a few nodes at a time allow longer windows per request."""
        chunking = self.chunking
        if self.pnodes and len(self.pnodes) <= 50:
            chunking = replace(chunking, max_days=self.node_max_days)
        return chunking.split(self.iso, start, end, now=now)

    def _fields(self, *, energy: bool = True) -> list[str]:
        s = self.suffix
        fields = ["datetime_beginning_utc", "pnode_id", f"total_lmp_{s}"]
        fields += [f"congestion_price_{s}", f"marginal_loss_price_{s}"]
        if energy:
            fields += [f"system_energy_price_{s}", "version_nbr"]
        return fields

    def _filters(self) -> tuple[dict[str, str], dict[str, str]]:
        """(query filters, filters always applied on our side)."""
        server: dict[str, str] = {}
        client: dict[str, str] = {}
        if self.pnodes:
            server["pnode_id"] = ";".join(self.pnodes)
        if self.location_type:
            wanted = {"type": self.location_type}
            (server if self.type_filter_on_server else client).update(wanted)
        return server, client

    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        server, client = self._filters()
        return dataminer.fetch_pages(
            http,
            self.name,
            self.feed,
            window,
            fields=self._fields(),
            filters=server | {"row_is_current": "TRUE"},
            client_filters=client,
        )

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_lmps(self.name, self.suffix, self.market, raws)


def parse_lmps(dataset: str, suffix: str, market: Market, raws: Sequence[RawResponse]) -> pa.Table:
    """PRICE_SCHEMA rows of LMP pages/exports, validated; raises `PayloadError`."""
    s = suffix
    required = ["datetime_beginning_utc", "pnode_id", f"total_lmp_{s}"]
    required += [f"congestion_price_{s}", f"marginal_loss_price_{s}"]
    raw = dataminer.read_items(
        raws,
        raw_lmp_schema(s),
        required,
        csv_format={"datetime_beginning_utc": CSV_TIME},
        columns=[*required, f"system_energy_price_{s}", "version_nbr"],
    )
    if raw.num_rows == 0:
        return validate_prices(_empty())
    raw = _latest_versions(raw)
    value = raw.column(f"total_lmp_{s}")
    congestion = raw.column(f"congestion_price_{s}")
    loss = raw.column(f"marginal_loss_price_{s}")
    energy = raw.column(f"system_energy_price_{s}")
    if energy.null_count:
        # The unverified feed publishes no energy component: LMP - congestion - loss.
        derived = pc.subtract(pc.subtract(value, congestion), loss)
        energy = pc.coalesce(energy, derived)
    start = raw.column("datetime_beginning_utc")
    if start.null_count:
        raise PayloadError(dataset, f"{start.null_count} row(s) without datetime_beginning_utc")
    table = pa.table(
        {
            "instrument": _instruments(dataset, market, raw.column("pnode_id")),
            "interval_start": start,
            "interval_end": pc.add(start, pa.scalar(market.interval, pa.duration("us"))),
            "value": value,
            "energy": energy,
            "congestion": congestion,
            "loss": loss,
        }
    )
    try:
        return validate_prices(table)
    except SchemaError as exc:
        raise PayloadError(dataset, str(exc)) from None


def _empty() -> pa.Table:
    return pa.table(
        {
            "instrument": pa.array([], pa.string()),
            "interval_start": pa.array([], UTC_TS),
            "interval_end": pa.array([], UTC_TS),
            "value": pa.array([], pa.float64()),
        }
    )


def _instruments(dataset: str, market: Market, pnode: pa.ChunkedArray) -> pa.Array:
    """Dictionary-encoded ids `PJM.<market>.LMP.<pnode_id>`: one string per node, not row."""
    if pnode.null_count:
        raise PayloadError(dataset, f"{pnode.null_count} row(s) without pnode_id")
    encoded = pc.dictionary_encode(pnode).combine_chunks()
    prefix = f"{Iso.PJM}.{market}.{Product.LMP}."
    names = pc.binary_join_element_wise(prefix, encoded.dictionary.cast(pa.string()), "")
    return pa.DictionaryArray.from_arrays(encoded.indices, names)


def _latest_versions(raw: pa.Table) -> pa.Table:
    """Keep the highest `version_nbr` of each (pnode, interval) present in the rows.

    Only runs when the rows hold more than one version number (row_is_current=TRUE
    normally leaves one); exact repeats of a row are left for validation to reject.
    """
    version = raw.column("version_nbr")
    if version.null_count == raw.num_rows:
        return raw
    bounds = pc.min_max(version).as_py()
    if bounds["min"] == bounds["max"]:
        return raw
    node = raw.column("pnode_id").to_numpy()
    start = raw.column("datetime_beginning_utc").cast(pa.int64()).to_numpy()
    ver = pc.fill_null(version, -1).to_numpy()
    order = np.lexsort((-ver, start, node))
    n, t = node[order], start[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (n[1:] != n[:-1]) | (t[1:] != t[:-1])
    keep = np.sort(order[first])
    return raw.take(pa.array(keep))


@register
class RtFiveMinLmp(LmpFeed):
    name = "pjm.rt_fivemin_hrl_lmps"
    description = "PJM real-time 5-minute LMPs (verified; unverified when not yet verified)"
    feed = "rt_fivemin_hrl_lmps"
    suffix = "rt"
    market = Market.RT5
    raw_columns = tuple(raw_lmp_schema("rt").names)
    produces = ((Market.RT5, Product.LMP),)
    chunking: ClassVar[Chunking] = dataminer.chunking(dataminer.ARCHIVE_FIVE_MIN)
    type_filter_on_server = False
    node_max_days = 7

    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        pages = super().fetch(http, window)
        if sum(int(p.meta.get("rows", 0)) for p in pages):
            return pages
        # Not verified yet (the verified feed lags): the unverified feed, which takes no
        # row_is_current filter and has no energy column.
        server, client = self._filters()
        return dataminer.fetch_pages(
            http,
            self.name,
            UNVERIFIED_FIVE_MIN,
            window,
            fields=self._fields(energy=False),
            filters=server,
            client_filters=client,
            # provisional: the ingest runner never counts this window complete, so it is
            # fetched again until the verified feed has it.
            extra_meta={"fallback_from": self.feed, "provisional": True},
        )


@register
class RtHourlyLmp(LmpFeed):
    name = "pjm.rt_hrl_lmps"
    description = "PJM real-time hourly LMPs (verified)"
    feed = "rt_hrl_lmps"
    suffix = "rt"
    market = Market.RTH
    raw_columns = tuple(raw_lmp_schema("rt").names)
    produces = ((Market.RTH, Product.LMP),)
    chunking: ClassVar[Chunking] = dataminer.chunking(dataminer.ARCHIVE_HOURLY)


@register
class DaHourlyLmp(LmpFeed):
    name = "pjm.da_hrl_lmps"
    description = "PJM day-ahead hourly LMPs"
    feed = "da_hrl_lmps"
    suffix = "da"
    market = Market.DA
    raw_columns = tuple(raw_lmp_schema("da").names)
    produces = ((Market.DA, Product.LMP),)
    chunking: ClassVar[Chunking] = dataminer.chunking(dataminer.ARCHIVE_HOURLY)
