"""ERCOT NP4-190-CD: day-ahead market settlement point prices, hourly
(ERCOT.DA.SPP.<point>).

One document a day (`DAMSPNP4190_csv`, no time in its name), posted around 13:30 the day
before delivery, so a delivery window takes the documents posted the local day before.
Columns: DeliveryDate, HourEnding ("01:00".."24:00"), SettlementPoint,
SettlementPointPrice, DSTFlag (Y = the repeated, standard-time hour). "24:00" is the
hour 23:00-24:00 of DeliveryDate. Hours are placed by `timing.hour_ending_starts`, whose
spring-forward rule is documented there: since 2017 ERCOT skips "03:00" (23 labels
01, 02, 04..24); a file that labels the same hour twice raises. 23/24/25 hours per point.

No SettlementPointType in this report: locations are typed by name, and there are no
energy-weighted zones. ERCOT publishes no price components.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pyarrow as pa

from ...core.markets import Market, Product
from ..clock import parse_hour_ending
from ..dataset import Chunking, Components, RevisionPolicy, TimeRule
from ..http import RawResponse
from ..registry import register
from .settlement_points import locations_table, parse_dates, price_table, read_rows
from .timing import hour_ending_starts, repeated_flags
from .transport import ErcotReport, ReportSpec, Stamp

__all__ = ["COLUMNS", "SPEC", "Np4190DaSpp", "parse_da_spp"]

NAME = "ercot.np4-190-cd"
# Delivery day D is posted on day D-1 (local calendar days).
SPEC = ReportSpec(
    "NP4-190-CD",
    12331,
    Stamp.POSTED,
    post_from=-timedelta(days=1),
    post_to=-timedelta(days=1),
)
COLUMNS = {
    "DeliveryDate": pa.string(),
    "HourEnding": pa.string(),
    "SettlementPoint": pa.string(),
    "SettlementPointPrice": pa.float64(),
    "DSTFlag": pa.string(),
}


def parse_da_spp(dataset: str, raws: Sequence[RawResponse]) -> pa.Table:
    """PRICE_SCHEMA rows of NP4-190-CD documents; a re-posting of the same day replaces
    the earlier one, two different documents for one hour raise."""
    rows = read_rows(dataset, raws, COLUMNS, by_posting_day=True)
    table = rows.table
    days = parse_dates(dataset, table.column("DeliveryDate"), "DeliveryDate")
    hour = parse_hour_ending(dataset, table.column("HourEnding"))
    repeated = repeated_flags(dataset, table.column("DSTFlag"), column="DSTFlag")
    return price_table(
        dataset,
        Market.DA,
        Product.SPP,
        table.column("SettlementPoint").combine_chunks(),
        hour_ending_starts(dataset, days, hour, repeated),
        table.column("SettlementPointPrice").combine_chunks(),
        rows.document,
        group=rows.group,
    )


@register
class Np4190DaSpp(ErcotReport):
    name = NAME
    spec = SPEC
    description = "ERCOT day-ahead hourly settlement point prices (NP4-190-CD)"
    chunking = Chunking(max_days=7, archive_after=timedelta(days=4))
    raw_columns = tuple(COLUMNS)
    time_rule = TimeRule.HOUR_ENDING
    components = Components.NONE
    revisions = RevisionPolicy.CORRECTIONS  # restated through DAM price-correction reports
    produces = ((Market.DA, Product.SPP),)

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_da_spp(self.name, raws)

    def locations(self, raws: Sequence[RawResponse]) -> pa.Table:
        """Directory rows for the settlement points in `raws`, typed by name."""
        table = read_rows(self.name, raws, COLUMNS, by_posting_day=True).table
        return locations_table(table.column("SettlementPoint"), None)
