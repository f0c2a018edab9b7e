"""Live prices: `subscription { prices(instruments: [...]) { ... } }` over websockets.

The first message carries the latest stored interval of each instrument. After that,
every change event (`app.state.changes`, published by ingestion after each committed
batch) that touches a subscribed instrument triggers one store read of the rows after
the last interval sent for it, pushed as one `Series` chunk. Events that arrive while a
read runs are merged into the next read. Revisions of intervals already sent are not
pushed (query `prices(asOf:)` or the REST revisions for those).

The feed subscription is opened before the first read, so nothing committed after the
first message is missed; it is closed when the client completes the operation or the
connection drops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import strawberry
from strawberry.types import Info

from ...core.schema import LATEST_INTERVAL
from ...ingest.events import ChangeEvent, ChangeFeed
from ...store.base import PriceStore, ResultTooLarge
from .columns import Series
from .errors import GraphQLUserError
from .inputs import instrument_ids
from .loaders import store_call

__all__ = ["UNAVAILABLE", "price_updates"]

UNAVAILABLE = "UNAVAILABLE"
_END = object()
_STEP = timedelta(microseconds=1)


async def price_updates(
    info: Info, instruments: list[strawberry.ID]
) -> AsyncGenerator[Series, None]:
    """New intervals of `instruments` as ingestion stores them (first: the latest)."""
    context = info.context
    ids = instrument_ids(list(instruments), context.limits)
    feed: ChangeFeed | None = context.changes
    if feed is None:
        raise GraphQLUserError("live prices are not available on this server", UNAVAILABLE)
    store: PriceStore = context.store
    cap = context.graphql_limits.max_rows_per_series
    wanted = frozenset(ids)
    queue: asyncio.Queue[object] = asyncio.Queue()
    pump = asyncio.create_task(_pump(feed, wanted, queue))
    try:
        await asyncio.sleep(0)  # the pump registers with the feed before the first read
        first = await store_call(store.latest, ids)
        last_sent = _last_intervals(first, {})
        yield Series(table=first)
        while True:
            changed = await _next_changes(queue, wanted)
            if changed is None:
                return
            table = await store_call(_rows_after, store, sorted(changed), last_sent, cap)
            if table.num_rows:
                last_sent = _last_intervals(table, last_sent)
                yield Series(table=table)
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump


async def _pump(feed: ChangeFeed, wanted: frozenset[str], queue: asyncio.Queue) -> None:
    """Forward events touching `wanted` into `queue`; end it with _END or the error."""
    try:
        async for event in feed.subscribe():
            if wanted.intersection(event.instruments):
                queue.put_nowait(event)
    except Exception as exc:  # a broken feed ends the subscription with an error
        queue.put_nowait(exc)
    else:
        queue.put_nowait(_END)


async def _next_changes(queue: asyncio.Queue, wanted: frozenset[str]) -> set[str] | None:
    """Instruments changed by the next event and any already queued behind it."""
    items = [await queue.get()]
    while not queue.empty():
        items.append(queue.get_nowait())
    changed: set[str] = set()
    for item in items:
        if isinstance(item, Exception):
            raise item
        if item is _END:
            return None
        assert isinstance(item, ChangeEvent)
        changed.update(wanted.intersection(item.instruments))
    return changed


def _last_intervals(table: pa.Table, known: dict[str, datetime]) -> dict[str, datetime]:
    """`known` updated with the last interval_start per instrument in `table`."""
    out = dict(known)
    if table.num_rows:
        grouped = table.group_by("instrument").aggregate([("interval_start", "max")])
        for instrument, last in zip(
            grouped.column("instrument").to_pylist(),
            grouped.column("interval_start_max").to_pylist(),
            strict=True,
        ):
            out[instrument] = max(last, out.get(instrument, last))
    return out


def _rows_after(
    store: PriceStore, ids: Sequence[str], last_sent: dict[str, datetime], cap: int
) -> pa.Table:
    """Rows of `ids` after the last interval sent for each; the latest for those never
    sent (or, past `cap` rows, for all: a client far behind gets the current state)."""
    seen = [i for i in ids if i in last_sent]
    fresh = [i for i in ids if i not in last_sent]
    parts = [store.latest(fresh)] if fresh else []
    if seen:
        start = min(last_sent[i] for i in seen) + _STEP
        try:
            table = store.read_prices(seen, start, LATEST_INTERVAL, max_rows=cap)
        except ResultTooLarge:
            table = store.latest(seen)
        thresholds = pa.array(
            [last_sent[i] for i in seen], table.schema.field("interval_start").type
        )
        position = pc.index_in(table.column("instrument"), value_set=pa.array(seen))
        after = pc.greater(table.column("interval_start"), thresholds.take(position))
        parts.append(table.filter(after))
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]
