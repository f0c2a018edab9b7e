"""ERCOT transports: MIS listing → download, API archive with token cache, selection by
name times (xhr, _retry, XML twins), 429 handling, bad payloads, missing credentials."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from carbon254.connectors.dataset import Window
from carbon254.connectors.ercot import transport as t
from carbon254.connectors.ercot.api import TOKEN_LIFETIME, TOKEN_MARGIN
from carbon254.connectors.ercot.documents import make_document
from carbon254.connectors.ercot.spp_rt import SPEC as RT_SPEC
from carbon254.connectors.ercot.spp_rt import Np6905RtSpp
from carbon254.connectors.errors import FetchError, MissingCredentials, NoData, PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse, RetryPolicy
from carbon254.connectors.payload import read_zip_members
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso

from ._prices import FALL, FIXTURES, zip_csv

RT = "ercot.np6-905-cd"
LISTING = FIXTURES / "mis_list_np6905_20241103.json"
ONE_DOC = "cdr.00012301.0000000000000000.20241103.001602.SPPHLZNP6905_20241103_0015_csv.zip"
SECRETS = {
    "ERCOT_API_USERNAME": "user-3f9a@example.test",
    "ERCOT_API_PASSWORD": "pw-Zq81-very-secret",
    "ERCOT_API_SUBSCRIPTION_KEY": "key-77c1d0e5aa",
}
FALL_WINDOW = Window(*market_day(Iso.ERCOT, FALL))


def raw(content: bytes, *, content_type: str = "application/json", url: str = "u") -> RawResponse:
    return RawResponse(RT, url, datetime(2024, 1, 1, tzinfo=UTC), content, content_type)


def fetcher(handler, waits: list[float] | None = None) -> HttpFetcher:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpFetcher(
        client,
        sleep=(waits if waits is not None else []).append,
        rng=random.Random(3),
        retry=RetryPolicy(attempts=3, base=0.5),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- names and times ---------------------------------------------------------------------


def test_names_carry_local_times():
    assert t.name_time("SPPHLZNP6905_20241103_0015_csv") == datetime(2024, 11, 3, 0, 15)
    assert t.name_time("SPPHLZNP6905_retry_20230608_1545_csv") == datetime(2023, 6, 8, 15, 45)
    assert t.name_time("SPPHLZNP6905_20241103_0115_xhr_csv") == datetime(2024, 11, 3, 1, 15)
    assert t.name_time("SPPHLZNP6905_20241103_2400_csv") == datetime(2024, 11, 4)
    assert t.name_time("LMPSROSNODENP6788_20151207_181011_csv") == datetime(2015, 12, 7, 18, 10, 11)
    assert t.name_time("DAMSPNP4190_csv") is None
    assert t.posted_time(
        "cdr.00012300.0000000000000000.20151207.181016405.LMPSROSNODENP6788_20151207_181011_csv.zip"
    ) == datetime(2015, 12, 7, 18, 10, 16)
    assert t.posted_time("garbage") is None


def test_repeated_hour_documents_are_the_standard_time_pass():
    first = t.to_utc(datetime(2024, 11, 3, 1, 15))
    second = t.to_utc(datetime(2024, 11, 3, 1, 15), repeated=True)
    assert (first, second) == (
        datetime(2024, 11, 3, 6, 15, tzinfo=UTC),
        datetime(2024, 11, 3, 7, 15, tzinfo=UTC),
    )
    assert t.to_local(second) == datetime(2024, 11, 3, 1, 15)


def test_mis_listing_parses_and_ignores_the_publish_date_offset():
    docs = t.parse_mis_listing(raw(LISTING.read_bytes()))
    assert len(docs) == 24  # 12 documents and their XML twins
    csv = [d for d in docs if not d.is_xml]
    assert len(csv) == 12
    xhr = [d for d in csv if d.repeated]
    assert [d.name_local.strftime("%H%M") for d in xhr] == ["0115", "0130", "0145", "0200"]
    # posted 01:16:02 in the repeated hour: 07:16:02Z (PublishDate says -06:00 throughout,
    # which would be wrong for the first pass: it is never used for times)
    assert xhr[0].posted_utc == datetime(2024, 11, 3, 7, 16, 2, tzinfo=UTC)
    first_pass = next(d for d in csv if d.name_local == datetime(2024, 11, 3, 1, 15))
    assert first_pass.posted_utc == datetime(2024, 11, 3, 6, 16, 2, tzinfo=UTC)
    assert first_pass.url.endswith(f"doclookupId={first_pass.doc_id}")


def test_mis_listing_shapes():
    single = {
        "ListDocsByRptTypeRes": {
            "DocumentList": {"Document": {"DocID": "5", "FriendlyName": "A_csv"}}
        }
    }
    assert [d.doc_id for d in t.parse_mis_listing(raw(json.dumps(single).encode()))] == ["5"]
    empty = {"ListDocsByRptTypeRes": {"DocumentList": []}}
    assert t.parse_mis_listing(raw(json.dumps(empty).encode())) == []
    with pytest.raises(PayloadError, match="ListDocsByRptTypeRes"):
        t.parse_mis_listing(raw(b'{"other": 1}'))
    with pytest.raises(PayloadError, match="HTML"):
        t.parse_mis_listing(raw(b"<html><title>Down</title></html>", content_type="text/html"))
    with pytest.raises(PayloadError, match="not valid JSON"):
        t.parse_mis_listing(raw(b"{trunc"))


def test_selection_keeps_csv_of_the_window_in_posting_order():
    docs = t.parse_mis_listing(raw(LISTING.read_bytes()))
    chosen = t.select_documents(docs, RT_SPEC, FALL_WINDOW)
    assert len(chosen) == 12
    assert all(not d.is_xml for d in chosen)
    posted = [d.posted_utc for d in chosen]
    assert posted == sorted(posted)
    # the day before and the day after select nothing from this listing
    before = Window(*market_day(Iso.ERCOT, FALL - timedelta(days=1)))
    assert t.select_documents(docs, RT_SPEC, before) == []


def _doc(friendly: str, posted: str, doc_id: str) -> t.ErcotDocument:
    name = f"cdr.00012301.0000000000000000.{posted}.{friendly}.zip"
    return make_document(doc_id, friendly, name, t.posted_time(name), "mis", "")


def test_retry_replaces_its_original_and_latest_retry_wins():
    docs = [
        _doc("SPPHLZNP6905_20241103_0815_csv", "20241103.081602", "1"),
        _doc("SPPHLZNP6905_retry_20241103_0815_csv", "20241103.082501", "2"),
        _doc("SPPHLZNP6905_retry_20241103_0815_csv", "20241103.090001", "3"),
        _doc("SPPHLZNP6905_20241103_0830_csv", "20241103.083102", "4"),
    ]
    chosen = t.select_documents(docs, RT_SPEC, FALL_WINDOW)
    assert [d.doc_id for d in chosen] == ["4", "3"]  # posting order


def test_window_edges_follow_the_interval_end_stamp():
    day = date(2024, 7, 15)
    docs = [
        _doc("SPPHLZNP6905_20240715_0000_csv", "20240715.000102", "1"),  # previous day's last
        _doc("SPPHLZNP6905_20240715_0015_csv", "20240715.001602", "2"),
        _doc("SPPHLZNP6905_20240716_0000_csv", "20240716.000102", "3"),  # this day's last
    ]
    chosen = t.select_documents(docs, RT_SPEC, Window(*market_day(Iso.ERCOT, day)))
    assert [d.doc_id for d in chosen] == ["2", "3"]


# --- MIS flow ------------------------------------------------------------------------------


def test_mis_listing_then_download_then_parse():
    listing = json.loads(LISTING.read_text())
    content = (FIXTURES / ONE_DOC).read_bytes()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("IceDocListJsonWS"):
            return httpx.Response(200, json=listing)
        assert request.url.path.endswith("mirDownload")
        return httpx.Response(200, content=content, headers={"content-type": "application/zip"})

    http = fetcher(handler)
    raws = t.fetch_documents(http, RT, RT_SPEC, FALL_WINDOW, mis_budget=None)
    assert len(raws) == 12
    assert "reportTypeId=12301" in str(seen[0].url)
    assert any(key.startswith("_") for key in parse_qs(seen[0].url.query.decode(), True))
    ids = [parse_qs(r.url.query.decode())["doclookupId"][0] for r in seen[1:]]
    assert ids == [r.meta["doc_id"] for r in raws]
    assert all("Authorization" not in r.headers for r in seen)
    assert raws[0].meta["friendly_name"] == "SPPHLZNP6905_20241103_0015_csv"
    assert raws[0].meta["emil"] == "NP6-905-CD"
    # every download here is the same one-interval document: parse one
    table = Np6905RtSpp().parse(raws[:1])
    assert table.num_rows == 5


def test_dataset_fetch_uses_mis_for_recent_windows(monkeypatch):
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.host)
        return httpx.Response(200, json={"ListDocsByRptTypeRes": {"DocumentList": []}})

    dataset = Np6905RtSpp()
    window = dataset.windows(FALL, FALL, now=datetime(2024, 11, 5, tzinfo=UTC))[0]
    assert not window.archived
    with pytest.raises(NoData, match="MIS lists no NP6-905-CD"):
        dataset.fetch(fetcher(handler), window)
    assert calls == ["www.ercot.com"]
    old = dataset.windows(FALL, FALL, now=datetime(2025, 1, 5, tzinfo=UTC))[0]
    assert old.archived


# --- API archive ---------------------------------------------------------------------------


def _archive_page(doc_ids: list[int], friendly: list[str], pages: int, page: int) -> dict:
    return {
        "_meta": {
            "totalRecords": len(doc_ids),
            "pageSize": 1000,
            "totalPages": pages,
            "currentPage": page,
        },
        "product": {"emilId": "NP6-905-CD", "name": "SPP", "reportTypeId": 12301},
        "archives": [
            {
                "docId": d,
                "friendlyName": f,
                "postDatetime": "2024-11-03T00:16:02.000",
                "_links": {"endpoint": {"href": f"{t.API_BASE}/archive/np6-905-cd?download={d}"}},
            }
            for d, f in zip(doc_ids, friendly, strict=True)
        ],
    }


class Api:
    """A fake ERCOT API: token endpoint, paged archive listing, downloads."""

    def __init__(self, *, fail_first_listing: int | None = None) -> None:
        self.tokens = 0
        self.requests: list[httpx.Request] = []
        self.fail = fail_first_listing
        self.content = (FIXTURES / ONE_DOC).read_bytes()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.host == "ercotb2c.b2clogin.com":
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["password"]
            assert form["username"] == [SECRETS["ERCOT_API_USERNAME"]]
            self.tokens += 1
            return httpx.Response(
                200, json={"id_token": f"tok-{self.tokens}", "token_type": "Bearer"}
            )
        assert request.headers["Authorization"].startswith("Bearer tok-")
        assert request.headers["Ocp-Apim-Subscription-Key"] == SECRETS["ERCOT_API_SUBSCRIPTION_KEY"]
        query = parse_qs(request.url.query.decode())
        if "download" in query:
            return httpx.Response(
                200, content=self.content, headers={"content-type": "application/zip"}
            )
        if self.fail:
            status, self.fail = self.fail, None
            return httpx.Response(status, headers={"Retry-After": "7"})
        page = int(query["page"][0])
        ids = {1: [101, 102], 2: [103]}[page]
        names = {
            101: "SPPHLZNP6905_20241103_0015_csv",
            102: "SPPHLZNP6905_20241103_0015_xml",
            103: "SPPHLZNP6905_20241103_0030_csv",
        }
        return httpx.Response(200, json=_archive_page(ids, [names[i] for i in ids], 2, page))


def session(clock=None) -> t.ApiSession:
    return t.ApiSession(*SECRETS.values(), clock=clock or Clock())


def archived(window: Window) -> Window:
    return Window(window.start, window.end, archived=True)


def test_archive_pages_token_once_and_downloads(caplog):
    api = Api()
    waits: list[float] = []
    s = session()
    with caplog.at_level(logging.DEBUG):
        raws = t.fetch_documents(
            fetcher(api, waits), RT, RT_SPEC, archived(FALL_WINDOW), session=s, api_budget=None
        )
    assert [r.meta["doc_id"] for r in raws] == ["101", "103"]  # XML twin dropped
    assert api.tokens == 1 and s.token_fetches == 1
    listings = [
        r for r in api.requests if r.url.path.endswith("np6-905-cd") and b"page" in r.url.query
    ]
    assert [parse_qs(r.url.query.decode())["page"] for r in listings] == [["1"], ["2"]]
    q = parse_qs(listings[0].url.query.decode())
    # posting range = the local day widened by the report's slack, in local wall time
    assert q["postDatetimeFrom"] == ["2024-11-02T22:00:00"]
    assert q["postDatetimeTo"] == ["2024-11-04T02:00:00"]
    assert q["size"] == ["1000"]
    for r in raws:
        assert r.meta["source"] == "api"
        assert "download=" in r.url
        _no_secrets(r.url + json.dumps(dict(r.meta)))
    _no_secrets(caplog.text)
    assert "tok-1" not in caplog.text


def _no_secrets(text: str) -> None:
    for value in SECRETS.values():
        assert value not in text


def test_token_is_reused_then_refreshed_after_expiry():
    api, clock = Api(), Clock()
    s = session(clock)
    http = fetcher(api)
    s.token(http, RT)
    clock.now += TOKEN_LIFETIME - TOKEN_MARGIN - 1
    s.token(http, RT)
    assert api.tokens == 1
    clock.now += 2  # inside the refresh margin
    assert s.token(http, RT) == "tok-2"
    assert api.tokens == 2
    clock.now += TOKEN_LIFETIME * 3
    s.headers(http, RT)
    assert api.tokens == 3


def test_a_401_refreshes_the_token_once():
    state = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ercotb2c.b2clogin.com":
            state["n"] += 1
            return httpx.Response(200, json={"id_token": f"tok-{state['n']}"})
        if request.headers["Authorization"] == "Bearer tok-1":
            return httpx.Response(401)
        return httpx.Response(200, json={"ok": True})

    s = session()
    got = s.get(fetcher(handler), RT, f"{t.API_BASE}/archive/np6-905-cd", budget=None)
    assert got.status == 200 and state["n"] == 2


def test_429_with_retry_after_is_retried():
    api = Api(fail_first_listing=429)
    waits: list[float] = []
    raws = t.fetch_documents(
        fetcher(api, waits), RT, RT_SPEC, archived(FALL_WINDOW), session=session(), api_budget=None
    )
    assert waits == [7.0]
    assert len(raws) == 2


def test_token_refused_is_missing_credentials_without_values():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"error": "invalid_grant"})

    with pytest.raises(MissingCredentials, match="invalid_grant") as info:
        session().token(fetcher(handler), RT)
    _no_secrets(str(info.value))


def test_missing_env_is_missing_credentials_naming_only_variables(monkeypatch):
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ERCOT_API_USERNAME", SECRETS["ERCOT_API_USERNAME"])
    monkeypatch.setenv("ERCOT_API_PASSWORD", SECRETS["ERCOT_API_PASSWORD"])
    with pytest.raises(MissingCredentials) as info:
        t.api_session(RT)
    assert "ERCOT_API_SUBSCRIPTION_KEY" in str(info.value)
    _no_secrets(str(info.value))
    # the dataset's archive path asks for them before any request
    http = fetcher(lambda request: pytest.fail("no request without credentials"))
    with pytest.raises(MissingCredentials):
        Np6905RtSpp().fetch(http, archived(FALL_WINDOW))
    assert repr(t.ApiSession(*SECRETS.values())) == "<ApiSession>"


def test_env_session_is_shared(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    assert t.api_session(RT) is t.api_session("ercot.np4-190-cd")


def test_archive_listing_of_recorded_answers(shared_data):
    for path, doc_id, posted in [
        (
            "api_archive_np3-911-er_listing_posted_2024-11-05.json",
            "1049861718",
            "2024-11-05T03:16:10",
        ),
        (
            "api_archive_np3-911-er_listing_posted_2024-10-18.json",
            "1045038225",
            "2024-10-18T03:13:31",
        ),
    ]:
        content = (shared_data / "iso" / "ercot" / path).read_bytes()
        docs, pages = t.parse_archive_listing(raw(content))
        assert pages == 1
        assert [d.doc_id for d in docs] == [doc_id]
        doc = docs[0]
        assert doc.friendly_name == "2_Day_AS_Disclosure"
        assert doc.posted_local == datetime.fromisoformat(posted)
        assert doc.name_local is None and not doc.repeated and not doc.is_xml
        assert doc.url == f"{t.API_BASE}/archive/np3-911-er?download={doc_id}"
        assert doc.source == "api"


def test_recorded_archive_zip_is_read_member_by_member(shared_data):
    content = (
        shared_data
        / "iso"
        / "ercot"
        / "api_archive_np3-911-er_doc1045038225_2_Day_AS_Disclosure_20241018_opday_20241016.zip"
    ).read_bytes()
    archive = raw(content, content_type="application/zip")
    names = [name for name, _ in read_zip_members(archive)]
    assert len(names) == 26
    # 26 reports of different shapes are not one table: the column check says so
    with pytest.raises(PayloadError, match="column"):
        t.read_document(archive, ["Delivery Date", "Hour Ending"])


def test_archive_listing_errors():
    with pytest.raises(PayloadError, match="archives"):
        t.parse_archive_listing(raw(b'{"_meta": {}}'))
    with pytest.raises(PayloadError, match="docId"):
        t.parse_archive_listing(raw(b'{"archives": [{"friendlyName": "x"}]}'))
    with pytest.raises(PayloadError, match="totalPages"):
        t.parse_archive_listing(raw(b'{"_meta": {"totalPages": "x"}, "archives": []}'))


# --- downloads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "match"),
    [
        (zip_csv("a.csv", "A,B\n1,2\n")[:-25], "application/zip", "truncated or corrupt zip"),
        (b"<!DOCTYPE html><html><head><title>Service Unavailable</title>", "text/html", "HTML"),
        (b"", "application/zip", "empty"),
        (b"PK\x03\x04garbage", "application/zip", "truncated or corrupt zip"),
    ],
)
def test_bad_downloads_raise_payload_error(content, content_type, match):
    with pytest.raises(PayloadError, match=match) as info:
        t.read_document(raw(content, content_type=content_type), ["A", "B"])
    assert info.value.dataset == RT


def test_download_404_is_a_fetch_error():
    http = fetcher(lambda request: httpx.Response(404))
    doc = _doc("SPPHLZNP6905_20241103_0815_csv", "20241103.081602", "1")
    with pytest.raises(FetchError, match="404"):
        t.download_document(http, RT, RT_SPEC, doc, budget=None)
