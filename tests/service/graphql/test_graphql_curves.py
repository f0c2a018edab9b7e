"""Forward curves through GraphQL equal the REST curve, beside catalogue and prices in
one combined query; refusals come back as coded GraphQL errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pyarrow as pa
import pytest

from carbon254.core import LOCATION_SCHEMA, Iso, market_day
from carbon254.store.base import PriceStore

from ...analytics.curves.synthetic import history
from .conftest import GraphQLClient

HUB = "PJM.DA.LMP.EASTERN HUB"
NODE = "PJM.DA.LMP.51288"
END = market_day(Iso.PJM, date(2026, 5, 1))[0]

COMBINED = """query($hub: ID!, $start: DateTime!, $end: DateTime!) {
    instruments(iso: PJM, search: "hub") {
        id location { name type } latest { intervalStart value }
        prices(start: $start, end: $end, resample: DAILY) { intervalStart value }
    }
    curve(instrument: $hub, months: 6) {
        instrument meta months peak price source years hours
    }
}"""


@pytest.fixture
def hub_store(store: PriceStore) -> PriceStore:
    """Sixty days of hourly prices at a hub (a flat curve), two at a plain node."""
    tables = [
        history(Iso.PJM, END - timedelta(days=60), END, lambda k: 25.0),
        history(Iso.PJM, END - timedelta(days=2), END, lambda k: 20.0),
    ]
    for table, instrument in zip(tables, (HUB, NODE), strict=True):
        tables[tables.index(table)] = table.add_column(
            0, "instrument", pa.array([instrument] * len(table))
        )
    store.upsert_prices(pa.concat_tables(tables), source="test")
    rows = [("EASTERN HUB", "Eastern Hub", "HUB"), ("51288", "Some Bus", "GENERATOR")]
    store.upsert_locations(
        pa.Table.from_pylist(
            [
                {"iso": "PJM", "location": loc, "name": name, "location_type": kind,
                 "zone": None, "effective_date": date(2000, 1, 1), "termination_date": None}
                for loc, name, kind in rows
            ],
            schema=LOCATION_SCHEMA,
        )
    )  # fmt: skip
    return store


def test_combined_query_and_curve_equal_rest(
    hub_store: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    gql = serve(hub_store)
    start, end = END - timedelta(days=3), END
    data = gql.data(COMBINED, hub=HUB, start=start.isoformat(), end=end.isoformat())
    [hub] = data["instruments"]
    assert hub["id"] == HUB
    assert hub["location"] == {"name": "Eastern Hub", "type": "HUB"}
    daily = hub_store.resample([HUB], start, end, freq="daily")
    assert hub["prices"]["value"] == daily.column("value").to_pylist()
    assert len(hub["prices"]["intervalStart"]) == 3
    curve = data["curve"]
    rest = gql.http.get("/api/v1/curves/PJM.DA.LMP.EASTERN%20HUB", params={"months": 6}).json()
    assert curve["instrument"] == HUB
    assert curve["months"] == rest["columns"]["month"]
    assert curve["months"][0] == curve["months"][1] > END.date().isoformat()
    assert curve["peak"][:2] == ["on", "off"]
    for name in ("peak", "price", "source", "years", "hours"):
        assert curve[name] == rest["columns"][name], name
    assert len(curve["price"]) == 12
    assert curve["meta"]["instrument"] == HUB


@pytest.mark.parametrize(
    ("arguments", "code", "words"),
    [
        (f'instrument: "{NODE}"', "BAD_USER_INPUT", "is not a hub"),
        ('instrument: "PJM.DA.LMP.NOWHERE"', "NOT_FOUND", "unknown instrument"),
        (f'instrument: "{HUB}", start: "2099-06-15"', "BAD_USER_INPUT", "first day of a month"),
        (f'instrument: "{HUB}", start: "2020-01-01"', "BAD_USER_INPUT", "before the month"),
        (f'instrument: "{HUB}", start: "9999-12-01"', "BAD_USER_INPUT", "end by 2099"),
        (f'instrument: "{HUB}", months: 61', "BAD_USER_INPUT", "between 1 and 60"),
        ('instrument: "PJM.DA"', "BAD_USER_INPUT", "four dot-separated"),
    ],
)
def test_curve_refusals_are_coded(
    hub_store: PriceStore,
    serve: Callable[..., GraphQLClient],
    arguments: str,
    code: str,
    words: str,
) -> None:
    error = serve(hub_store).error(f"{{ curve({arguments}) {{ price }} }}")
    assert error["extensions"]["code"] == code
    assert words in error["message"]
