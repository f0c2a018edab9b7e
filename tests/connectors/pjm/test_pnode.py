"""PJM pnode directory: every window kept (retired nodes too), types mapped, open ends
null, and a node retired after a day still has that day's prices and directory row."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from carbon254.connectors.dataset import Target, Window
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse
from carbon254.connectors.pjm.lmp import DaHourlyLmp, RtFiveMinLmp
from carbon254.connectors.pjm.pnode import PnodeDirectory, location_types
from carbon254.connectors.registry import get_dataset
from carbon254.core.directory import validate_locations
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso
from carbon254.core.schema import LOCATION_SCHEMA

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pjm"
DIRECTORY = FIXTURES / "lmp_pnode_directory.json"
RETIRED = "1269364670"
PNODE = PnodeDirectory()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PJM_API_KEY", "test-key")
    monkeypatch.setenv("PJM_REQUESTS_PER_MINUTE", "1000000")


def raw(
    body: bytes, content_type: str = "application/json", name: str = "pjm.pnode"
) -> RawResponse:
    return RawResponse(
        name, "https://api.pjm.com/api/v1/pnode", datetime.now(UTC), body, content_type
    )


def page(items: list[dict]) -> bytes:
    return json.dumps(
        {"links": [], "items": items, "searchSpecification": {}, "totalRows": len(items)}
    ).encode()


def fixture_items() -> list[dict]:
    return json.loads(DIRECTORY.read_text())["items"]


def in_effect(table: pa.Table, day: date) -> pa.Table:
    """The directory as of `day`: effective on or before, not yet terminated."""
    d = pa.scalar(day, pa.date32())
    started = pc.less_equal(table.column("effective_date"), d)
    running = pc.or_kleene(
        pc.is_null(table.column("termination_date")),
        pc.greater(table.column("termination_date"), d),
    )
    return table.filter(pc.and_kleene(started, running))


def test_declarations() -> None:
    assert isinstance(get_dataset("pjm.pnode"), PnodeDirectory)
    assert PNODE.target is Target.LOCATIONS and PNODE.iso is Iso.PJM
    assert PNODE.auth.env == ("PJM_API_KEY",)


def test_every_window_is_kept_with_open_ends_null() -> None:
    table = PNODE.parse([raw(DIRECTORY.read_bytes())])
    assert table.schema == LOCATION_SCHEMA
    assert table.num_rows == len(fixture_items()) == 7
    rows = {(r["location"], r["effective_date"]): r for r in table.to_pylist()}
    assert rows[("48592", date(2005, 1, 1))]["termination_date"] == date(2019, 6, 1)
    assert rows[("48592", date(2019, 6, 1))]["termination_date"] is None  # 9999-12-31
    assert rows[(RETIRED, date(2012, 6, 1))]["termination_date"] == date(2025, 12, 15)
    assert rows[("32417525", date(2003, 1, 1))]["termination_date"] == date(2020, 3, 1)
    assert rows[("51288", date(1998, 4, 1))] == {
        "iso": "PJM",
        "location": "51288",
        "name": "WESTERN HUB",
        "location_type": "HUB",
        "zone": None,
        "effective_date": date(1998, 4, 1),
        "termination_date": None,
    }
    validate_locations(table)


def test_location_types() -> None:
    table = PNODE.parse([raw(DIRECTORY.read_bytes())])
    kinds = dict(
        zip(
            table.column("location").to_pylist(),
            table.column("location_type").to_pylist(),
            strict=True,
        )
    )
    assert kinds == {
        "1": "ZONE",
        "51288": "HUB",
        "48592": "LOAD",  # a bus whose subtype is load
        RETIRED: "GENERATOR",
        "32417525": "LOAD",
        "2156113094": "OTHER",  # a type we do not know is kept, as OTHER
    }
    mapped = location_types(
        pa.array(
            ["EHV", "AGGREGATE", "RESIDUAL_METERED_EDC", "INTERFACE", "EXT", "TIE", None, "BUS"]
        ),
        pa.array([None, None, None, None, None, None, "GEN", "EHV"]),
    ).to_pylist()
    assert mapped == [
        "BUS",
        "AGGREGATE",
        "LOAD_ZONE",
        "INTERFACE",
        "INTERFACE",
        "INTERFACE",
        "GENERATOR",
        "BUS",
    ]


def test_retired_node_keeps_its_prices_and_directory_row_for_a_past_day() -> None:
    """The node retired on 2025-12-15 priced on 2025-11-02: its prices parse and the
    directory as of that day has its row, so a left join loses nothing (gridstatus#942)."""
    day = date(2025, 11, 2)
    directory = PNODE.parse([raw(DIRECTORY.read_bytes())])
    retired = directory.filter(pc.equal(directory.column("location"), RETIRED)).to_pylist()
    assert retired and retired[0]["termination_date"] == date(2025, 12, 15)
    assert retired[0]["termination_date"] < date(2026, 11, 25)  # retired by now

    pages = sorted(FIXTURES.glob(f"lmp_rt_fivemin_hrl_lmps_{day}_p*.json"))
    prices = RtFiveMinLmp().parse(
        [raw(p.read_bytes(), name="pjm.rt_fivemin_hrl_lmps") for p in pages]
    )
    instruments = prices.column("instrument").cast(pa.string())
    mine = prices.filter(pc.equal(instruments, f"PJM.RT5.LMP.{RETIRED}"))
    assert mine.num_rows == 300

    as_of = in_effect(directory, day)
    locations = {s.rsplit(".", 1)[1] for s in pc.unique(instruments).to_pylist()}
    named = dict(
        zip(as_of.column("location").to_pylist(), as_of.column("name").to_pylist(), strict=True)
    )
    assert locations <= set(named)  # every priced node is in the directory that day
    assert named[RETIRED] == "RETIREDGEN 13 KV UNIT1"
    assert RETIRED not in set(in_effect(directory, date(2026, 1, 5)).column("location").to_pylist())

    da_pages = sorted(FIXTURES.glob(f"lmp_da_hrl_lmps_{day}_p*.json"))
    da = DaHourlyLmp().parse([raw(p.read_bytes(), name="pjm.da_hrl_lmps") for p in da_pages])
    assert (
        pc.sum(pc.equal(da.column("instrument").cast(pa.string()), f"PJM.DA.LMP.{RETIRED}")).as_py()
        == 25
    )


def test_fetch_asks_for_every_node_including_retired() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(
            200, content=DIRECTORY.read_bytes(), headers={"content-type": "application/json"}
        )

    start, end = market_day(Iso.PJM, date(2025, 11, 2))
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(handler))) as http:
        raws = PNODE.fetch(http, Window(start, end))
    params = dict(requests[0].url.params)
    assert requests[0].url.path == "/api/v1/pnode"
    assert "termination_date" not in params and "datetime_beginning_ept" not in params
    assert params["fields"].split(",") == [
        "pnode_id",
        "pnode_name",
        "pnode_type",
        "pnode_subtype",
        "zone",
        "voltage_level",
        "effective_date",
        "termination_date",
    ]
    assert PNODE.parse(raws).num_rows == 7
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(handler))) as http:
        PnodeDirectory(pnodes=[48592, 1]).fetch(http, Window(start, end))
    assert requests[-1].url.params["pnode_id"] == "48592;1"


def _node(pid, eff, term, name="N", kind="BUS", sub="LOAD"):
    return {
        "pnode_id": pid,
        "pnode_name": name,
        "pnode_type": kind,
        "pnode_subtype": sub,
        "zone": "PSEG",
        "voltage_level": None,
        "effective_date": f"{eff}T00:00:00",
        "termination_date": f"{term}T00:00:00",
    }


def test_repeated_overlapping_and_one_day_windows() -> None:
    items = [
        _node(7, "2020-01-01", "2021-06-01"),
        _node(7, "2020-01-01", "2021-06-01"),  # the same window twice (two pages)
        _node(7, "2021-03-01", "9999-12-31", name="N2"),  # starts before the first ends
        _node(8, "2022-05-05", "2022-05-05"),  # created and retired the same day
    ]
    table = PNODE.parse([raw(page(items))])
    rows = [
        (r["location"], r["effective_date"], r["termination_date"], r["name"])
        for r in table.to_pylist()
    ]
    assert rows == [
        ("7", date(2020, 1, 1), date(2021, 3, 1), "N"),
        ("7", date(2021, 3, 1), None, "N2"),
        ("8", date(2022, 5, 5), date(2022, 5, 6), "N"),
    ]


def test_csv_export() -> None:
    body = (
        b"pnode_id,pnode_name,pnode_type,pnode_subtype,zone,voltage_level,effective_date,"
        b"termination_date\n"
        b"51288,WESTERN HUB,HUB,HUB,,,4/1/1998 12:00:00 AM,12/31/9999 12:00:00 AM\n"
        b"1269364670,RETIREDGEN 13 KV UNIT1,BUS,GEN,DOM,13 KV,6/1/2012 12:00:00 AM,"
        b"12/15/2025 12:00:00 AM\n"
    )
    rows = {r["location"]: r for r in PNODE.parse([raw(body, "text/csv")]).to_pylist()}
    assert rows["51288"]["termination_date"] is None and rows["51288"]["zone"] is None
    assert rows["51288"]["location_type"] == "HUB"
    assert rows["1269364670"]["termination_date"] == date(2025, 12, 15)
    assert rows["1269364670"]["location_type"] == "GENERATOR"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda items: [i.pop("effective_date") for i in items], "missing column"),
        (lambda items: items[0].update(owner="X"), "unknown column"),
        (lambda items: items[2].update(effective_date="sometime"), "effective_date"),
        (lambda items: items[2].update(pnode_id=None), "pnode_id"),
    ],
    ids=["missing", "unknown", "bad-date", "no-id"],
)
def test_bad_directory_pages(change, message: str) -> None:
    items = fixture_items()
    change(items)
    with pytest.raises(PayloadError, match=message) as err:
        PNODE.parse([raw(page(items))])
    assert err.value.dataset == "pjm.pnode"


def test_html_instead_of_the_directory() -> None:
    with pytest.raises(PayloadError, match="HTML"):
        PNODE.parse([raw(b"<html><body>Access denied</body></html>")])
