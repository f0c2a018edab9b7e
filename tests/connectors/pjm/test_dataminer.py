"""The Data Miner 2 transport: EPT window filter, archive rules, paging, HTTP failures,
secrets, and the columnar item decoder against exact JSON parsing."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pyarrow as pa
import pytest

from carbon254.connectors.dataset import Window
from carbon254.connectors.errors import FetchError, MissingCredentials, PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse
from carbon254.connectors.pjm import _items, _pages, dataminer
from carbon254.connectors.pjm.lmp import raw_lmp_schema
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pjm"
SECRET = "s3cr3t-pjm-key-0123456789"
FEED = "rt_fivemin_hrl_lmps"
DS = "pjm.rt_fivemin_hrl_lmps"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PJM_API_KEY", SECRET)
    monkeypatch.setenv("PJM_REQUESTS_PER_MINUTE", "1000000")  # no real waits in tests


def day_window(day: date, archived: bool = False) -> Window:
    start, end = market_day(Iso.PJM, day)
    return Window(start, end, archived)


def page_files(day: str) -> list[Path]:
    return sorted(FIXTURES.glob(f"lmp_{FEED}_{day}_p*.json"))


class Server:
    """Serves fixture pages by startRow, records requests; optional scripted failures."""

    def __init__(self, pages: list[Path], rows: int = 400, script: list | None = None):
        self.pages = [p.read_bytes() for p in pages]
        self.rows = rows
        self.script = list(script or [])
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            return self.script.pop(0)
        start = int(request.url.params["startRow"])
        index = (start - 1) // self.rows
        return httpx.Response(200, content=self.pages[index], headers=JSON)

    def fetcher(self, waits: list[float] | None = None) -> HttpFetcher:
        client = httpx.Client(transport=httpx.MockTransport(self))
        return HttpFetcher(client, sleep=(waits.append if waits is not None else lambda s: None))


JSON = {"content-type": "application/json"}


# ------------------------------------------------------------------- windows and filters


@pytest.mark.parametrize(
    ("day", "text", "hours"),
    [
        (date(2025, 3, 9), "03/09/2025 00:00to03/09/2025 23:59", 23),
        (date(2025, 11, 2), "11/02/2025 00:00to11/02/2025 23:59", 25),
        (date(2025, 6, 18), "06/18/2025 00:00to06/18/2025 23:59", 24),
    ],
)
def test_ept_filter_is_local_days_with_inclusive_end(day: date, text: str, hours: int) -> None:
    window = day_window(day)
    assert (window.end - window.start) == timedelta(hours=hours)
    assert dataminer.ept_filter(window) == text


def test_ept_filter_of_a_multi_day_window() -> None:
    start = market_day(Iso.PJM, date(2025, 10, 30))[0]
    end = market_day(Iso.PJM, date(2025, 11, 3))[1]
    assert dataminer.ept_filter(Window(start, end)) == "10/30/2025 00:00to11/03/2025 23:59"


def test_splitting_across_new_year_and_the_archive_horizon() -> None:
    now = datetime(2026, 7, 10, 12, tzinfo=UTC)  # 186 days before: 2026-01-05 12:00 UTC
    chunks = dataminer.chunking(dataminer.ARCHIVE_FIVE_MIN, max_days=7)
    windows = chunks.split(Iso.PJM, date(2025, 12, 28), date(2026, 1, 10), now=now)
    spans = [(w.start, w.end, w.archived) for w in windows]
    day = lambda d: market_day(Iso.PJM, d)  # noqa: E731
    assert spans == [
        (day(date(2025, 12, 28))[0], day(date(2025, 12, 31))[1], True),  # stops at New Year
        (day(date(2026, 1, 1))[0], day(date(2026, 1, 4))[1], True),  # stops at the horizon
        (day(date(2026, 1, 5))[0], day(date(2026, 1, 10))[1], False),
    ]
    hourly = dataminer.chunking(dataminer.ARCHIVE_HOURLY, max_days=7)
    assert [
        w.archived for w in hourly.split(Iso.PJM, date(2025, 12, 28), date(2026, 1, 10), now=now)
    ] == [False, False, False]


def test_archived_windows_drop_node_filters_and_fields() -> None:
    server = Server(page_files("2025-11-02"))
    with server.fetcher() as http:
        pages = dataminer.fetch_pages(
            http,
            DS,
            FEED,
            day_window(date(2025, 11, 2), archived=True),
            fields=["datetime_beginning_utc", "pnode_id", "total_lmp_rt"],
            filters={"pnode_id": "48592", "type": "*LOAD*", "row_is_current": "TRUE"},
            row_count=400,
        )
    sent = parse_qs(urlsplit(str(server.requests[0].url)).query)
    assert "pnode_id" not in sent and "type" not in sent and "fields" not in sent
    assert sent["row_is_current"] == ["TRUE"]
    assert pages[0].meta["client_filters"] == {"pnode_id": "48592", "type": "*LOAD*"}
    table = dataminer.read_items(pages, raw_lmp_schema("rt"))
    assert set(table.column("pnode_id").to_pylist()) == {48592}
    assert table.num_rows == 300


def test_current_windows_send_filters_and_fields() -> None:
    server = Server(page_files("2025-11-02"))
    with server.fetcher() as http:
        pages = dataminer.fetch_pages(
            http,
            DS,
            FEED,
            day_window(date(2025, 11, 2)),
            fields=["datetime_beginning_utc", "pnode_id"],
            filters={"pnode_id": "1;48592", "row_is_current": "TRUE"},
            row_count=400,
        )
    sent = parse_qs(urlsplit(str(server.requests[0].url)).query)
    assert sent["pnode_id"] == ["1;48592"]
    assert sent["fields"] == ["datetime_beginning_utc,pnode_id"]
    assert sent["datetime_beginning_ept"] == ["11/02/2025 00:00to11/02/2025 23:59"]
    assert "client_filters" not in pages[0].meta


def test_client_side_filter_values() -> None:
    table = pa.table({"type": ["HUB", "LOAD", "GEN", None], "pnode_id": [1, 2, 3, 4]})
    assert dataminer.apply_filters(DS, table, {"type": "*hub*;GEN"}).num_rows == 2
    assert dataminer.apply_filters(DS, table, {"pnode_id": "2;4"}).column(1).to_pylist() == [2, 4]
    with pytest.raises(PayloadError, match="zone"):
        dataminer.apply_filters(DS, table, {"zone": "PSEG"})


def test_request_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PJM_REQUESTS_PER_MINUTE")
    assert dataminer.budget().requests == dataminer.REQUESTS_PER_MINUTE == 6
    assert dataminer.budget().per_seconds == 60
    monkeypatch.setenv("PJM_REQUESTS_PER_MINUTE", "600")
    assert dataminer.budget().requests == 600
    monkeypatch.setenv("PJM_REQUESTS_PER_MINUTE", "lots")
    assert dataminer.budget().requests == 6


# ------------------------------------------------------------------------------- paging


def test_pagination_follows_every_page() -> None:
    server = Server(page_files("2025-11-02"))
    with server.fetcher() as http:
        pages = dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 11, 2)), row_count=400)
    assert [r.url.params["startRow"] for r in server.requests] == ["1", "401", "801"]
    assert {r.url.params["rowCount"] for r in server.requests} == {"400"}
    assert [p.meta["page"] for p in pages] == [1, 2, 3]
    assert [p.meta["rows"] for p in pages] == [400, 400, 100]
    assert {p.meta["total_rows"] for p in pages} == {900}
    assert all(p.meta["feed"] == FEED for p in pages)
    assert dataminer.read_items(pages, raw_lmp_schema("rt")).num_rows == 900
    assert dataminer.read_pages(pages)[0]["totalRows"] == 900


def test_a_page_short_of_total_rows_is_an_error() -> None:
    first = json.loads(page_files("2025-11-02")[0].read_text())
    empty = dict(first, items=[])
    script = [httpx.Response(200, json=first), httpx.Response(200, json=empty)]
    server = Server([], script=script)
    with server.fetcher() as http, pytest.raises(PayloadError, match="900"):
        dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 11, 2)), row_count=400)


def test_pages_disagreeing_on_total_rows_is_an_error() -> None:
    first = json.loads(page_files("2025-11-02")[0].read_text())
    second = json.loads(page_files("2025-11-02")[1].read_text()) | {"totalRows": 905}
    server = Server([], script=[httpx.Response(200, json=first), httpx.Response(200, json=second)])
    with server.fetcher() as http, pytest.raises(PayloadError, match="905"):
        dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 11, 2)), row_count=400)


def test_no_rows_is_one_empty_page() -> None:
    empty = {"links": [], "items": [], "searchSpecification": {}, "totalRows": 0}
    server = Server([], script=[httpx.Response(200, json=empty)])
    with server.fetcher() as http:
        pages = dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))
    assert len(pages) == 1 and pages[0].meta["rows"] == 0
    assert dataminer.read_items(pages, raw_lmp_schema("rt")).num_rows == 0


# ------------------------------------------------------------------ HTTP and credentials


def test_429_retry_after_is_honoured() -> None:
    body = page_files("2025-06-18")[0].read_bytes()
    one = json.loads(body) | {"totalRows": 400, "links": []}
    script = [
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(200, json=one),
    ]
    waits: list[float] = []
    server = Server([], script=script)
    with server.fetcher(waits) as http:
        pages = dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))
    assert waits == [7.0]
    assert len(server.requests) == 2 and pages[0].meta["rows"] == 400


def test_500_then_success() -> None:
    one = json.loads(page_files("2025-06-18")[0].read_bytes()) | {"totalRows": 400}
    waits: list[float] = []
    server = Server([], script=[httpx.Response(500), httpx.Response(200, json=one)])
    with server.fetcher(waits) as http:
        pages = dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))
    assert len(waits) == 1 and pages[0].status == 200


def test_html_error_page_is_a_payload_error() -> None:
    html = b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head></html>"
    server = Server([], script=[httpx.Response(200, content=html)])
    with server.fetcher() as http, pytest.raises(PayloadError, match="HTML") as err:
        dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))
    assert err.value.dataset == DS and "Service Unavailable" in str(err.value)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"items": [], "links": []}', "totalRows"),
        (b'{"totalRows": 3, "links": []}', "items"),
        (b"[1, 2]", "envelope"),
        (b'{"items": [{"a": 1}', "JSON"),
        (b'{"items": [], "links": [], "totalRows": "3"}', "count"),
    ],
)
def test_bad_envelopes(body: bytes, match: str) -> None:
    server = Server([], script=[httpx.Response(200, content=body)])
    with server.fetcher() as http, pytest.raises(PayloadError, match=match):
        dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PJM_API_KEY")
    server = Server([])
    with server.fetcher() as http, pytest.raises(MissingCredentials) as err:
        dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))
    assert "PJM_API_KEY" in str(err.value) and server.requests == []


def test_the_key_is_a_header_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    one = json.loads(page_files("2025-06-18")[0].read_bytes()) | {"totalRows": 400}
    script = [httpx.Response(503), httpx.Response(200, json=one)]
    server = Server([], script=script)
    with server.fetcher() as http:
        pages = dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))
    assert all(r.headers["Ocp-Apim-Subscription-Key"] == SECRET for r in server.requests)
    assert SECRET not in str(server.requests[0].url)
    assert SECRET not in pages[0].url and SECRET not in json.dumps(dict(pages[0].meta))
    assert SECRET not in caplog.text
    server = Server([], script=[httpx.Response(403, text="denied")])
    with server.fetcher() as http, pytest.raises(FetchError) as err:
        dataminer.fetch_pages(http, DS, FEED, day_window(date(2025, 6, 18)))
    assert err.value.status == 403 and SECRET not in str(err.value)


# ------------------------------------------------------------------- decoding the items


def _raw(body: bytes) -> RawResponse:
    return RawResponse(
        DS, "https://api.pjm.com/api/v1/x", datetime.now(UTC), body, JSON["content-type"]
    )


def _exact(body: bytes, schema: pa.Schema) -> pa.Table:
    rows = json.loads(body)["items"]
    return _pages._from_pylist(_raw(body), rows, schema)


@pytest.mark.parametrize("name", [p.name for p in sorted(FIXTURES.glob("lmp_rt_*_p*.json"))])
def test_fast_decoding_equals_exact_json(name: str) -> None:
    body = (FIXTURES / name).read_bytes()
    schema = raw_lmp_schema("rt")
    _envelope, data, begin, end = _pages._split(_raw(body))
    first = json.loads(data[begin : data.index(b"}", begin) + 1])
    fast = _items.decode_items(data, begin, end, schema, list(first))
    assert fast is not None, "the Data Miner layout must take the fast path"
    assert fast.equals(_exact(body, schema))


def _edited(change) -> bytes:
    page = json.loads(page_files("2025-06-18")[2].read_text())
    change(page["items"])
    return json.dumps(page, separators=(",", ":")).encode()


def _set_name(items: list[dict], value: str) -> None:
    items[3]["pnode_name"] = value


@pytest.mark.parametrize(
    "body",
    [
        _edited(lambda items: _set_name(items, "A, B 138 KV")),  # comma in a text value
        _edited(lambda items: _set_name(items, 'QUOTED "X"')),  # escapes
        _edited(lambda items: _set_name(items, "},{")),
        _edited(lambda items: items[5].update(voltage=None, total_lmp_rt=None)),  # nulls
        json.dumps(json.loads(page_files("2025-06-18")[2].read_text()), indent=2).encode(),
    ],
    ids=["comma", "escaped-quote", "brace-text", "nulls", "pretty-printed"],
)
def test_unusual_pages_decode_exactly(body: bytes) -> None:
    schema = raw_lmp_schema("rt")
    assert dataminer.read_page(_raw(body), schema).equals(_exact(body, schema))


def test_unknown_and_missing_columns() -> None:
    schema = raw_lmp_schema("rt")
    body = _edited(lambda items: items[0].update(new_column=1))
    with pytest.raises(PayloadError, match="new_column"):
        dataminer.read_page(_raw(body), schema)
    body = _edited(lambda items: items[7].update(new_column=1))  # not in the first item
    with pytest.raises(PayloadError, match="new_column"):
        dataminer.read_page(_raw(body), schema)
    body = _edited(lambda items: [i.pop("total_lmp_rt") for i in items])
    with pytest.raises(PayloadError, match=r"missing column.*total_lmp_rt"):
        dataminer.read_page(_raw(body), schema, ["total_lmp_rt"])


def test_bad_values_are_payload_errors() -> None:
    schema = raw_lmp_schema("rt")
    body = _edited(lambda items: items[2].update(datetime_beginning_utc="yesterday"))
    with pytest.raises(PayloadError, match="datetime_beginning_utc"):
        dataminer.read_page(_raw(body), schema)
    body = _edited(lambda items: items[2].update(total_lmp_rt="n/a"))
    with pytest.raises(PayloadError, match="total_lmp_rt"):
        dataminer.read_page(_raw(body), schema)


def test_only_the_wanted_columns_are_decoded() -> None:
    schema = raw_lmp_schema("rt")
    body = _edited(lambda items: _set_name(items, 'ESCAPED "NAME" é'))  # JSON escapes both
    assert b'ESCAPED \\"NAME\\" \\u00e9' in body
    wanted = ["datetime_beginning_utc", "pnode_id", "total_lmp_rt"]
    table = dataminer.read_page(_raw(body), schema, columns=wanted)
    exact = _exact(body, schema)
    for name in schema.names:
        if name in wanted:
            assert table.column(name).equals(exact.column(name)), name
        else:
            assert table.column(name).null_count == table.num_rows, name
    assert exact.column("pnode_name")[3].as_py() == 'ESCAPED "NAME" é'
