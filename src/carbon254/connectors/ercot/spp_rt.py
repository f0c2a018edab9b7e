"""ERCOT NP6-905-CD: real-time settlement point prices, 15-minute, at resource nodes,
hubs and load zones (ERCOT.RT15.SPP.<point>).

MIS posts one document per interval (`SPPHLZNP6905_<date>_<HHMM>_csv`, the time being
the interval's end), retained for days; older windows come from the API archive.
Columns: DeliveryDate, DeliveryHour (hour ending 1..24), DeliveryInterval (1..4),
SettlementPointName, SettlementPointType, SettlementPointPrice, DSTFlag (Y = the
repeated, standard-time hour). Interval start = the start of hour DeliveryHour + 15 min
per interval; the hour is placed by `timing.hour_ending_starts` (DSTFlag, and the
spring-forward label rule documented there). A spring-forward day has 92 intervals per
point, a fall-back day 100.

Energy-weighted zones (types LZEW, LZ_DCEW) share their name with the plain zone and
become `<name>_EW` (see `settlement_points`). ERCOT publishes no price components.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pyarrow as pa

from ...core.markets import Market, Product
from ...core.schema import UTC_TS
from ..dataset import Chunking, Components, RevisionPolicy, TimeRule
from ..errors import PayloadError
from ..http import RawResponse
from ..registry import register
from .settlement_points import (
    location_names,
    locations_table,
    parse_dates,
    price_table,
    read_rows,
)
from .timing import hour_ending_starts, repeated_flags
from .transport import ErcotReport, ReportSpec, Stamp

__all__ = ["COLUMNS", "SPEC", "Np6905RtSpp", "parse_rt_spp"]

NAME = "ercot.np6-905-cd"
SPEC = ReportSpec("NP6-905-CD", 12301, Stamp.NAME_END)
COLUMNS = {
    "DeliveryDate": pa.string(),
    "DeliveryHour": pa.int64(),
    "DeliveryInterval": pa.int64(),
    "SettlementPointName": pa.string(),
    "SettlementPointType": pa.string(),
    "SettlementPointPrice": pa.float64(),
    "DSTFlag": pa.string(),
}
_QUARTER_US = 15 * 60 * 1_000_000


def _starts(dataset: str, table: pa.Table) -> pa.Array:
    hour = table.column("DeliveryHour").to_numpy()
    interval = table.column("DeliveryInterval").to_numpy()
    if hour.size and (hour.min() < 1 or hour.max() > 24):
        raise PayloadError(dataset, f"DeliveryHour outside 1..24: {hour.min()}..{hour.max()}")
    if interval.size and (interval.min() < 1 or interval.max() > 4):
        raise PayloadError(dataset, f"DeliveryInterval outside 1..4: {interval.min()}..")
    days = parse_dates(dataset, table.column("DeliveryDate"), "DeliveryDate")
    repeated = repeated_flags(dataset, table.column("DSTFlag"), column="DSTFlag")
    # Place each distinct (day, hour, flag) once; intervals are whole quarters after it.
    key = (days.astype(np.int64) * 32 + hour) * 2 + repeated
    unique, inverse = np.unique(key, return_inverse=True)
    hours = hour_ending_starts(
        dataset,
        (unique // 64).astype("datetime64[D]"),
        unique // 2 % 32,
        (unique % 2).astype(bool),
    )
    micros = hours.cast(pa.int64()).to_numpy(zero_copy_only=False)[inverse.reshape(-1)]
    return pa.array(micros + (interval - 1) * _QUARTER_US, pa.int64()).cast(UTC_TS)


def parse_rt_spp(dataset: str, raws: Sequence[RawResponse]) -> pa.Table:
    """PRICE_SCHEMA rows of NP6-905-CD documents; a re-published document replaces its
    original, rows of two different documents for one interval raise."""
    rows = read_rows(dataset, raws, COLUMNS)
    table = rows.table
    return price_table(
        dataset,
        Market.RT15,
        Product.SPP,
        location_names(table.column("SettlementPointName"), table.column("SettlementPointType")),
        _starts(dataset, table),
        table.column("SettlementPointPrice").combine_chunks(),
        rows.document,
        group=rows.group,
    )


@register
class Np6905RtSpp(ErcotReport):
    name = NAME
    spec = SPEC
    description = (
        "ERCOT real-time 15-minute settlement point prices at resource nodes, hubs and "
        "load zones (NP6-905-CD)"
    )
    # MIS keeps about five days; older windows go to the API archive.
    chunking = Chunking(max_days=1, archive_after=timedelta(days=4))
    raw_columns = tuple(COLUMNS)
    time_rule = TimeRule.HOUR_ENDING
    components = Components.NONE
    # ERCOT restates prices through separate price-correction reports (not fetched here);
    # a re-fetched document replaces the rows it held.
    revisions = RevisionPolicy.CORRECTIONS
    produces = ((Market.RT15, Product.SPP),)

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_rt_spp(self.name, raws)

    def locations(self, raws: Sequence[RawResponse]) -> pa.Table:
        """Directory rows for the settlement points in `raws` (hubs, zones, `_EW` zones,
        resource nodes), one open-ended version each (see `NODAL_MARKET_START`)."""
        table = read_rows(self.name, raws, COLUMNS).table
        return locations_table(
            table.column("SettlementPointName"), table.column("SettlementPointType")
        )
