"""The GraphQL schema: catalogue and price queries, forward curves, live price pushes.

GraphQL is for graph-shaped questions (which instruments, where they are, their latest
price, a day or a month of a handful of series, a curve). Bulk series belong to
`GET /api/v1/prices` (Arrow): series here are capped (see `limits`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date, datetime
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionResult, Info
from strawberry.types.graphql import OperationType

from ..curves import DEFAULT_MONTHS, MAX_MONTHS, forward_curve
from .columns import Curve, Series
from .errors import bad_input, log_errors, not_found
from .execution import ColumnExecutionContext
from .inputs import check_window_for, instrument_id, instrument_ids
from .limits import DEFAULT_FIRST, GraphQLLimits, limit_extensions
from .loaders import store_call
from .resolvers import window_for
from .scalars import DATETIME
from .subscriptions import price_updates
from .types import (
    Agg,
    Instrument,
    InstrumentSeries,
    Iso,
    Market,
    Peak,
    Product,
    Resample,
    prefetch,
)

__all__ = ["Query", "Subscription", "build_schema"]


def _enum_value(member: object) -> str | None:
    return None if member is None else member.value  # type: ignore[attr-defined]


@strawberry.type
class Query:
    @strawberry.field(
        description=(
            "The instrument catalogue, ordered by id: filter by iso/market/product, "
            "`search` (case-insensitive, in the id or the location's name), page with "
            "`first` and `after` (the last id of the previous page)."
        )
    )
    async def instruments(
        self,
        info: Info,
        iso: Iso | None = None,  # type: ignore[valid-type]
        market: Market | None = None,  # type: ignore[valid-type]
        product: Product | None = None,  # type: ignore[valid-type]
        search: str | None = None,
        first: int = DEFAULT_FIRST,
        after: strawberry.ID | None = None,
    ) -> list[Instrument] | None:
        context = info.context
        limit = context.graphql_limits.max_first
        if not 1 <= first <= limit:
            raise bad_input(f"first must be between 1 and {limit}, got {first}", argument="first")
        iso_ = _enum_value(iso)
        table = await store_call(
            context.store.instruments, iso=iso_, market=_enum_value(market),
            product=_enum_value(product),
        )  # fmt: skip
        if search and search.strip():
            names = await store_call(context.store.locations, iso=iso_)
            table = table.filter(_matches(table, names, search.strip()))
        if after is not None:
            table = table.filter(pc.greater(table.column("instrument"), str(after)))
        rows = table.slice(0, first).to_pylist()
        context.loaders.instrument.prime_many({row["instrument"]: row for row in rows})
        items = [Instrument.from_row(row) for row in rows]
        await prefetch(info, items)
        return items

    @strawberry.field(description="One instrument by id (NOT_FOUND if the store has none).")
    async def instrument(self, info: Info, id: strawberry.ID) -> Instrument | None:
        canonical = instrument_id(str(id))
        row = await info.context.loaders.instrument.load(canonical)
        if row is None:
            raise not_found(f"unknown instrument: {canonical}", instruments=[canonical])
        return Instrument.from_row(row)

    @strawberry.field(
        description=(
            "Series of several instruments over one window, read in one store call; "
            "column lists per instrument (see Instrument.prices)."
        )
    )
    async def prices(
        self,
        info: Info,
        instruments: list[strawberry.ID],
        start: datetime,
        end: datetime,
        as_of: datetime | None = None,
        resample: Resample | None = None,
        agg: Agg | None = None,
        peak: Peak | None = None,
    ) -> list[InstrumentSeries] | None:
        ids = instrument_ids([str(i) for i in instruments], info.context.limits)
        window = window_for(info, start, end, as_of, resample, agg, peak)
        check_window_for(ids, window)
        rows = await info.context.loaders.instrument.load_many(ids)
        unknown = [i for i, row in zip(ids, rows, strict=True) if row is None]
        if unknown:
            raise not_found(f"unknown instrument(s): {', '.join(unknown)}", instruments=unknown)
        return [InstrumentSeries(instrument=Instrument.from_row(r), window=window) for r in rows]

    @strawberry.field(
        description=(
            "The forward curve of a hub: one row per delivery month and peak "
            "block, as held at `asOf` (default now), from `start` (default next month)."
        )
    )
    async def curve(
        self,
        info: Info,
        instrument: strawberry.ID,
        as_of: datetime | None = None,
        start: date | None = None,
        months: int = DEFAULT_MONTHS,
    ) -> Curve | None:
        canonical = instrument_id(str(instrument), "instrument")
        if not 1 <= months <= MAX_MONTHS:
            raise bad_input(
                f"months must be between 1 and {MAX_MONTHS}, got {months}", argument="months"
            )
        table = await store_call(
            forward_curve, info.context.store, canonical, as_of=as_of, start=start,
            months=months,
        )  # fmt: skip
        return Curve(instrument=strawberry.ID(canonical), table=table)


def _matches(table: pa.Table, directory: pa.Table, text: str) -> pa.Array:
    """Rows whose id, or whose location's directory name, contains `text` (any case)."""
    in_id = pc.match_substring(table.column("instrument"), text, ignore_case=True)
    named = directory.filter(
        pc.fill_null(pc.match_substring(directory.column("name"), text, ignore_case=True), False)
    )
    if named.num_rows == 0:
        return in_id
    keys = pc.binary_join_element_wise(named.column("iso"), named.column("location"), "|")
    row_keys = pc.binary_join_element_wise(table.column("iso"), table.column("location"), "|")
    return pc.or_(in_id, pc.is_in(row_keys, value_set=pc.unique(keys)))


@strawberry.type
class Subscription:
    prices: AsyncGenerator[Series, None] = strawberry.subscription(
        resolver=price_updates,
        description=(
            "New intervals of `instruments` as ingestion stores them, one Series chunk "
            "per change; the first message carries the latest interval of each."
        ),
    )


class _Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:  # type: ignore[no-untyped-def]
        log_errors(errors)

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        """A plain execution never runs a subscription (Strawberry would resolve its
        field once, to an error): subscriptions take a websocket or a streaming request,
        which go through `subscribe`/`stream` instead."""
        allowed = kwargs.get("allowed_operation_types")
        if allowed is not None:
            kwargs["allowed_operation_types"] = set(allowed) - {OperationType.SUBSCRIPTION}
        return await super().execute(*args, **kwargs)


@cache
def build_schema(limits: GraphQLLimits = GraphQLLimits()) -> strawberry.Schema:  # noqa: B008
    """The schema with its limits (built once per distinct limits: building costs ~0.1 s)."""
    return _Schema(
        query=Query,
        subscription=Subscription,
        extensions=limit_extensions(limits),
        config=StrawberryConfig(scalar_map={datetime: DATETIME}),
        execution_context_class=ColumnExecutionContext,
    )
