"""PJM LMP datasets: the recorded Data Miner CSV exports (a year of one node), our own
JSON pages over the DST days, revisions, the unverified fallback and bad payloads."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from carbon254.connectors.dataset import Components, RevisionPolicy, Target, TimeRule, Window
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse
from carbon254.connectors.pjm import _items, _pages, dataminer
from carbon254.connectors.pjm.lmp import DaHourlyLmp, RtFiveMinLmp, RtHourlyLmp
from carbon254.connectors.registry import get_dataset
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso, Market, Product
from carbon254.core.schema import PRICE_SCHEMA, validate_prices

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pjm"
EPT = ZoneInfo("America/New_York")
DA_CSV = "dataminer_da_hrl_lmps_pnode48592_ALDENE_2025-06-16_2026-06-15.csv"
RT_CSV = "dataminer_rt_hrl_lmps_pnode48592_ALDENE_2025-06-15_2026-06-14.csv"
NODES = (51288, 48592, 1269364670)
DST_DAYS = {date(2025, 3, 9): 276, date(2025, 6, 18): 288, date(2025, 11, 2): 300}
RT5, RTH, DA = RtFiveMinLmp(), RtHourlyLmp(), DaHourlyLmp()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PJM_API_KEY", "test-key")
    monkeypatch.setenv("PJM_REQUESTS_PER_MINUTE", "1000000")


def raw(
    dataset: str, body: bytes, content_type: str = "application/json", url: str = ""
) -> RawResponse:
    return RawResponse(
        dataset, url or "https://api.pjm.com/api/v1/x", datetime.now(UTC), body, content_type
    )


def pages(feed: str, day: date | str) -> list[RawResponse]:
    files = sorted(FIXTURES.glob(f"lmp_{feed}_{day}_p*.json"))
    assert files, f"no fixture pages for {feed} {day}"
    return [raw(f"pjm.{feed}", f.read_bytes()) for f in files]


def per_node_day(table: pa.Table) -> Counter:
    rows = table.select(["instrument", "interval_start"]).to_pylist()
    return Counter((r["instrument"], r["interval_start"].astimezone(EPT).date()) for r in rows)


def local_day_counts(table: pa.Table) -> Counter:
    starts = table.column("interval_start").to_pylist()
    return Counter(t.astimezone(EPT).date() for t in starts)


def test_declarations_and_registry() -> None:
    for name, ds, market in (
        ("pjm.rt_fivemin_hrl_lmps", RtFiveMinLmp, Market.RT5),
        ("pjm.rt_hrl_lmps", RtHourlyLmp, Market.RTH),
        ("pjm.da_hrl_lmps", DaHourlyLmp, Market.DA),
    ):
        registered = get_dataset(name)
        assert isinstance(registered, ds) and registered.iso is Iso.PJM
        assert registered.target is Target.PRICES and registered.time_rule is TimeRule.UTC_FIELD
        assert registered.components is Components.PUBLISHED
        assert registered.revisions is RevisionPolicy.VERSIONED
        assert registered.produces == ((market, Product.LMP),)
        assert registered.auth.env == ("PJM_API_KEY",)
        assert registered.chunking.split_years
    assert RT5.chunking.archive_after == timedelta(days=186)
    assert DA.chunking.archive_after == RTH.chunking.archive_after == timedelta(days=731)


# ------------------------------------------------------------ recorded Data Miner exports


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> dict[str, pa.Table]:
    folder = shared_data / "iso" / "pjm"
    out = {}
    for ds, name in ((DA, DA_CSV), (RTH, RT_CSV)):
        body = (folder / name).read_bytes()
        out[ds.name] = ds.parse([raw(ds.name, body, "text/csv", f"file:{name}")])
    return out


@pytest.mark.parametrize(("name", "rows"), [("pjm.da_hrl_lmps", 8737), ("pjm.rt_hrl_lmps", 8760)])
def test_recorded_year_parses_with_exact_dst_days(
    recorded: dict[str, pa.Table], name: str, rows: int
) -> None:
    table = recorded[name]
    assert table.num_rows == rows
    assert table.schema.remove_metadata().field("value") == PRICE_SCHEMA.field("value")
    days = local_day_counts(table)
    assert days[date(2025, 11, 2)] == 25
    assert days[date(2026, 3, 8)] == 23
    partial = {d: n for d, n in days.items() if n not in (23, 24, 25)}
    if name == "pjm.da_hrl_lmps":
        assert partial == {date(2026, 6, 15): 1}  # the export ends at 2026-06-15 00:00 EPT
    else:
        assert partial == {}
    normal = [n for d, n in days.items() if d not in (date(2025, 11, 2), date(2026, 3, 8))]
    assert set(normal) - {1} == {24}
    instrument = "PJM.DA.LMP.48592" if name == "pjm.da_hrl_lmps" else "PJM.RTH.LMP.48592"
    assert pc.unique(table.column("instrument")).to_pylist() == [instrument]
    lengths = pc.subtract(table.column("interval_end"), table.column("interval_start"))
    assert pc.unique(lengths).to_pylist() == [timedelta(hours=1)]
    total = pc.add(pc.add(table.column("energy"), table.column("congestion")), table.column("loss"))
    gap = pc.max(pc.abs(pc.subtract(total, table.column("value")))).as_py()
    assert gap <= 0.01 + 1e-9
    validate_prices(table)


def test_recorded_fall_back_hour_comes_from_utc(recorded: dict[str, pa.Table]) -> None:
    table = recorded["pjm.da_hrl_lmps"]
    starts = table.column("interval_start").to_pylist()
    one_am = [
        t for t in starts if t.astimezone(EPT).replace(tzinfo=None) == datetime(2025, 11, 2, 1)
    ]
    assert one_am == [datetime(2025, 11, 2, 5, tzinfo=UTC), datetime(2025, 11, 2, 6, tzinfo=UTC)]
    spring = [
        t.astimezone(EPT).hour for t in starts if t.astimezone(EPT).date() == date(2026, 3, 8)
    ]
    assert 2 not in spring and len(spring) == 23


def test_recorded_values(recorded: dict[str, pa.Table]) -> None:
    first = recorded["pjm.da_hrl_lmps"].slice(0, 1).to_pylist()[0]
    assert first["interval_start"] == datetime(2025, 6, 16, 4, tzinfo=UTC)
    assert (first["value"], first["energy"], first["congestion"], first["loss"]) == (
        14.37,
        19.28,
        -4.39,
        -0.52,
    )
    first = recorded["pjm.rt_hrl_lmps"].slice(0, 1).to_pylist()[0]
    assert first["interval_start"] == datetime(2025, 6, 15, 4, tzinfo=UTC)
    assert (first["value"], first["energy"], first["congestion"], first["loss"]) == (
        5.89,
        18.32,
        -12.36,
        -0.08,
    )


# ------------------------------------------------------------------------ our fixtures


@pytest.mark.parametrize(("day", "intervals"), list(DST_DAYS.items()))
def test_rt5_verified_pages_over_dst_days(day: date, intervals: int) -> None:
    table = RT5.parse(pages("rt_fivemin_hrl_lmps", day))
    counts = per_node_day(table)
    assert counts == Counter({(f"PJM.RT5.LMP.{n}", day): intervals for n in NODES})
    start, end = market_day(Iso.PJM, day)
    assert pc.min(table.column("interval_start")).as_py() == start
    assert pc.max(table.column("interval_end")).as_py() == end
    lengths = pc.subtract(table.column("interval_end"), table.column("interval_start"))
    assert pc.unique(lengths).to_pylist() == [timedelta(minutes=5)]


def test_rt5_values_match_the_items() -> None:
    body = pages("rt_fivemin_hrl_lmps", "2025-11-02")[1].content
    items = json.loads(body)["items"]
    table = RT5.parse(pages("rt_fivemin_hrl_lmps", "2025-11-02"))
    rows = {(r["instrument"], r["interval_start"]): r for r in table.to_pylist()}
    for item in items[::37]:
        start = datetime.fromisoformat(item["datetime_beginning_utc"]).replace(tzinfo=UTC)
        row = rows[(f"PJM.RT5.LMP.{item['pnode_id']}", start)]
        assert row["value"] == item["total_lmp_rt"]
        assert row["energy"] == item["system_energy_price_rt"]
        assert row["congestion"] == item["congestion_price_rt"]
        assert row["loss"] == item["marginal_loss_price_rt"]


def test_corrected_row_keeps_the_later_version() -> None:
    raws = pages("rt_fivemin_hrl_lmps", "2025-06-18")
    items = [i for r in raws for i in json.loads(r.content)["items"]]
    assert len(items) == 3 * 288 + 1
    versions = [
        i
        for i in items
        if i["pnode_id"] == 48592 and i["datetime_beginning_utc"] == "2025-06-18T18:00:00"
    ]
    assert [v["version_nbr"] for v in versions] == [1, 2]
    table = RT5.parse(raws)
    assert table.num_rows == 3 * 288
    start = datetime(2025, 6, 18, 18, tzinfo=UTC)
    mask = pc.and_(
        pc.equal(table.column("instrument").cast(pa.string()), "PJM.RT5.LMP.48592"),
        pc.equal(
            table.column("interval_start"),
            pa.scalar(start, table.schema.field("interval_start").type),
        ),
    )
    row = table.filter(mask).to_pylist()
    assert len(row) == 1
    assert row[0]["value"] == versions[1]["total_lmp_rt"]
    assert row[0]["congestion"] == versions[1]["congestion_price_rt"]
    assert row[0]["value"] != versions[0]["total_lmp_rt"]


@pytest.mark.parametrize(("day", "intervals"), list(DST_DAYS.items()))
def test_rt5_unverified_pages_derive_energy(day: date, intervals: int) -> None:
    raws = pages("rt_unverified_fivemin_lmps", day)
    table = RT5.parse(raws)
    assert per_node_day(table) == Counter({(f"PJM.RT5.LMP.{n}", day): intervals for n in NODES})
    items = json.loads(raws[0].content)["items"]
    assert items[0]["datetime_beginning_utc"].endswith(".000")  # milliseconds parse
    first = table.slice(0, 1).to_pylist()[0]
    item = items[0]
    assert first["interval_start"] == datetime.fromisoformat(
        item["datetime_beginning_utc"]
    ).replace(tzinfo=UTC)
    derived = item["total_lmp_rt"] - item["congestion_price_rt"] - item["marginal_loss_price_rt"]
    assert first["energy"] == pytest.approx(derived, abs=1e-9)


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2025, 3, 9), 23), (date(2025, 6, 18), 24), (date(2025, 11, 2), 25)]
)
def test_da_pages_over_dst_days(day: date, hours: int) -> None:
    table = DA.parse(pages("da_hrl_lmps", day))
    assert per_node_day(table) == Counter({(f"PJM.DA.LMP.{n}", day): hours for n in NODES})
    lengths = pc.subtract(table.column("interval_end"), table.column("interval_start"))
    assert pc.unique(lengths).to_pylist() == [timedelta(hours=1)]


def test_instruments_are_dictionary_encoded() -> None:
    table = RT5.parse(pages("rt_fivemin_hrl_lmps", "2025-11-02"))
    column = table.column("instrument")
    assert pa.types.is_dictionary(column.type)
    assert sorted(column.chunk(0).dictionary.to_pylist()) == sorted(
        f"PJM.RT5.LMP.{n}" for n in NODES
    )


def test_fixture_pages_take_the_fast_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    used = []
    real = _items.decode_items

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(_pages, "decode_items", spy)
    RT5.parse(
        pages("rt_fivemin_hrl_lmps", "2025-11-02")
        + pages("rt_unverified_fivemin_lmps", "2025-03-09")
    )
    DA.parse(pages("da_hrl_lmps", "2025-11-02"))
    assert used and all(used)


# -------------------------------------------------------------- fetching (mock transport)


class Feeds:
    """Answers per feed from fixture pages (by startRow), recording requests."""

    def __init__(self, answers: dict[str, list[bytes]], rows: int = 400) -> None:
        self.answers = answers
        self.rows = rows
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        feed = request.url.path.rsplit("/", 1)[-1]
        index = (int(request.url.params["startRow"]) - 1) // int(request.url.params["rowCount"])
        return httpx.Response(
            200, content=self.answers[feed][index], headers={"content-type": "application/json"}
        )


def _empty_page() -> bytes:
    return json.dumps(
        {"links": [], "items": [], "searchSpecification": {}, "totalRows": 0}
    ).encode()


def test_rt5_falls_back_to_unverified_when_verified_is_empty() -> None:
    day = date(2025, 11, 2)
    unverified = [r.content for r in pages("rt_unverified_fivemin_lmps", day)]
    feeds = Feeds(
        {"rt_fivemin_hrl_lmps": [_empty_page()], "rt_unverified_fivemin_lmps": unverified}
    )
    start, end = market_day(Iso.PJM, day)
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(feeds))) as http:
        raws = RT5.fetch(http, Window(start, end))
    asked = [(r.url.path.rsplit("/", 1)[-1], dict(r.url.params)) for r in feeds.requests]
    assert [a[0] for a in asked] == ["rt_fivemin_hrl_lmps", "rt_unverified_fivemin_lmps"]
    assert asked[0][1]["row_is_current"] == "TRUE"
    assert "row_is_current" not in asked[1][1]
    assert "system_energy_price_rt" not in asked[1][1]["fields"]
    assert {r.meta["feed"] for r in raws} == {"rt_unverified_fivemin_lmps"}
    assert raws[0].meta["fallback_from"] == "rt_fivemin_hrl_lmps"
    table = RT5.parse(raws)
    assert table.num_rows == 3 * 300 and table.column("energy").null_count == 0


def test_rt5_verified_answer_is_kept() -> None:
    day = date(2025, 3, 9)
    verified = [r.content for r in pages("rt_fivemin_hrl_lmps", day)]
    feeds = Feeds({"rt_fivemin_hrl_lmps": verified})
    start, end = market_day(Iso.PJM, day)
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(feeds))) as http:
        raws = dataminer.fetch_pages(
            http, RT5.name, "rt_fivemin_hrl_lmps", Window(start, end), row_count=400
        )
    assert {r.meta["feed"] for r in raws} == {"rt_fivemin_hrl_lmps"} and len(raws) == 3
    assert RT5.parse(raws).num_rows == 3 * 276


def test_node_and_type_selection() -> None:
    day = date(2025, 11, 2)
    verified = [r.content for r in pages("rt_fivemin_hrl_lmps", day)]
    start, end = market_day(Iso.PJM, day)
    ds = RtFiveMinLmp(pnodes=[48592, 51288], location_type="hub")
    feeds = Feeds({"rt_fivemin_hrl_lmps": verified}, rows=400)
    # archived: nothing filtered upstream, everything here (type is never sent for RT5)
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(feeds))) as http:
        raws = dataminer.fetch_pages(
            http,
            ds.name,
            "rt_fivemin_hrl_lmps",
            Window(start, end, archived=True),
            filters={"pnode_id": "48592;51288"},
            client_filters={"type": "HUB"},
            row_count=400,
        )
    assert "pnode_id" not in feeds.requests[0].url.params
    table = ds.parse(raws)
    assert pc.unique(table.column("instrument").cast(pa.string())).to_pylist() == [
        "PJM.RT5.LMP.51288"
    ]
    assert ds._filters() == ({"pnode_id": "48592;51288"}, {"type": "HUB"})
    assert DaHourlyLmp(location_type="hub")._filters() == ({"type": "HUB"}, {})


def test_windows_for_a_few_nodes_are_longer() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert len(DA.windows(date(2026, 10, 1), date(2026, 10, 31), now=now)) == 31
    few = DaHourlyLmp(pnodes=[48592])
    assert len(few.windows(date(2026, 10, 1), date(2026, 10, 31), now=now)) == 1
    assert len(few.windows(date(2025, 12, 1), date(2026, 1, 31), now=now)) == 2  # New Year


# ------------------------------------------------------------------------ bad payloads


def _edit(change) -> bytes:
    page = json.loads(pages("rt_fivemin_hrl_lmps", "2025-06-18")[2].content)
    change(page["items"])
    return json.dumps(page).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_edit(lambda items: [i.pop("total_lmp_rt") for i in items]), "missing column"),
        (_edit(lambda items: [i.update(lmp_new=1.0) for i in items]), "unknown column"),
        (
            _edit(lambda items: items[4].update(datetime_beginning_utc="2025-13-01T00:00:00")),
            "datetime_beginning_utc",
        ),
        (
            _edit(lambda items: items[4].update(datetime_beginning_utc=None)),
            "datetime_beginning_utc",
        ),
        (
            _edit(lambda items: items[4].update(total_lmp_rt=items[4]["total_lmp_rt"] + 5)),
            "energy \\+ congestion",
        ),
        (_edit(lambda items: items.append(dict(items[0]))), "duplicate"),
        (b"<html><head><title>Down for maintenance</title></head></html>", "HTML"),
        (b"", "empty"),
    ],
    ids=["missing", "unknown", "bad-time", "null-time", "components", "duplicate", "html", "empty"],
)
def test_bad_payloads_raise_payload_error(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as err:
        RT5.parse([raw(RT5.name, body)])
    assert err.value.dataset == "pjm.rt_fivemin_hrl_lmps"


def test_bad_csv_exports() -> None:
    header = (
        b"datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,voltage,"
        b"equipment,type,zone,system_energy_price_da,total_lmp_da,congestion_price_da,"
        b"marginal_loss_price_da,row_is_current,version_nbr\n"
    )
    good = (
        b"6/16/2025 4:00:00 AM,6/16/2025 12:00:00 AM,48592,ALDENE,230 KV,T-10,LOAD,PSEG,"
        b"19.28,14.370000,-4.390000,-0.520000,True,1\n"
    )
    assert DA.parse([raw(DA.name, header + good, "text/csv")]).num_rows == 1
    bad_time = good.replace(b"6/16/2025 4:00:00 AM", b"16/6/2025 4:00:00 AM", 1)
    with pytest.raises(PayloadError, match="datetime_beginning_utc"):
        DA.parse([raw(DA.name, header + bad_time, "text/csv")])
    with pytest.raises(PayloadError, match="missing column"):
        DA.parse([raw(DA.name, header.replace(b"total_lmp_da", b"lmp_da") + good, "text/csv")])


def test_empty_answer_is_an_empty_table() -> None:
    table = RT5.parse([raw(RT5.name, _empty_page())])
    assert table.num_rows == 0 and table.schema.names == PRICE_SCHEMA.names
