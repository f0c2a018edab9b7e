"""ERCOT NP6-788-CD: SCED LMPs at resource nodes, hubs and load zones
(ERCOT.RT5.LMP.<point>, components null: ERCOT publishes none).

One document per SCED run (`LMPSROSNODENP6788_<date>_<HHMMSS>_csv`, the run time).
Columns: SCEDTimestamp ("MM/DD/YYYY HH:MM:SS", local), RepeatedHourFlag (Y = the
repeated, standard-time hour), SettlementPoint, LMP.

SCED runs at least every five minutes but not on a grid. Rule: a run's prices belong to
the 5-minute interval its timestamp falls in (floored in UTC, equal to flooring the wall
clock since ERCOT's offsets are whole hours), and when several runs fall in one interval
the last run wins (a re-published run, posted later, wins over its original). The SCED
timestamp is an instant, so a wall time the spring-forward clock skips is an error
(`PayloadError`). 276/288/300 intervals per point on spring-forward/normal/fall-back days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pyarrow as pa

from ...core.markets import Market, Product
from ..dataset import Chunking, Components, RevisionPolicy, TimeRule
from ..http import RawResponse
from ..registry import register
from .settlement_points import locations_table, price_table, read_rows
from .timing import floor_starts, repeated_flags, sced_instants
from .transport import ErcotReport, ReportSpec, Stamp

__all__ = ["COLUMNS", "SPEC", "Np6788ScedLmp", "parse_sced_lmp"]

NAME = "ercot.np6-788-cd"
SPEC = ReportSpec("NP6-788-CD", 12300, Stamp.NAME_START, archive_slack=timedelta(hours=1))
COLUMNS = {
    "SCEDTimestamp": pa.string(),
    "RepeatedHourFlag": pa.string(),
    "SettlementPoint": pa.string(),
    "LMP": pa.float64(),
}


def _runs(dataset: str, table: pa.Table) -> pa.Array:
    repeated = repeated_flags(dataset, table.column("RepeatedHourFlag"), column="RepeatedHourFlag")
    return sced_instants(dataset, table.column("SCEDTimestamp"), repeated)


def parse_sced_lmp(dataset: str, raws: Sequence[RawResponse]) -> pa.Table:
    """PRICE_SCHEMA rows (RT5) of NP6-788-CD documents: the last SCED run of each
    5-minute interval."""
    rows = read_rows(dataset, raws, COLUMNS)
    table = rows.table
    runs = _runs(dataset, table)
    run_us = runs.cast(pa.int64()).to_numpy(zero_copy_only=False)
    # Later run wins; for equal run times the later-posted document (a re-publication).
    rank = np.lexsort((rows.document, run_us)).argsort()
    return price_table(
        dataset,
        Market.RT5,
        Product.LMP,
        table.column("SettlementPoint").combine_chunks(),
        floor_starts(runs, 5),
        table.column("LMP").combine_chunks(),
        rows.document,
        rank=rank,
    )


@register
class Np6788ScedLmp(ErcotReport):
    name = NAME
    spec = SPEC
    description = (
        "ERCOT SCED LMPs at resource nodes, hubs and load zones, last run per 5-minute "
        "interval (NP6-788-CD)"
    )
    # MIS keeps about five days; older windows go to the API archive.
    chunking = Chunking(max_days=1, archive_after=timedelta(days=4))
    raw_columns = tuple(COLUMNS)
    time_rule = TimeRule.LOCAL_DST_FLAG
    components = Components.NONE
    revisions = RevisionPolicy.CORRECTIONS  # restated through LMP price-correction reports
    produces = ((Market.RT5, Product.LMP),)

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_sced_lmp(self.name, raws)

    def locations(self, raws: Sequence[RawResponse]) -> pa.Table:
        """Directory rows for the settlement points in `raws`, typed by name."""
        table = read_rows(self.name, raws, COLUMNS).table
        return locations_table(table.column("SettlementPoint"), None)
