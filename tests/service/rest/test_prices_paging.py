"""Cursor pagination of GET /api/v1/prices: a page walk reassembles exactly the
unpaginated result (across instruments and page boundaries, raw and bucketed, on both
backends), cursors are tied to their query, and each page reads only about a page."""

from __future__ import annotations

import base64

import httpx
import orjson
import pyarrow as pa
import pytest

from carbon254.core import Iso, market_day
from carbon254.core.schema import PRICE_SCHEMA, RESAMPLE_SCHEMA
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..service_helpers import ERCOT_RT15, PJM_DA, SPRING_FORWARD, run_server
from .rest_helpers import ARROW, HUB, NODE_A, NODE_B, _z, from_json, utc_end

PRICES = "/api/v1/prices"
ALL = ",".join([NODE_B, PJM_DA, HUB, ERCOT_RT15, NODE_A])  # not in sorted order
WIDE = {"start": _z(market_day(Iso.PJM, SPRING_FORWARD)[0]), "end": "2024-11-06"}


def _walk(client: httpx.Client, params: dict, limit: int) -> tuple[list[dict], int]:
    """Every page of a query; returns the pages' bodies and how many requests it took."""
    pages, cursor = [], None
    while True:
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(PRICES, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        cursor = body["next_cursor"]
        assert response.headers.get("x-next-cursor") == cursor
        if cursor is None:
            assert "link" not in response.headers
            return pages, len(pages)
        assert body["row_count"] == limit  # only the last page may be short
        assert response.headers["link"].endswith('>; rel="next"')


@pytest.mark.parametrize("limit", [100, 997, 1_000])  # 100: ERCOT's rows, an exact edge
def test_walk_reassembles_the_whole_result(
    any_rest: httpx.Client, any_store: PriceStore, limit: int
) -> None:
    params = {"instruments": ALL, **WIDE}
    pages, requests = _walk(any_rest, params, limit)
    walked = pa.concat_tables([from_json(p, PRICE_SCHEMA) for p in pages])
    ids = sorted(ALL.split(","))
    whole = any_store.read_prices(ids, *(market_day(Iso.PJM, SPRING_FORWARD)[0], utc_end()))
    assert whole.num_rows > 3 * limit
    assert walked.equals(whole)
    assert requests == -(-whole.num_rows // limit)  # the look-ahead row: no empty last page


@pytest.mark.parametrize(("freq", "limit"), [("hourly", 7), ("15min", 100), ("daily", 2)])
def test_bucketed_walk_reassembles(
    any_rest: httpx.Client, any_store: PriceStore, freq: str, limit: int
) -> None:
    ids = [HUB, NODE_A, NODE_B] if freq == "15min" else [HUB, NODE_A, NODE_B, PJM_DA]
    params = {"instruments": ",".join(ids), **WIDE, "resample": freq, "agg": "max"}
    pages, _ = _walk(any_rest, params, limit)
    walked = pa.concat_tables([from_json(p, RESAMPLE_SCHEMA) for p in pages])
    start = market_day(Iso.PJM, SPRING_FORWARD)[0]
    whole = any_store.resample(sorted(ids), start, utc_end(), freq=freq, how="max")
    assert whole.num_rows > 2 * limit
    assert walked.equals(whole)


def test_one_page_when_it_fits(rest: httpx.Client) -> None:
    body = rest.get(PRICES, params={"instruments": ALL, **WIDE}).json()
    assert body["limit"] == 100_000 and body["next_cursor"] is None


def test_arrow_pages_carry_the_cursor_in_headers(rest: httpx.Client) -> None:
    params = {"instruments": f"{NODE_A},{NODE_B}", **WIDE, "limit": 500}
    first = rest.get(PRICES, params=params, headers={"Accept": ARROW})
    cursor = first.headers["x-next-cursor"]
    link = first.headers["link"]
    assert link.startswith("</api/v1/prices?") and f"cursor={cursor}" in link
    table = pa.ipc.open_stream(first.content).read_all()
    assert table.num_rows == 500
    nxt = rest.get(link[1 : link.index(">")], headers={"Accept": ARROW})
    second = pa.ipc.open_stream(nxt.content).read_all()
    assert second.column("interval_start")[0].as_py() > table.column("interval_start")[-1].as_py()
    # The page size and the format may change along the walk.
    csv = rest.get(PRICES, params={**params, "limit": 3, "cursor": cursor, "format": "csv"})
    assert csv.status_code == 200 and csv.text.count("\n") == 4
    assert csv.headers["x-next-cursor"]


def test_cursor_of_another_query_is_refused(rest: httpx.Client) -> None:
    params = {"instruments": f"{NODE_A},{NODE_B}", **WIDE, "limit": 10}
    cursor = rest.get(PRICES, params=params).json()["next_cursor"]
    for change in (
        {"instruments": NODE_A},
        {"end": "2024-11-05"},
        {"peak": "on"},
        {"resample": "hourly"},
        {"tz": "market"},
    ):
        response = rest.get(PRICES, params={**params, **change, "cursor": cursor})
        assert response.status_code == 422, change
        assert "different query" in response.json()["detail"]
        assert response.json()["errors"][0]["param"] == "cursor"


def test_damaged_or_edited_cursor_is_refused(rest: httpx.Client) -> None:
    params = {"instruments": f"{NODE_A},{NODE_B}", **WIDE, "limit": 10}
    cursor = rest.get(PRICES, params=params).json()["next_cursor"]
    body = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    body["t"] += 300_000_000  # skip ahead five minutes
    edited = base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode()
    for bad in (edited, cursor[:-3], "not-a-cursor", "x" * 5000, "é", cursor + "!!"):
        response = rest.get(PRICES, params={**params, "cursor": bad})
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
        assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize(
    ("limit", "word"), [(0, "limit"), (2_000_000, "1,000,000"), ("x", "limit")]
)
def test_bad_limit(rest: httpx.Client, limit: object, word: str) -> None:
    response = rest.get(PRICES, params={"instruments": NODE_A, **WIDE, "limit": limit})
    assert response.status_code == 422
    assert word in response.json()["detail"]


def test_each_page_reads_about_a_page(seeded_rest: PriceStore) -> None:
    """The cursor goes into the store reads: no read returns much more than a page, and
    the rows read over the whole walk are about the rows served."""
    rows_read: list[int] = []
    read_prices = seeded_rest.read_prices

    def counting(*args: object, **kwargs: object) -> pa.Table:
        table = read_prices(*args, **kwargs)  # type: ignore[arg-type]
        rows_read.append(table.num_rows)
        return table

    seeded_rest.read_prices = counting  # type: ignore[method-assign]
    try:
        app = create_app(seeded_rest, settings=Settings(auth=False))
        with run_server(app) as base, httpx.Client(base_url=base) as client:
            params = {"instruments": f"{NODE_A},{NODE_B},{HUB}", **WIDE}
            pages, _ = _walk(client, params, 250)
    finally:
        del seeded_rest.read_prices
    served = sum(p["row_count"] for p in pages)
    assert max(rows_read) <= 251
    assert sum(rows_read) <= served + len(pages)  # one look-ahead row per page
