"""Column-list types: a price series and a forward curve over one Arrow table each.

graphql-core completes every list element through Python calls, so a series of N rows
as N objects × 7 fields costs 7N field resolutions; as 7 lists it costs 7 resolver calls
plus N cheap scalar checks per list, and only the columns asked for are built
(vectorized, from Arrow). See docs/graphql.md for the measured difference.
"""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pyarrow.compute as pc
import strawberry
from strawberry.scalars import JSON

from ..curves import curve_meta
from ..formats import column_values

__all__ = ["Curve", "Series"]


def _floats(table: pa.Table, name: str) -> list[float | None]:
    """A float column as a list with null for missing values (and for NaN, which JSON
    and GraphQL's Float cannot carry); all nulls when the table has no such column."""
    if name not in table.column_names:
        return [None] * table.num_rows
    column = table.column(name)
    if pc.any(pc.is_nan(column)).as_py():
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, pa.float64()), column)
    return column.to_pylist()


@strawberry.type(
    description=(
        "A price series as column lists of equal length, ordered by instrument then "
        "interval_start. Resampled series carry `count` and no components."
    )
)
class Series:
    table: strawberry.Private[pa.Table]

    @strawberry.field(description="Number of rows (the length of every column).")
    def row_count(self) -> int:
        return self.table.num_rows

    @strawberry.field(description="The instrument of each row.")
    def instrument(self) -> list[strawberry.ID]:
        return self.table.column("instrument").to_pylist()

    @strawberry.field
    def interval_start(self) -> list[datetime]:
        return column_values(self.table.column("interval_start"))

    @strawberry.field
    def interval_end(self) -> list[datetime]:
        return column_values(self.table.column("interval_end"))

    @strawberry.field(description="The price (null only for an empty resample bucket).")
    def value(self) -> list[float | None]:
        return _floats(self.table, "value")

    @strawberry.field
    def energy(self) -> list[float | None]:
        return _floats(self.table, "energy")

    @strawberry.field
    def congestion(self) -> list[float | None]:
        return _floats(self.table, "congestion")

    @strawberry.field
    def loss(self) -> list[float | None]:
        return _floats(self.table, "loss")

    @strawberry.field(description="Greenhouse-gas component (CAISO).")
    def ghg(self) -> list[float | None]:
        return _floats(self.table, "ghg")

    @strawberry.field(description="Intervals aggregated per bucket; null unless resampled.")
    def count(self) -> list[int] | None:
        if "count" not in self.table.column_names:
            return None
        return self.table.column("count").to_pylist()


@strawberry.type(
    description=(
        "A monthly on-/off-peak forward curve as column lists: one row per delivery month "
        "and peak block, ordered by month then on before off."
    )
)
class Curve:
    instrument: strawberry.ID
    table: strawberry.Private[pa.Table]

    @strawberry.field(description="How the curve was built: method, asOf, history, marks.")
    def meta(self) -> JSON:
        return curve_meta(self.table)

    @strawberry.field
    def row_count(self) -> int:
        return self.table.num_rows

    @strawberry.field(description="First day of each delivery month.")
    def months(self) -> list[date]:
        return self.table.column("month").to_pylist()

    @strawberry.field(description="Peak block of each row: on or off.")
    def peak(self) -> list[str]:
        return self.table.column("peak").to_pylist()

    @strawberry.field(description="$/MWh.")
    def price(self) -> list[float | None]:
        return _floats(self.table, "price")

    @strawberry.field(description="history, forecast or mark.")
    def source(self) -> list[str]:
        return self.table.column("source").to_pylist()

    @strawberry.field(description="Years of history behind the shape; null if not history.")
    def years(self) -> list[int | None]:
        return self.table.column("years").to_pylist()

    @strawberry.field(description="Hours of this peak block in the month.")
    def hours(self) -> list[int]:
        return self.table.column("hours").to_pylist()
