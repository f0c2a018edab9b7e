"""Bad input, unknown instruments, limits and broken documents: GraphQL errors with a
code, never a 5xx, never a traceback; non-GraphQL requests get problem details."""

from __future__ import annotations

import logging
from collections.abc import Callable
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon254.service import create_app
from carbon254.service.graphql import GraphQLLimits, graphql_router
from carbon254.service.graphql.limits import estimate_cost
from carbon254.service.graphql.schema import build_schema
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..service_helpers import PJM_DA
from .conftest import NODES, GraphQLClient

SERIES = '{ instrument(id: "%s") { prices(start: %s, end: %s) { value } } }'


def _series(gql: GraphQLClient, start: str, end: str, instrument: str = PJM_DA) -> dict:
    return gql.error(SERIES % (instrument, start, end))


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        ('{ instrument(id: "PJM.DA.LMP.99999") { id } }', "NOT_FOUND", "unknown instrument"),
        ('{ instrument(id: "PJM.DA.LMP") { id } }', "BAD_USER_INPUT", "four dot-separated"),
        ('{ instrument(id: "XYZ.DA.LMP.1") { id } }', "BAD_USER_INPUT", "'XYZ' is not one of"),
        (
            '{ prices(instruments: ["PJM.DA.LMP.51288", "PJM.DA.LMP.1"], start: "2024-11-03",'
            ' end: "2024-11-04") { series { value } } }',
            "NOT_FOUND",
            "PJM.DA.LMP.1",
        ),
        (
            '{ prices(instruments: [], start: "2024-11-03", end: "2024-11-04") { instrument '
            "{ id } } }",
            "BAD_USER_INPUT",
            "at least one instrument",
        ),
        ("{ instruments(first: 0) { id } }", "BAD_USER_INPUT", "first must be between"),
        ("{ instruments(first: 5000) { id } }", "BAD_USER_INPUT", "first must be between"),
        ("{ instruments(iso: XYZ) { id } }", "GRAPHQL_VALIDATION_FAILED", "XYZ"),
        ("{ nothing }", "GRAPHQL_VALIDATION_FAILED", "Cannot query field"),
        ("{ instruments { id ", "GRAPHQL_PARSE_FAILED", "Syntax Error"),
    ],
)
def test_bad_queries_name_what_is_wrong(
    gql: GraphQLClient, query: str, code: str, words: str
) -> None:
    error = gql.error(query)
    assert error["extensions"]["code"] == code
    assert words in error["message"]


def test_bad_times_are_bad_user_input(gql: GraphQLClient) -> None:
    error = _series(gql, '"2024-11-04"', '"2024-11-03"')
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (
        "start (2024-11-04T00:00:00Z) must be before end (2024-11-03T00:00:00Z)"
        in (error["message"])
    )
    same = _series(gql, '"2024-11-04"', '"2024-11-04T00:00:00Z"')
    assert "must be before" in same["message"]
    for bad in ('"tomorrow"', '"2024-13-01"', "20241103", '"2024-11-03 25:00"'):
        error = _series(gql, bad, '"2024-11-04"')
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (bad, error)
        assert "DateTime" in error["message"]
    long = _series(gql, '"2020-01-01"', '"2024-01-01"')
    assert "at most 366 days" in long["message"]
    ancient = _series(gql, '"1900-01-01"', '"1900-02-01"')
    assert ancient["extensions"]["code"] == "BAD_USER_INPUT"
    assert "outside the supported span" in ancient["message"]


def test_bad_variables_are_bad_user_input(gql: GraphQLClient) -> None:
    query = """query($start: DateTime!) { instrument(id: "PJM.DA.LMP.51288") {
        prices(start: $start, end: "2024-11-04") { value } } }"""
    error = gql.error(query, start="not a time")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$start" in error["message"]


def test_agg_and_peak_need_resample(gql: GraphQLClient) -> None:
    query = """{ instrument(id: "PJM.DA.LMP.51288") {
        prices(start: "2024-11-03", end: "2024-11-04", agg: MAX, peak: ON) { value } } }"""
    error = gql.error(query)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert [e["argument"] for e in error["extensions"]["errors"]] == ["agg", "peak"]


def test_a_bucket_finer_than_the_market_interval_is_refused(gql: GraphQLClient) -> None:
    """As in REST: 15-minute buckets of hourly day-ahead prices would label each hour's
    price as a 15-minute interval."""
    window = 'start: "2024-11-03", end: "2024-11-04", resample: MIN15'
    nested = gql.error(f'{{ instrument(id: "{PJM_DA}") {{ prices({window}) {{ value }} }} }}')
    root = gql.error(f'{{ prices(instruments: ["{PJM_DA}"], {window}) {{ series {{ value }} }} }}')
    for error in (nested, root):
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "finer than" in error["message"]
        assert error["extensions"]["errors"][0]["argument"] == "resample"


def test_depth_limit(seeded: PriceStore, serve: Callable[..., GraphQLClient]) -> None:
    """The schema has no cycles (the deepest real path is 3), so the default depth of 8
    only bounds documents; a tighter limit shows the rule at work."""
    app = create_app(seeded, settings=Settings(auth=False), parts=("rest",))
    app.include_router(graphql_router(GraphQLLimits(max_depth=1)))
    gql = serve(app)
    assert gql.data("{ instruments(first: 1) { id } }")
    error = gql.error("{ instruments(first: 1) { id latest { value } } }")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "exceeds maximum operation depth of 1" in error["message"]
    deep = "{ instruments { " + "... on Instrument { " * 8 + "id" + " }" * 10
    assert gql.data(deep)  # fragments do not add depth


def test_cost_limit_counts_first_and_instruments(gql: GraphQLClient) -> None:
    big = (
        '{ instruments(first: 1000) { prices(start: "2024-11-03", end: "2024-11-04") { value } } }'
    )
    error = gql.error(big)
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 27_000, "maxCost": 10_000}
    via_variable = """query($n: Int!) { instruments(first: $n) {
        prices(start: "2024-11-03", end: "2024-11-04") { value } } }"""
    assert gql.error(via_variable, n=1000)["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert gql.data(via_variable, n=10)  # 10 × 27


def test_cost_estimate_follows_fragments_and_lists() -> None:
    schema = build_schema()._schema
    from graphql import parse

    def cost(text: str, **variables: object) -> int:
        return estimate_cost(schema, parse(text).definitions, None, variables, GraphQLLimits())

    assert cost("{ instruments { id } }") == 100 * 2
    assert cost("{ instruments(first: 3) { ...F } } fragment F on Instrument { id iso }") == 9
    assert cost(
        '{ prices(instruments: ["a", "b"], start: "x", end: "y") { series { value } } }'
    ) == 2 * (1 + 26)
    by_variable = "query($ids: [ID!]!) { prices(instruments: $ids) { instrument { id } } }"
    assert cost(by_variable, ids=NODES) == 20 * 3
    assert cost("{ __typename }") == 0


def test_alias_and_token_limits(gql: GraphQLClient) -> None:
    aliases = "{ " + " ".join(f"a{n}: instruments(first: 1) {{ id }}" for n in range(31)) + " }"
    error = gql.error(aliases)
    assert "31 aliases found. Allowed: 30" in error["message"]
    tokens = "{ instruments { " + "id " * 2100 + "} }"
    error = gql.error(tokens)
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "more than 2000 tokens" in error["message"]


def test_row_caps_per_series_and_per_request(
    seeded: PriceStore, serve: Callable[..., GraphQLClient]
) -> None:
    app = create_app(seeded, settings=Settings(auth=False), parts=("rest",))
    app.include_router(
        graphql_router(GraphQLLimits(max_rows_per_series=10, max_rows_per_request=30))
    )
    small = serve(app)
    error = small.error(SERIES % (PJM_DA, '"2024-11-03T04:00Z"', '"2024-11-04T05:00Z"'))
    assert error["extensions"] == {"code": "RESULT_TOO_LARGE", "maxRows": 10}
    assert (
        f"the series of {PJM_DA} has more than 10 rows; at most 10 per series" in (error["message"])
    )
    ten_hours = small.data(SERIES % (PJM_DA, '"2024-11-03T04:00Z"', '"2024-11-03T14:00Z"'))
    assert len(ten_hours["instrument"]["prices"]["value"]) == 10
    windows = ["2024-11-03T04:00Z", "2024-11-03T14:00Z", "2024-11-04T00:00Z",
               "2024-11-04T10:00Z", "2024-11-04T20:00Z"]  # fmt: skip
    four = " ".join(
        f'w{n}: instrument(id: "{PJM_DA}") {{ prices(start: "{a}", end: "{b}") {{ value }} }}'
        for n, (a, b) in enumerate(pairwise(windows))
    )
    body = small("{ " + four + " }")
    assert [len(body["data"][f"w{n}"]["prices"]["value"]) for n in range(3)] == [10] * 3
    assert body["data"]["w3"] == {"prices": None}
    assert [e["path"] for e in body["errors"]] == [["w3", "prices"]]
    assert body["errors"][0]["extensions"] == {"code": "RESULT_TOO_LARGE", "maxRows": 30}
    assert "more than 30 price rows in total" in body["errors"][0]["message"]
    big = serve(seeded)  # default limits: a 25-hour day is fine
    assert big.data(SERIES % (PJM_DA, '"2024-11-03T04:00Z"', '"2024-11-04T05:00Z"'))


def test_unexpected_errors_are_masked_and_logged(
    seeded: PriceStore,
    serve: Callable[..., GraphQLClient],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("server closed the connection unexpectedly")

    monkeypatch.setattr(seeded, "latest", broken)
    gql = serve(seeded)
    with caplog.at_level(logging.ERROR, logger="carbon254.service.graphql"):
        body = gql('{ instrument(id: "PJM.DA.LMP.51288") { id latest { value } } }')
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 43}],
            "path": ["instrument", "latest"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert body["data"] == {"instrument": {"id": PJM_DA, "latest": None}}
    assert "server closed the connection" in caplog.text and "Traceback" in caplog.text


@pytest.mark.parametrize(
    ("content", "status", "detail"),
    [
        (b"{not json", 400, "Unable to parse request body as JSON"),
        (b'{"variables": {}}', 400, "No GraphQL query found"),
        (b'{"query": 5}', 400, "must be a string"),
        (b'{"query": "{ a }", "variables": [1]}', 400, "must be an object"),
        (b'[{"query": "{ a }"}]', 400, "Batching is not enabled"),
        (
            b'{"query": "subscription { prices(instruments: [\\"PJM.DA.LMP.51288\\"]) '
            b'{ value } }"}',
            400,
            "subscriptions run over a websocket at /graphql",
        ),
    ],
)
def test_non_graphql_requests_get_problem_details(
    gql: GraphQLClient, content: bytes, status: int, detail: str
) -> None:
    response = gql.http.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


_VALID = (
    "{ instruments(iso: PJM, first: 2) { id latest { value } "
    'prices(start: "2024-11-03", end: "2024-11-04", resample: HOURLY) { value } } }'
)
_PIECES = st.sampled_from([*'{}()[]:,."$!@#=|&\n ', "...", "query", "on", "fragment", "null"])


@st.composite
def _mangled(draw: st.DrawFn) -> str:
    """A valid document with a few characters deleted, replaced or inserted."""
    text = _VALID
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + "".join(draw(st.lists(_PIECES, max_size=3))) + text[at + cut :]
    return text


def test_malformed_documents_never_give_a_server_error(gql: GraphQLClient) -> None:
    @settings(max_examples=60, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.one_of(_mangled(), st.text(max_size=80)), st.booleans())
    def check(document: str, as_get: bool) -> None:
        if as_get:
            response = gql.http.get("/graphql", params={"query": document})
        else:
            response = gql.http.post("/graphql", json={"query": document})
        assert response.status_code < 500, (document, response.text)
        body = response.json()
        if response.status_code == 200:
            for error in body.get("errors", []):
                assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", (document, body)
        else:  # an empty document is "no query": a problem, not a GraphQL response
            assert response.headers["content-type"] == "application/problem+json", document

    check()
