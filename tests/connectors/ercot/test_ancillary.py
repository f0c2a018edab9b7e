"""NP4-188-CD (DAM AS clearing prices) and NP3-911-ER (2-day AS disclosure): DST days with
exact hour counts, every value against the CSV text, every file of the zip accounted
for, bad payloads, the archive fetch on recorded bytes, gridstatus on the same bytes."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from carbon254.connectors.dataset import Window
from carbon254.connectors.ercot import ancillary
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse
from carbon254.connectors.registry import get_dataset
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso, Market, Product

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ercot"
MCPC = ancillary.MCPC_NAME
TWO_DAY = ancillary.TWO_DAY_NAME
DST_END_ZIP = (
    "api_archive_np3-911-er_doc1049861718_2_Day_AS_Disclosure_20241105_opday_20241103_dst_end.zip"
)
NORMAL_ZIP = "api_archive_np3-911-er_doc1045038225_2_Day_AS_Disclosure_20241018_opday_20241016.zip"
TYPES = ("ECRS", "NSPIN", "REGDN", "REGUP", "RRS")


def raw_of(dataset: str, content: bytes, *, url: str = "mis://doc", meta=None) -> RawResponse:
    return RawResponse(dataset, url, datetime.now(UTC), content, "application/zip", 200, meta or {})


def zipped(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# =========================================================================== NP4-188-CD


def mcpc(name: str) -> pa.Table:
    content = zipped({"DAMCPCNP4188.csv": (FIXTURES / name).read_bytes()})
    return ancillary.parse_mcpc(MCPC, [raw_of(MCPC, content)])


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("name", "day", "hours"),
    [
        ("as_np4188_20240310_dst_start.csv", date(2024, 3, 10), 23),
        ("as_np4188_20241016.csv", date(2024, 10, 16), 24),
        ("as_np4188_20241103_dst_end.csv", date(2024, 11, 3), 25),
    ],
)
def test_mcpc_hours_per_type_on_dst_days(name, day, hours):
    table = mcpc(name)
    assert table.num_rows == hours * 5
    start, end = market_day(Iso.ERCOT, day)
    for kind in TYPES:
        rows = table.filter(pc.equal(table.column("instrument"), f"ERCOT.DA.{kind}.SYSTEM"))
        starts = sorted(rows.column("interval_start").to_pylist())
        assert len(starts) == hours
        assert starts[0] == start and starts[-1] == end - timedelta(hours=1)
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(starts))


@pytest.mark.parametrize(
    "name",
    ["as_np4188_20240310_dst_start.csv", "as_np4188_20241103_dst_end.csv"],
)
def test_mcpc_values_match_the_csv_text(name):
    table = mcpc(name)
    ours = {
        (r["instrument"], r["interval_start"]): r["value"]
        for r in table.select(["instrument", "interval_start", "value"]).to_pylist()
    }
    fall = name.endswith("dst_end.csv")
    for row in csv_rows((FIXTURES / name).read_text()):
        he = int(row["HourEnding"][:2])
        if fall:  # 2024-11-03: 05:00Z + elapsed hours; HE02 Y is the third hour
            elapsed = he - 1 + (1 if he > 2 or row["DSTFlag"] == "Y" else 0)
            start = utc(2024, 11, 3, 5) + timedelta(hours=elapsed)
        else:  # 2024-03-10: "03:00" is the second hour (01:00 CST-03:00 CDT)
            elapsed = he - 1 - (1 if he >= 3 else 0)
            start = utc(2024, 3, 10, 6) + timedelta(hours=elapsed)
        key = (f"ERCOT.DA.{row['AncillaryType']}.SYSTEM", start)
        assert ours[key] == float(row["MCPC"])


def test_mcpc_repeated_hour_has_its_own_price():
    table = mcpc("as_np4188_20241103_dst_end.csv")
    regup = table.filter(pc.equal(table.column("instrument"), "ERCOT.DA.REGUP.SYSTEM"))
    values = dict(zip(regup["interval_start"].to_pylist(), regup["value"].to_pylist(), strict=True))
    assert values[utc(2024, 11, 3, 6)] == 4.5  # HE02 N: 01:00 CDT
    assert values[utc(2024, 11, 3, 7)] == 5.0  # HE02 Y: 01:00 CST


def test_mcpc_later_document_restates_the_day():
    text = (FIXTURES / "as_np4188_20241016.csv").read_text()
    restated = text.replace('"REGUP","5.25"', '"REGUP","99.5"')
    raws = [
        raw_of(MCPC, zipped({"a.csv": restated}), meta={"posted_utc": "2024-10-15T18:00:00"}),
        raw_of(MCPC, zipped({"a.csv": text}), meta={"posted_utc": "2024-10-15T12:30:00"}),
    ]
    table = ancillary.parse_mcpc(MCPC, raws)
    assert table.num_rows == 120
    regup = table.filter(pc.equal(table.column("instrument"), "ERCOT.DA.REGUP.SYSTEM"))
    assert 99.5 in regup["value"].to_pylist()


FALL = (FIXTURES / "as_np4188_20241103_dst_end.csv").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty response body"),
        (b"<html><head><title>ERCOT</title></head></html>", "HTML page"),
        (zipped({"a.csv": FALL})[:100], "truncated or corrupt zip"),
        (zipped({"a.csv": FALL.replace('"REGUP"', '"REGUP2"', 1)}), "unknown AncillaryType"),
        (zipped({"a.csv": FALL.replace(',"DSTFlag"', "", 1)}), "unreadable CSV|missing"),
        (zipped({"a.csv": FALL.replace('"11/03/2024"', '"2024-11-03"', 1)}), "MM/DD/YYYY"),
        (zipped({"a.csv": FALL.replace('"01:00"', '"01:30"', 1)}), "minutes"),
        (
            zipped(
                {"a.csv": FALL.replace('"05:00","ECRS","2.25","N"', '"05:00","ECRS","2.25","Y"')}
            ),
            "not a repeated hour",
        ),
        (zipped({"a.csv": FALL + '"11/03/2024","05:00","ECRS","3","N"\r\n'}), "appears twice"),
    ],
)
def test_mcpc_bad_payloads(content, message):
    with pytest.raises(PayloadError, match=message) as info:
        ancillary.parse_mcpc(MCPC, [raw_of(MCPC, content)])
    assert info.value.dataset == MCPC


def test_mcpc_dataset_declarations():
    dataset = ancillary.Np4188Mcpc()
    assert {product for _, product in dataset.produces} == {
        Product.REGUP,
        Product.REGDN,
        Product.RRS,
        Product.NSPIN,
        Product.ECRS,
    }
    assert {market for market, _ in dataset.produces} == {Market.DA}
    assert dataset.parse([raw_of(MCPC, zipped({"a.csv": FALL}))]).num_rows == 125


@pytest.mark.parametrize(
    "name",
    [
        "as_np4188_20240310_dst_start.csv",
        "as_np4188_20241016.csv",
        "as_np4188_20241103_dst_end.csv",
    ],
)
def test_mcpc_agrees_with_gridstatus(name):
    gridstatus = pytest.importorskip("gridstatus")
    iso = gridstatus.Ercot()
    theirs = iso._finalize_as_price_df(
        iso.parse_doc(pd.read_csv(FIXTURES / name)), pivot=True
    ).set_index("Interval Start")
    table = mcpc(name)
    columns = {
        "NSPIN": "Non-Spinning Reserves",
        "REGDN": "Regulation Down",
        "REGUP": "Regulation Up",
        "RRS": "Responsive Reserves",
        "ECRS": "ERCOT Contingency Reserve Service",
    }
    for kind, column in columns.items():
        rows = table.filter(pc.equal(table.column("instrument"), f"ERCOT.DA.{kind}.SYSTEM"))
        ours = pd.Series(
            rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["interval_start"].to_pandas())
        ).sort_index()
        other = theirs[column]
        other.index = other.index.tz_convert("UTC")
        other = other.sort_index()
        assert (ours.index == other.index).all()
        assert np.allclose(ours.to_numpy(), other.to_numpy(), atol=0.005)


def test_both_datasets_are_registered():
    assert isinstance(get_dataset(MCPC), ancillary.Np4188Mcpc)
    assert isinstance(get_dataset(TWO_DAY), ancillary.Np3911TwoDayAs)


# =========================================================================== NP3-911-ER


@pytest.fixture(scope="module")
def recorded(request) -> dict[str, bytes]:
    shared = request.getfixturevalue("shared_data")
    root = shared / "iso" / "ercot"
    return {name: (root / name).read_bytes() for name in (DST_END_ZIP, NORMAL_ZIP)}


def disclosure(content: bytes) -> ancillary.TwoDayAs:
    return ancillary.read_two_day_as(TWO_DAY, [raw_of(TWO_DAY, content)])


def members(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.mark.parametrize(("zip_name", "day", "hours"), [(DST_END_ZIP, 3, 25), (NORMAL_ZIP, 16, 24)])
def test_two_day_as_hours_per_type(recorded, zip_name, day, hours):
    result = disclosure(recorded[zip_name])
    start, end = market_day(Iso.ERCOT, date(2024, 11 if day == 3 else 10, day))
    for table, types in (
        (
            result.cleared,
            {"REGUP", "REGDN", "RRSPFR", "RRSUFR", "RRSFFR", "ECRSM", "ECRSS", "NSPIN"},
        ),
        (
            result.self_arranged,
            {"REGUP", "REGDN", "RRSPFR", "RRSUFR", "RRSFFR", "ECRSM", "ECRSS", "NSPIN", "NSPNM"},
        ),
    ):
        assert set(table.column("as_type").to_pylist()) == types
        for as_type in types:
            rows = table.filter(pc.equal(table.column("as_type"), as_type))
            starts = sorted(rows["interval_start"].to_pylist())
            assert len(starts) == hours
            assert starts[0] == start and starts[-1] + timedelta(hours=1) == end
            assert len(set(starts)) == hours
    offer_types = set(result.offers.column("as_type").to_pylist())
    assert offer_types == {
        "REGUP",
        "REGDN",
        "RRSPFR",
        "RRSUFR",
        "RRSFFR",
        "ECRSM",
        "ECRSS",
        "ONNS",
        "OFFNS",
    }


@pytest.mark.parametrize("zip_name", [DST_END_ZIP, NORMAL_ZIP])
def test_every_file_and_value_matches_the_csv_text(recorded, zip_name):
    content = recorded[zip_name]
    result = disclosure(content)
    files = members(content)
    assert len(files) == 26
    counted = {"cleared": 0, "self_arranged": 0, "offers": 0}
    for name, text in files.items():
        kind = (
            "cleared" if "_Cleared_" in name else "offers" if "_Agg_" in name else "self_arranged"
        )
        as_type = name.split("_")[-1].split("-")[0]
        rows = list(csv.reader(io.StringIO(text)))[1:]
        table = getattr(result, kind).filter(pc.equal(getattr(result, kind)["as_type"], as_type))
        assert table.num_rows == len(rows), name
        counted[kind] += table.num_rows
        midnight = market_day(Iso.ERCOT, datetime.strptime(rows[0][0], "%m/%d/%Y").date())[0]
        ours = table.to_pylist()
        for row, mine in zip(rows, ours, strict=True):  # file order is kept
            assert mine["interval_start"] == midnight + timedelta(hours=int(row[1]) - 1)
            if kind == "offers":
                assert (mine["mw_offered"], mine["price"]) == (float(row[2]), float(row[3]))
            else:
                assert mine["mw"] == float(row[2])
    assert counted["cleared"] == result.cleared.num_rows
    assert counted["self_arranged"] == result.self_arranged.num_rows
    assert counted["offers"] == result.offers.num_rows


def test_spot_values_of_the_dst_end_day(recorded):
    result = disclosure(recorded[DST_END_ZIP])
    he25 = utc(2024, 11, 4, 5)  # hour 25 = 23:00-24:00 CST

    def mw(table, as_type, start):
        rows = table.filter(
            pc.and_(pc.equal(table["as_type"], as_type), pc.equal(table["interval_start"], start))
        )
        return rows["mw"].to_pylist()

    assert mw(result.cleared, "RRSPFR", he25) == [1400.6]
    assert mw(result.self_arranged, "RRSPFR", he25) == [-10.0]
    assert mw(result.cleared, "REGDN", utc(2024, 11, 3, 5)) == [296.0]
    assert mw(result.self_arranged, "NSPIN", he25) == [88.6]
    first = result.offers.filter(pc.equal(result.offers["as_type"], "OFFNS")).slice(0, 1)
    assert first.to_pylist()[0]["mw_offered"] == 338.0
    assert first.to_pylist()[0]["price"] == 0.01


def test_quantities_table_is_what_the_dataset_parses(recorded):
    dataset = ancillary.Np3911TwoDayAs()
    table = dataset.parse([raw_of(TWO_DAY, recorded[DST_END_ZIP])])
    assert table.schema == ancillary.QUANTITY_SCHEMA
    assert table.num_rows == 25 * (8 + 9)
    assert set(table["dataset"].to_pylist()) == {TWO_DAY}
    assert set(table["iso"].to_pylist()) == {"ERCOT"}
    assert "cleared.REGUP" in table["series"].to_pylist()
    assert "self_arranged.NSPNM" in table["series"].to_pylist()
    keys = list(zip(table["series"].to_pylist(), table["interval_start"].to_pylist(), strict=True))
    assert len(set(keys)) == len(keys)


def with_member(content: bytes, name: str, text: str) -> bytes:
    files = members(content)
    files[name] = text
    return zipped(files)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("2d_Mystery_AS_REGUP-05-NOV-24.csv", "unknown file"),
        ("2d_Cleared_DAM_AS_NEWAS-05-NOV-24.csv", "unknown file"),
        ("readme.csv", "unknown file"),
    ],
)
def test_unknown_member_is_an_error(recorded, name, message):
    content = with_member(recorded[DST_END_ZIP], name, "Delivery Date,Hour Ending,X\n")
    with pytest.raises(PayloadError, match=message) as info:
        disclosure(content)
    assert info.value.dataset == TWO_DAY


def test_member_problems(recorded):
    content = recorded[DST_END_ZIP]
    files = members(content)
    cleared = "2d_Cleared_DAM_AS_REGUP-05-NOV-24.csv"
    broken = dict(files)
    broken[cleared] = files[cleared].replace("Total Cleared AS - RegUp", "Total Cleared AS - RegUP")
    with pytest.raises(PayloadError, match=r"missing column.*RegUp"):
        disclosure(zipped(broken))
    broken = dict(files)
    broken[cleared] = files[cleared] + "11/03/2024,26,5\n"
    with pytest.raises(PayloadError, match=r"hour 26|out of range"):
        disclosure(zipped(broken))
    broken = dict(files)
    broken[cleared] = files[cleared] + "11/03/2024,25,5\n"
    with pytest.raises(PayloadError, match="appears twice"):
        disclosure(zipped(broken))
    nested = zipped({"a.zip": content, "b.zip": content})
    with pytest.raises(PayloadError, match="appears twice"):
        disclosure(nested)


def test_spring_forward_day_has_23_hours_and_hour_24_is_an_error():
    rows = "".join(f"03/10/2024,{h},{h * 10}\n" for h in range(1, 24))
    header = "Delivery Date,Hour Ending,Total Cleared AS - RegUp\n"
    content = zipped({"2d_Cleared_DAM_AS_REGUP-12-MAR-24.csv": header + rows})
    result = disclosure(content)
    starts = result.cleared["interval_start"].to_pylist()
    assert len(starts) == len(set(starts)) == 23
    assert starts[1] == utc(2024, 3, 10, 7) and starts[2] == utc(2024, 3, 10, 8)
    late = zipped({"2d_Cleared_DAM_AS_REGUP-12-MAR-24.csv": header + rows + "03/10/2024,24,1\n"})
    with pytest.raises(PayloadError, match="hour 24 on 2024-03-10, a day of 23 hours"):
        disclosure(late)


def test_empty_offer_file_is_no_rows_and_no_cleared_file_is_an_error():
    header = "Delivery Date,Hour Ending,MW Offered,ONNS Offer Price\n"
    cleared = "Delivery Date,Hour Ending,Total Cleared AS - NonSpin\n10/16/2024,1,5\n"
    result = disclosure(
        zipped(
            {
                "2d_Agg_AS_Offers_ONNS-18-OCT-24.csv": header,
                "2d_Cleared_DAM_AS_NSPIN-18-OCT-24.csv": cleared,
            }
        )
    )
    assert result.offers.num_rows == 0 and result.cleared.num_rows == 1
    with pytest.raises(PayloadError, match="no cleared or self-arranged"):
        disclosure(zipped({"2d_Agg_AS_Offers_ONNS-18-OCT-24.csv": header + "10/16/2024,1,5,1\n"}))


def test_archive_fetch_on_recorded_bytes(recorded, request, monkeypatch):
    shared = request.getfixturevalue("shared_data")
    listing = shared / "iso" / "ercot" / "api_archive_np3-911-er_listing_posted_2024-11-05.json"
    monkeypatch.setenv("ERCOT_API_USERNAME", "user@example.com")
    monkeypatch.setenv("ERCOT_API_PASSWORD", "not-a-real-password")
    monkeypatch.setenv("ERCOT_API_SUBSCRIPTION_KEY", "not-a-real-key")
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.method == "POST":
            return httpx.Response(200, json={"id_token": "token", "expires_in": "3600"})
        assert request.url.path == "/api/public-reports/archive/np3-911-er"
        if "download" in request.url.params:
            assert request.url.params["download"] == "1049861718"
            return httpx.Response(
                200, content=recorded[DST_END_ZIP], headers={"content-type": "application/zip"}
            )
        assert request.url.params["postDatetimeFrom"].startswith("2024-11-0")
        return httpx.Response(200, content=listing.read_bytes())

    dataset = ancillary.Np3911TwoDayAs()
    start, end = market_day(Iso.ERCOT, date(2024, 11, 3))
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(answer))) as http:
        raws = dataset.fetch(http, Window(start, end, archived=True))
    assert len(raws) == 1 and raws[0].meta["doc_id"] == "1049861718"
    assert all("not-a-real" not in str(url) for url in seen)
    table = dataset.parse(raws)
    assert table.num_rows == 25 * 17


@pytest.mark.parametrize("zip_name", [DST_END_ZIP, NORMAL_ZIP])
def test_two_day_as_agrees_with_gridstatus(recorded, monkeypatch, zip_name):
    gridstatus = pytest.importorskip("gridstatus")
    content = recorded[zip_name]
    monkeypatch.setattr(
        gridstatus.utils, "get_zip_folder", lambda *a, **k: zipfile.ZipFile(io.BytesIO(content))
    )
    theirs = gridstatus.Ercot()._handle_as_reports_file("recorded.zip")
    theirs = theirs.set_index(theirs["Interval Start"].dt.tz_convert("UTC")).sort_index()
    result = disclosure(content)
    labels = {"REGUP": "RegUp", "REGDN": "RegDown", "NSPIN": "NonSpin"}
    for kind, table, prefix in (
        ("cleared", result.cleared, "Total Cleared AS - "),
        ("self_arranged", result.self_arranged, "Total Self-Arranged AS - "),
    ):
        for as_type in set(table["as_type"].to_pylist()):
            column = prefix + labels.get(as_type, as_type)
            if column not in theirs:
                continue  # gridstatus skips NSPNM cleared; we never read it either
            rows = table.filter(pc.equal(table["as_type"], as_type))
            ours = pd.Series(
                rows["mw"].to_numpy(), index=pd.DatetimeIndex(rows["interval_start"].to_pandas())
            ).sort_index()
            assert (ours.index == theirs.index).all(), (kind, as_type)
            assert np.allclose(ours.to_numpy(), theirs[column].to_numpy(), atol=0.005)
    for as_type in set(result.offers["as_type"].to_pylist()):
        rows = result.offers.filter(pc.equal(result.offers["as_type"], as_type)).to_pandas()
        rows["interval_start"] = rows["interval_start"].dt.tz_convert("UTC")
        curves = rows.groupby("interval_start")[["mw_offered", "price"]].apply(
            lambda g: [
                [float(m), float(p)] for m, p in zip(g["mw_offered"], g["price"], strict=True)
            ]
        )
        other = theirs[f"Bid Curve - {as_type}"]
        for start, curve in curves.items():
            assert np.allclose(np.array(curve), np.array(other[start]), atol=0.005)


def test_mcpc_fetch_takes_the_document_posted_the_day_before():
    days = {"1001": ("20241102.123005", FALL), "1002": ("20241103.123011", "unused")}
    listing = {
        "ListDocsByRptTypeRes": {
            "DocumentList": [
                {
                    "Document": {
                        "DocID": doc_id,
                        "FriendlyName": "DAMCPCNP4188_csv",
                        "ConstructedName": f"cdr.00012329.{'0' * 16}.{posted}.DAMCPCNP4188.zip",
                        "PublishDate": "2024-11-02T12:30:05-05:00",
                    }
                }
                for doc_id, (posted, _) in days.items()
            ]
        }
    }

    def answer(request: httpx.Request) -> httpx.Response:
        if "IceDocListJsonWS" in request.url.path:
            assert request.url.params["reportTypeId"] == "12329"
            return httpx.Response(200, json=listing)
        text = days[request.url.params["doclookupId"]][1]
        return httpx.Response(200, content=zipped({"DAMCPCNP4188.csv": text}))

    dataset = ancillary.Np4188Mcpc()
    start, end = market_day(Iso.ERCOT, date(2024, 11, 3))
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(answer))) as http:
        raws = dataset.fetch(http, Window(start, end))
    assert [raw.meta["doc_id"] for raw in raws] == ["1001"]
    assert dataset.parse(raws).num_rows == 125
