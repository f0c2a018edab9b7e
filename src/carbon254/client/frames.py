"""What tabular calls return: an Arrow table inside, converted when you ask.

`Frame.to_arrow()` is the table as received (zero copy), `.to_pandas()` a DataFrame with
tz-aware UTC timestamps, `.to_polars()` a polars DataFrame (polars is optional). Frames
also speak the Arrow PyCapsule protocol, so `polars.DataFrame(frame)` or
`duckdb.sql("select * from frame")` read them without a copy. `Rows` frames of metadata
also iterate as typed pydantic models.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import pyarrow as pa
from pydantic import BaseModel

from ..core.api_models import CompletenessDay, CompletenessReport

if TYPE_CHECKING:
    import pandas
    import polars

__all__ = ["Completeness", "CurveFrame", "Frame", "PriceFrame", "Rows"]

M = TypeVar("M", bound=BaseModel)

_POLARS_MISSING = (
    "to_polars() needs polars, which carbon254 does not install by default: "
    "`pip install polars` (the Arrow table is available as .to_arrow())"
)


class Frame:
    """A table returned by the API. `meta` is the response envelope (JSON wire only:
    e.g. `instruments`, `start`, `end`); `pages` is how many responses it took."""

    __slots__ = ("_table", "meta", "pages")

    def __init__(
        self, table: pa.Table, meta: Mapping[str, Any] | None = None, *, pages: int = 1
    ) -> None:
        self._table = table
        self.meta: dict[str, Any] = dict(meta or {})
        self.pages = pages

    # -- conversions ------------------------------------------------------------------
    def to_arrow(self) -> pa.Table:
        """The `pyarrow.Table` as received: times are `timestamp[us, tz=UTC]`."""
        return self._table

    def to_pandas(self, **kwargs: Any) -> pandas.DataFrame:
        """A pandas DataFrame; times are tz-aware (`datetime64[us, UTC]`, or the market's
        zone for local-time columns). Keyword arguments go to `pyarrow.Table.to_pandas`;
        by default each column keeps its own block (`split_blocks=True`), which skips
        pandas' consolidation copy: about half the conversion time of a price page."""
        kwargs.setdefault("split_blocks", True)
        return self._table.to_pandas(**kwargs)

    def to_polars(self) -> polars.DataFrame:
        """A polars DataFrame (needs `pip install polars`)."""
        try:
            import polars
        except ImportError as exc:
            raise ImportError(_POLARS_MISSING) from exc
        return polars.from_arrow(self._table)  # type: ignore[return-value]

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        return self._table.__arrow_c_stream__(requested_schema)

    # -- shape ------------------------------------------------------------------------
    @property
    def num_rows(self) -> int:
        return self._table.num_rows

    @property
    def columns(self) -> list[str]:
        return list(self._table.column_names)

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema

    def __len__(self) -> int:
        return self._table.num_rows

    def __repr__(self) -> str:
        cols = ", ".join(self._table.column_names)
        return f"<{type(self).__name__} {self.num_rows:,} rows × [{cols}]>"


class PriceFrame(Frame):
    """Prices (or resampled prices, or spreads): one row per instrument and interval,
    ordered by instrument then `interval_start`. The request's parameters are kept."""

    __slots__ = ("request",)

    def __init__(
        self,
        table: pa.Table,
        meta: Mapping[str, Any] | None = None,
        *,
        pages: int = 1,
        request: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(table, meta, pages=pages)
        self.request: dict[str, Any] = dict(request or {})
        """The parameters sent (instruments, start, end, as_of, resample, ...)."""

    def to_pandas(self, *, index: bool = False, **kwargs: Any) -> pandas.DataFrame:
        """As `Frame.to_pandas`; with `index=True` indexed by (instrument, interval_start)."""
        frame = super().to_pandas(**kwargs)
        if index and {"instrument", "interval_start"} <= set(frame.columns):
            frame = frame.set_index(["instrument", "interval_start"])
        return frame

    def pivot(self, column: str = "value") -> pandas.DataFrame:
        """One column per instrument, indexed by `interval_start` (UTC): for a quick plot
        or a correlation matrix."""
        frame = super().to_pandas()
        return frame.pivot(index="interval_start", columns="instrument", values=column)


class Rows(Frame, Generic[M]):
    """Metadata rows: a frame that also reads as a sequence of pydantic models.

    `rows[0]`, `for row in rows`, `rows.models()` give typed models (parsed on first use);
    `rows.to_pandas()` gives the whole table.
    """

    __slots__ = ("_model", "_models")

    def __init__(
        self,
        table: pa.Table,
        model: type[M],
        meta: Mapping[str, Any] | None = None,
        *,
        pages: int = 1,
    ) -> None:
        super().__init__(table, meta, pages=pages)
        self._model = model
        self._models: list[M] | None = None

    def models(self) -> list[M]:
        if self._models is None:
            rows = self._table.to_pylist()
            self._models = [self._model.model_validate(row) for row in rows]
        return self._models

    def __iter__(self) -> Iterator[M]:
        return iter(self.models())

    @overload
    def __getitem__(self, index: int) -> M: ...
    @overload
    def __getitem__(self, index: slice) -> list[M]: ...
    def __getitem__(self, index: int | slice) -> M | list[M]:
        if self._models is None and isinstance(index, int):
            # One row of a large catalogue: validate just that one.
            position = index + len(self) if index < 0 else index
            if not 0 <= position < len(self):
                raise IndexError(f"row {index} of {len(self)}")
            row = self._table.slice(position, 1).to_pylist()[0]
            return self._model.model_validate(row)
        return self.models()[index]


class Completeness(Rows[CompletenessDay]):
    """Completeness per dataset and local market day (rows), and the period's summary
    (`report`: pass/fail against the target, per-dataset status and gap ranges)."""

    __slots__ = ()

    @property
    def report(self) -> CompletenessReport:
        return CompletenessReport.model_validate(self.meta)


class CurveFrame(Frame):
    """A monthly forward curve: month, peak, price, source, years, hours. `meta` holds
    how it was built (method, as_of, history window, level)."""

    __slots__ = ()

    @property
    def instrument(self) -> str | None:
        return self.meta.get("instrument")

    @property
    def method(self) -> str | None:
        return self.meta.get("method")

    def to_pandas(self, *, wide: bool = False, **kwargs: Any) -> pandas.DataFrame:
        """As `Frame.to_pandas`; `wide=True` gives one row per month, `on`/`off` columns."""
        frame = super().to_pandas(**kwargs)
        if wide:
            frame = frame.pivot(index="month", columns="peak", values="price")
        return frame


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    """Pages into one table; a page's extra or missing columns are unified (null-filled)."""
    if not tables:
        return pa.table({})
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")
