"""GraphQL queries on a live server: catalogue, nested fields, series as column lists
equal to the REST JSON for the same query, resampling, paging, search, GraphiQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow.compute as pc
from fastapi import Request

from carbon254.core import Iso, market_day
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..service_helpers import CAISO_DA, ERCOT_RT15, FALL_BACK, PJM_DA, utc
from .conftest import NODES, GraphQLClient

ALL = [CAISO_DA, ERCOT_RT15, PJM_DA]  # the catalogue's order (by id)
COLUMNS = "instrument intervalStart intervalEnd value energy congestion loss ghg"
REST_NAMES = {
    "instrument": "instrument",
    "intervalStart": "interval_start",
    "intervalEnd": "interval_end",
    "value": "value",
    "energy": "energy",
    "congestion": "congestion",
    "loss": "loss",
    "ghg": "ghg",
}


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_catalogue_lists_every_instrument_with_its_span(gql: GraphQLClient) -> None:
    data = gql.data("{ instruments { id iso market product locationCode firstInterval } }")
    rows = data["instruments"]
    assert [r["id"] for r in rows] == ALL
    pjm = rows[2]
    assert pjm == {
        "id": PJM_DA,
        "iso": "PJM",
        "market": "DA",
        "product": "LMP",
        "locationCode": "51288",
        "firstInterval": "2024-03-10T05:00:00Z",
    }


def test_catalogue_filters_and_pages(gql: GraphQLClient) -> None:
    query = "query($after: ID) { instruments(first: 2, after: $after) { id } }"
    first = [r["id"] for r in gql.data(query)["instruments"]]
    rest = [r["id"] for r in gql.data(query, after=first[-1])["instruments"]]
    assert first + rest == ALL
    ercot = gql.data("{ instruments(iso: ERCOT, product: SPP) { id } }")["instruments"]
    assert [r["id"] for r in ercot] == [ERCOT_RT15]
    assert gql.data('{ instruments(search: "th_np15") { id } }')["instruments"] == [
        {"id": CAISO_DA}
    ]


def test_prices_column_lists_equal_the_rest_json(gql: GraphQLClient) -> None:
    start, end = market_day(Iso.PJM, FALL_BACK)  # 25 hours: the fall-back day
    query = f"""query($ids: [ID!]!, $start: DateTime!, $end: DateTime!) {{
        prices(instruments: $ids, start: $start, end: $end) {{
            instrument {{ id }} series {{ rowCount {COLUMNS} }} }} }}"""
    data = gql.data(query, ids=ALL, start=_z(start), end=_z(end))
    rest = gql.http.get(
        "/api/v1/prices", params={"instruments": ",".join(ALL), "start": _z(start), "end": _z(end)}
    ).json()["columns"]
    merged = {name: [] for name in REST_NAMES}
    for item in data["prices"]:
        series = item["series"]
        assert set(series["instrument"]) == {item["instrument"]["id"]}
        for name in REST_NAMES:
            merged[name] += series[name]
    assert sum(item["series"]["rowCount"] for item in data["prices"]) == len(rest["value"]) > 25
    for name, rest_name in REST_NAMES.items():
        assert merged[name] == rest[rest_name], name


def test_nested_fields_of_one_instrument(gql: GraphQLClient) -> None:
    query = """query($id: ID!) { instrument(id: $id) {
        id location { name }
        latest { intervalStart intervalEnd value energy congestion loss }
        prices(start: "2024-11-03T04:00:00Z", end: "2024-11-03T06:00:00-00:00") {
            intervalStart value } } }"""
    item = gql.data(query, id="pjm.da.lmp.51288")["instrument"]  # ids are case-insensitive
    assert item["id"] == PJM_DA
    assert item["location"] is None  # the seeded store has no directory
    assert item["latest"]["intervalStart"] == "2024-11-05T04:00:00Z"
    assert item["latest"]["intervalEnd"] == "2024-11-05T05:00:00Z"
    assert item["prices"] == {
        "intervalStart": ["2024-11-03T04:00:00Z", "2024-11-03T05:00:00Z"],
        "value": [20.123456789, 20.223456789],
    }


def test_resampled_series_equal_the_store(seeded_gql: GraphQLClient, seeded: PriceStore) -> None:
    gql = seeded_gql
    query = """{ instrument(id: "PJM.DA.LMP.51288") {
        prices(start: "2024-11-02", end: "2024-11-06", resample: DAILY, agg: MAX, peak: ON) {
            intervalStart intervalEnd value count energy } } }"""
    series = gql.data(query)["instrument"]["prices"]
    expected = seeded.resample(
        [PJM_DA], utc(2024, 11, 2), utc(2024, 11, 6), freq="daily", how="max", peak="on"
    )
    assert series["value"] == expected.column("value").to_pylist()
    assert series["count"] == expected.column("count").to_pylist()
    assert series["intervalStart"] == [_z(t) for t in expected.column("interval_start").to_pylist()]
    assert series["energy"] == [None] * expected.num_rows


def test_as_of_reads_the_values_stored_then(seeded_gql: GraphQLClient, seeded: PriceStore) -> None:
    gql = seeded_gql
    before = datetime.now(UTC)
    table = seeded.read_prices([PJM_DA], utc(2024, 11, 3, 4), utc(2024, 11, 3, 5))
    revised = table
    for name in ("value", "energy"):  # components still add up
        index = revised.schema.get_field_index(name)
        revised = revised.set_column(index, name, pc.add(revised.column(name), 100.0))
    seeded.upsert_prices(revised, source="revision")
    query = """query($asOf: DateTime) { instrument(id: "PJM.DA.LMP.51288") {
        prices(start: "2024-11-03T04:00:00Z", end: "2024-11-03T05:00:00Z", asOf: $asOf) {
            value } } }"""
    now = gql.data(query)["instrument"]["prices"]["value"]
    then = gql.data(query, asOf=_z(before))["instrument"]["prices"]["value"]
    assert then == table.column("value").to_pylist()
    assert now == [v + 100.0 for v in then]


def test_directory_location_and_latest_for_many(
    catalogue: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    gql = serve(catalogue)
    query = """{ instruments(market: RT5) { id
        location { code name type zone effectiveDate terminationDate }
        latest { intervalStart value } } }"""
    rows = gql.data(query)["instruments"]
    assert [r["id"] for r in rows] == NODES
    assert rows[0]["location"] == {
        "code": "N01",
        "name": "NODE 01",  # the version in effect, not the renamed one
        "type": "HUB",
        "zone": "WEST",
        "effectiveDate": "2025-01-01",
        "terminationDate": None,
    }
    assert {r["latest"]["intervalStart"] for r in rows} == {"2025-06-02T14:55:00Z"}
    assert rows[19]["latest"]["value"] == 30.0 + 19 + 1.1
    assert gql.data('{ instruments(search: "node 1") { id } }')["instruments"] == [
        {"id": n} for n in NODES[9:19]
    ]


def test_graphiql_is_served_to_browsers(gql: GraphQLClient) -> None:
    response = gql.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_queries_work_over_get(gql: GraphQLClient) -> None:
    response = gql.http.get("/graphql", params={"query": "{ instruments(first: 1) { id } }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"instruments": [{"id": CAISO_DA}]}}


def test_a_principal_on_the_request_changes_nothing(
    seeded: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    """The auth middleware sets request.state.principal; GraphQL carries it along."""
    app = create_app(seeded, settings=Settings(auth=False))

    @app.middleware("http")
    async def principal(request: Request, call_next):  # type: ignore[no-untyped-def]
        request.state.principal = Principal()
        return await call_next(request)

    gql = serve(app)
    assert gql.data("{ instruments(first: 1) { id } }") == {"instruments": [{"id": CAISO_DA}]}


class Principal:
    subject = "user-1"
    scopes = frozenset({"read"})
    kind = "apikey"
