"""Data-quality queries over stored prices: rows per local market day, LMP component
consistency, and the last interval stored (ingest lag).

These answer the checks ingestion runs after each job (completeness, DST row counts,
components adding up), in SQL so that a month of PJM nodes never leaves the database.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core import Iso, Market, Product, market_day
from ..core.schema import COMPONENT_TOLERANCE, UTC_TS
from ._backend import SqlBackend
from ._clock import local_time_sql
from ._sql import as_utc, enum_value, utc_range
from .base import InvalidArgument

DAILY_COUNT_SCHEMA = pa.schema(
    [
        pa.field("instrument", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("rows", pa.int64(), nullable=False),
    ]
)
_FLOAT_SLACK = COMPONENT_TOLERANCE - 0.01  # what validation adds to its cent


def _day(value: date, name: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidArgument(f"{name} must be a date (a local market day), got {value!r}")
    return value


class SqlQuality(SqlBackend):
    def _instrument_keys_sql(self, iso: Iso, market: Market | None, product: Product) -> str:
        where = [f"iso = '{iso.value}'", f"product = '{product.value}'"]
        if market is not None:
            where.append(f"market = '{market.value}'")
        return f"(SELECT instrument_key FROM instruments WHERE {' AND '.join(where)})"

    def daily_counts(
        self,
        iso: Iso | str,
        market: Market | str,
        product: Product | str,
        start_day: date,
        end_day: date,
    ) -> pa.Table:
        iso_ = enum_value(Iso, iso, "iso")
        keys = self._instrument_keys_sql(
            iso_, enum_value(Market, market, "market"), enum_value(Product, product, "product")
        )
        first, last = _day(start_day, "start_day"), _day(end_day, "end_day")
        if first > last:
            raise InvalidArgument(f"start_day {first} is after end_day {last}")
        # The UTC span of the local days: 23, 24 or 25 hours each (always 24 for MISO).
        lo = as_utc(market_day(iso_, first)[0], "start_day")
        hi = as_utc(market_day(iso_, last)[1], "end_day")
        local = local_time_sql("p.interval_start", iso_, lo, hi, self._literal)
        counted = self._fetch(
            f"SELECT i.instrument, a.day, a.n FROM (SELECT p.instrument_key, "
            f"CAST({local} AS DATE) AS day, count(*) AS n FROM prices p "
            f"WHERE p.instrument_key IN {keys} AND p.interval_start >= {self._literal(lo)} "
            f"AND p.interval_start < {self._literal(hi)} GROUP BY 1, 2) a "
            "JOIN instruments i ON i.instrument_key = a.instrument_key",
            DAILY_COUNT_SCHEMA,
        )
        # Every (instrument, day): a day with no rows is a 0, not an absence.
        names = pc.unique(counted.column("instrument")).to_pylist()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        grid = pa.table(
            {
                "instrument": pa.array(np.repeat(np.array(names, dtype=object), len(days)),
                                       pa.string()),
                "day": pa.array(days * len(names), pa.date32()),
            }
        )  # fmt: skip
        joined = grid.join(counted, ["instrument", "day"], join_type="left outer")
        rows = pc.fill_null(joined.column("rows"), 0)
        result = pa.Table.from_arrays(
            [joined.column("instrument"), joined.column("day"), rows], schema=DAILY_COUNT_SCHEMA
        )
        return result.sort_by([("instrument", "ascending"), ("day", "ascending")])

    def component_violations(
        self, iso: Iso | str, start: datetime, end: datetime, tolerance: float = 0.01
    ) -> int:
        iso_ = enum_value(Iso, iso, "iso")
        start, end = utc_range(start, end)
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
            raise InvalidArgument(f"tolerance must be a number, got {tolerance!r}")
        if not math.isfinite(tolerance) or tolerance < 0:
            raise InvalidArgument(f"tolerance must be finite and >= 0, got {tolerance!r}")
        limit = f"CAST('{float(tolerance) + _FLOAT_SLACK!r}' AS DOUBLE PRECISION)"
        keys = self._instrument_keys_sql(iso_, None, Product.LMP)
        value = self._scalar(
            f"SELECT count(*) FROM prices p WHERE p.instrument_key IN {keys} "
            f"AND p.interval_start >= {self._literal(start)} "
            f"AND p.interval_start < {self._literal(end)} "
            "AND abs(p.value - (p.energy + p.congestion + p.loss + coalesce(p.ghg, 0))) "
            f"> {limit}"
        )
        return int(value)  # type: ignore[arg-type]

    def last_interval(
        self, iso: Iso | str, market: Market | str, product: Product | str
    ) -> datetime | None:
        where = (
            f"iso = '{enum_value(Iso, iso, 'iso').value}' "
            f"AND market = '{enum_value(Market, market, 'market').value}' "
            f"AND product = '{enum_value(Product, product, 'product').value}'"
        )
        table = self._fetch(
            f"SELECT {self._ts_out('max(last_interval)')} AS t FROM instruments WHERE {where}",
            pa.schema([("t", UTC_TS)]),
        )
        return table.column("t")[0].as_py() if table.num_rows else None
