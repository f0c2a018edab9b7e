"""DataLoaders: a query over 20 instruments with nested fields is a handful of store
reads, not one per instrument per field (no N+1)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from carbon254.service.graphql.errors import RESULT_TOO_LARGE, GraphQLUserError
from carbon254.service.graphql.inputs import PriceWindow
from carbon254.service.graphql.loaders import RowBudget, _read_group
from carbon254.store.base import PriceStore

from .conftest import HOUR, NODES, GraphQLClient

NESTED = """{ instruments(market: RT5, first: 20) {
    id
    location { name type }
    latest { intervalStart value }
    prices(start: "2025-06-02T14:00:00Z", end: "2025-06-02T15:00:00Z") { intervalStart value }
    hourly: prices(start: "2025-06-02T14:00:00Z", end: "2025-06-02T15:00:00Z",
                   resample: HOURLY) { value count }
} }"""


class CountingStore:
    """A proxy that counts calls to the store's methods (from any thread)."""

    def __init__(self, store: PriceStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] += 1
            return attribute(*args, **kwargs)

        return counted


def test_twenty_instruments_with_nested_fields_take_one_read_per_field(
    catalogue: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    store = CountingStore(catalogue)
    gql = serve(store)  # type: ignore[arg-type]
    rows = gql.data(NESTED)["instruments"]
    assert [r["id"] for r in rows] == NODES
    assert all(len(r["prices"]["value"]) == 12 for r in rows)
    assert all(r["hourly"]["count"] == [12] for r in rows)
    assert all(r["location"]["name"] == f"NODE {r['id'][-2:]}" for r in rows)
    assert dict(store.calls) == {
        "instruments": 1,
        "locations": 1,
        "latest": 1,
        "read_prices": 1,
        "resample": 1,
    }


def test_fragments_are_batched_too(
    catalogue: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    store = CountingStore(catalogue)
    gql = serve(store)  # type: ignore[arg-type]
    query = """{ instruments(market: RT5) { ...Row ... on Instrument { latest { value } } } }
        fragment Row on Instrument { id location { zone } }"""
    rows = gql.data(query)["instruments"]
    assert len(rows) == 20
    assert all(r["location"] == {"zone": "WEST"} and r["latest"]["value"] for r in rows)
    assert dict(store.calls) == {"instruments": 1, "locations": 1, "latest": 1}


def test_top_level_prices_read_all_instruments_at_once(
    catalogue: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    store = CountingStore(catalogue)
    gql = serve(store)  # type: ignore[arg-type]
    query = """query($ids: [ID!]!) { prices(instruments: $ids,
        start: "2025-06-02T14:00:00Z", end: "2025-06-02T14:30:00Z") {
        instrument { id latest { value } } series { instrument value } } }"""
    items = gql.data(query, ids=NODES)["prices"]
    assert [i["instrument"]["id"] for i in items] == NODES
    for item in items:
        assert item["series"]["instrument"] == [item["instrument"]["id"]] * 6
    assert dict(store.calls) == {"instruments": 1, "latest": 1, "read_prices": 1}


def test_loaders_are_not_shared_between_requests(
    catalogue: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    store = CountingStore(catalogue)
    gql = serve(store)  # type: ignore[arg-type]
    query = '{ instrument(id: "PJM.RT5.LMP.N01") { latest { value } } }'
    first = gql.data(query)
    catalogue.upsert_prices(
        catalogue.latest(["PJM.RT5.LMP.N01"])
        .set_column(3, "value", [[99.0]])
        .drop_columns(["energy", "congestion", "loss", "ghg"]),
        source="revision",
    )
    second = gql.data(query)
    assert first != second
    assert second["instrument"]["latest"]["value"] == 99.0
    assert store.calls["latest"] == 2


def test_an_overdrawn_budget_refuses_the_next_read(catalogue: PriceStore) -> None:
    """Two loader batches of one request may read on two threads at once and together
    spend past the request's budget; a third read is then refused with the coded error
    (not run with a negative row limit, which the SQL engines reject: a masked 500)."""
    budget = RowBudget(total=20, per_series=20)
    budget.spend(25)
    window = PriceWindow(HOUR[0], HOUR[-1] + timedelta(minutes=5))
    out = _read_group(catalogue, NODES[:2], window, budget)
    for error in out.values():
        assert isinstance(error, GraphQLUserError)
        assert error.extensions["code"] == RESULT_TOO_LARGE
