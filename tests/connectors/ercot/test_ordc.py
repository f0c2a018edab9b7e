"""NP6-323-CD: ORDC / reliability deployment adders by SCED run; schemas by date, DST
days with exact interval counts, last run wins, bad payloads, fetch, gridstatus."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

from carbon254.connectors.dataset import Window
from carbon254.connectors.ercot import ordc
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse
from carbon254.connectors.registry import get_dataset
from carbon254.core.intervals import interval_starts, market_day
from carbon254.core.markets import Iso, Market, Product

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ercot"
NAME = ordc.NAME
_spec = importlib.util.spec_from_file_location("ordc_make", FIXTURES / "ordc_make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

RTORPA = "ERCOT.RT5.RTORPA.SYSTEM"
RTORDPA = "ERCOT.RT5.RTORDPA.SYSTEM"
RTCB_IDS = [f"ERCOT.RT5.{p}.SYSTEM" for p in ordc.RTCB.products]


def raw_of(content: bytes, *, url: str = "mis://doc", meta: dict | None = None) -> RawResponse:
    return RawResponse(NAME, url, datetime.now(UTC), content, "application/zip", 200, meta or {})


def zipped(text: str | bytes, name: str = "adders.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


def day_documents(day: date, columns: list[str], offsets=(13, 200)) -> list[RawResponse]:
    """One document per SCED run over the local day, `len(offsets)` runs per interval."""
    start, end = market_day(Iso.ERCOT, day)
    runs = make.day_runs(start, end, offsets)
    return [raw_of(make.document(columns, run), url=f"mis://{i}") for i, run in enumerate(runs)]


# ----------------------------------------------------------------------- one-run fixtures


def test_legacy_fixture_gives_rtorpa_and_rtordpa():
    content = zipped((FIXTURES / "ordc_legacy_20241103_0105.csv").read_bytes())
    table = ordc.parse_adders(NAME, [raw_of(content)])
    rows = {r["instrument"]: r for r in table.to_pylist()}
    assert set(rows) == {RTORPA, RTORDPA}
    # 01:05:13 CDT (first pass of the repeated hour) = 06:05:13Z, in the 06:05 interval
    assert rows[RTORPA]["interval_start"] == datetime(2024, 11, 3, 6, 5, tzinfo=UTC)
    assert rows[RTORPA]["interval_end"] == datetime(2024, 11, 3, 6, 10, tzinfo=UTC)
    assert rows[RTORPA]["value"] == pytest.approx(3.6522)  # the CSV text
    assert rows[RTORDPA]["value"] == pytest.approx(4.6522)
    assert rows[RTORPA]["energy"] is None


def test_rtcb_fixture_gives_the_six_reliability_deployment_adders():
    content = zipped((FIXTURES / "ordc_rtcb_20251205_0005.csv").read_bytes())
    table = ordc.parse_adders(NAME, [raw_of(content)])
    ids, prices = table.column("instrument").to_pylist(), table.column("value").to_pylist()
    values = dict(zip(ids, prices, strict=True))
    assert sorted(values) == sorted(RTCB_IDS)
    assert values["ERCOT.RT5.RTRDPA.SYSTEM"] == pytest.approx(5.652)
    assert values["ERCOT.RT5.RTRDPANSS.SYSTEM"] == pytest.approx(10.652)
    assert set(table.column("interval_start").to_pylist()) == {
        datetime(2025, 12, 5, 6, 5, tzinfo=UTC)  # 00:05:12 CST
    }


def test_schema_is_chosen_by_date_of_the_runs():
    assert ordc.schema_for(date(2025, 12, 4)) is ordc.LEGACY
    assert ordc.schema_for(date(2025, 12, 5)) is ordc.RTCB
    last_legacy = datetime(2025, 12, 5, 5, 59, 50, tzinfo=UTC)  # 23:59:50 CST on Dec 4
    first_rtcb = datetime(2025, 12, 5, 6, 0, 10, tzinfo=UTC)
    table = ordc.parse_adders(
        NAME,
        [
            raw_of(make.document(make.LEGACY, last_legacy)),
            raw_of(make.document(make.RTCB, first_rtcb)),
        ],
    )
    assert table.num_rows == 2 + 6


@pytest.mark.parametrize(
    ("columns", "run", "expected"),
    [
        (make.LEGACY, datetime(2025, 12, 5, 6, 5, 12, tzinfo=UTC), "need the RTC\\+B schema"),
        (make.RTCB, datetime(2024, 11, 3, 6, 5, 13, tzinfo=UTC), "need the pre-RTC\\+B schema"),
    ],
)
def test_header_that_does_not_match_the_date_names_the_expected_schema(columns, run, expected):
    with pytest.raises(PayloadError, match=expected) as info:
        ordc.parse_adders(NAME, [raw_of(make.document(columns, run))])
    assert info.value.dataset == NAME


def test_one_file_across_go_live_is_an_error():
    runs = [datetime(2025, 12, 5, 5, 59, tzinfo=UTC), datetime(2025, 12, 5, 6, 1, tzinfo=UTC)]
    content = zipped(make.csv_text(make.LEGACY, runs))
    with pytest.raises(PayloadError, match="both sides of RTC\\+B go-live"):
        ordc.parse_adders(NAME, [raw_of(content)])


# ----------------------------------------------------------------------- DST day counts


@pytest.mark.parametrize(
    ("day", "columns", "intervals"),
    [
        (date(2024, 3, 10), make.LEGACY, 276),
        (date(2024, 10, 16), make.LEGACY, 288),
        (date(2024, 11, 3), make.LEGACY, 300),
        (date(2025, 12, 5), make.RTCB, 288),
        (date(2026, 3, 8), make.RTCB, 276),
        (date(2026, 11, 1), make.RTCB, 300),
    ],
)
def test_full_day_has_exact_interval_count_and_last_run_wins(day, columns, intervals):
    raws = day_documents(day, columns)
    assert len(raws) == 2 * intervals  # two SCED runs per interval
    table = ordc.parse_adders(NAME, raws)
    products = ordc.schema_for(day).products
    assert table.num_rows == intervals * len(products)
    expected = interval_starts(Iso.ERCOT, day, timedelta(minutes=5))
    for product in products:
        rows = table.filter(pc.equal(table.column("instrument"), f"ERCOT.RT5.{product}.SYSTEM"))
        starts = pd.DatetimeIndex(rows.column("interval_start").to_pandas())
        assert (starts.sort_values() == expected).all()
        # the value encodes the run time: the later run (200 s after the interval start)
        minutes = (starts.hour * 60 + starts.minute + 200 / 60).to_numpy()
        index = make.PRICED.index(str(product))
        assert np.allclose(rows.column("value").to_numpy(), np.round(index + minutes / 100, 4))


def test_repeated_hour_runs_are_distinct_intervals():
    raws = day_documents(date(2024, 11, 3), make.LEGACY, offsets=(13,))
    table = ordc.parse_adders(NAME, raws)
    rtorpa = table.filter(pc.equal(table.column("instrument"), RTORPA))
    local = pd.DatetimeIndex(rtorpa.column("interval_start").to_pandas()).tz_convert(
        "America/Chicago"
    )
    one_am = local[(local.hour == 1)]
    assert len(one_am) == 24  # 12 intervals in each pass of 01:00-02:00
    assert len(set(one_am.tz_convert("UTC"))) == 24


def test_later_document_wins_a_tie_on_the_same_run():
    run = datetime(2024, 10, 16, 15, 0, 13, tzinfo=UTC)
    original = make.csv_text(make.LEGACY, [run])
    header, row = original.strip().split("\r\n")
    fields = row.split(",")
    fields[make.LEGACY.index("RTORPA")] = '"7.77"'
    restated = header + "\r\n" + ",".join(fields) + "\r\n"
    raws = [
        raw_of(zipped(original), meta={"posted_utc": "2024-10-16T15:01:00+00:00", "doc_id": "1"}),
        raw_of(zipped(restated), meta={"posted_utc": "2024-10-16T15:02:00+00:00", "doc_id": "2"}),
    ]
    for order in (raws, raws[::-1]):
        table = ordc.parse_adders(NAME, order)
        value = table.filter(pc.equal(table.column("instrument"), RTORPA))["value"][0].as_py()
        assert value == pytest.approx(7.77)


# ----------------------------------------------------------------------- bad payloads


RUN = datetime(2024, 11, 3, 6, 5, 13, tzinfo=UTC)


def legacy_text() -> str:
    return (FIXTURES / "ordc_legacy_20241103_0105.csv").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty response body"),
        (b"<!DOCTYPE html><html><title>Maintenance</title></html>", "HTML page"),
        (zipped(legacy_text())[:60], "truncated or corrupt zip"),
        (zipped(make.csv_text([*make.LEGACY, "NEWCOL"], [RUN])), "unknown column.*NEWCOL"),
        (zipped(make.csv_text([c for c in make.LEGACY if c != "PRC"], [RUN])), "missing.*PRC"),
        (zipped(legacy_text().replace("11/03/2024 01:05:13", "2024-13-45 99:00")), "unparseable"),
        (zipped(legacy_text().replace('"N"', '"?"', 1)), "RepeatedHourFlag must be Y or N"),
        (zipped(legacy_text().replace('"3.6522"', '""', 1)), "RTORPA is empty"),
        (zipped(legacy_text().replace('"3.6522"', '"high"', 1)), "RTORPA .* not numeric"),
    ],
)
def test_bad_payloads_raise_payload_error_naming_the_dataset(content, message):
    with pytest.raises(PayloadError, match=message) as info:
        ordc.parse_adders(NAME, [raw_of(content)])
    assert info.value.dataset == NAME


def test_header_only_file_is_no_rows_and_a_wrong_header_is_an_error():
    header = legacy_text().splitlines()[0] + "\r\n"
    assert ordc.parse_adders(NAME, [raw_of(zipped(header))]).num_rows == 0
    odd = '"SCEDTimestamp","RepeatedHourFlag","SystemLambda"\r\n'
    with pytest.raises(PayloadError, match="neither NP6-323 schema"):
        ordc.parse_adders(NAME, [raw_of(zipped(odd))])


# ----------------------------------------------------------------------- dataset and fetch


def test_registered_dataset_declarations():
    dataset = get_dataset(NAME)
    assert isinstance(dataset, ordc.Np6323Adders)
    assert (Market.RT5, Product.RTORPA) in dataset.produces
    assert (Market.RT5, Product.RTRDPAECRS) in dataset.produces
    assert dataset.target == "prices"


def test_fetch_selects_the_windows_runs_from_mis_and_parses_them():
    day = date(2024, 11, 3)
    runs = [
        datetime(2024, 11, 3, 6, 5, 13, tzinfo=UTC),  # 01:05:13 CDT
        datetime(2024, 11, 3, 7, 5, 13, tzinfo=UTC),  # 01:05:13 CST (xhr)
        datetime(2024, 11, 4, 6, 5, 13, tzinfo=UTC),  # next day: not in the window
    ]
    docs, bodies = [], {}
    for number, run in enumerate(runs, start=1):
        local = run.astimezone(make.CENTRAL)
        xhr = "xhr" if local.utcoffset() == timedelta(hours=-6) and local.hour == 1 else ""
        friendly = f"RTSCEDpriceAdderNP6323_{local:%Y%m%d_%H%M%S}{xhr}_csv"
        docs.append(
            {
                "Document": {
                    "DocID": str(1000 + number),
                    "FriendlyName": friendly,
                    "ConstructedName": f"cdr.00013221.0000000000000000.{local:%Y%m%d.%H%M%S}"
                    f"000.{friendly}.zip",
                    "PublishDate": f"{local:%Y-%m-%dT%H:%M:%S}-06:00",
                }
            }
        )
        bodies[str(1000 + number)] = make.document(make.LEGACY, run)
    listing = json.dumps({"ListDocsByRptTypeRes": {"DocumentList": docs}}).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        if "IceDocListJsonWS" in request.url.path:
            assert request.url.params["reportTypeId"] == "13221"
            return httpx.Response(
                200, content=listing, headers={"content-type": "application/json"}
            )
        body = bodies[request.url.params["doclookupId"]]
        return httpx.Response(200, content=body, headers={"content-type": "application/zip"})

    dataset = ordc.Np6323Adders()
    start, end = market_day(Iso.ERCOT, day)
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(answer))) as http:
        raws = dataset.fetch(http, Window(start, end))
    assert len(raws) == 2
    table = dataset.parse(raws)
    assert sorted(set(table.column("interval_start").to_pylist())) == [
        datetime(2024, 11, 3, 6, 5, tzinfo=UTC),
        datetime(2024, 11, 3, 7, 5, tzinfo=UTC),
    ]


# ----------------------------------------------------------------------- gridstatus


@pytest.mark.parametrize(
    ("day", "columns", "handler"),
    [
        (date(2024, 11, 3), make.LEGACY, "_handle_real_time_adders_and_reserves_docs"),
        (date(2026, 3, 8), make.RTCB, "_handle_real_time_adders"),
    ],
)
def test_gridstatus_reads_the_same_bytes_alike(monkeypatch, day, columns, handler):
    gridstatus = pytest.importorskip("gridstatus")
    from gridstatus.ercot import Document

    raws = day_documents(day, columns, offsets=(13,))
    by_url = {raw.url: raw.content for raw in raws}

    def read_doc(self, doc, parse=True, verbose=False, **kwargs):
        return pd.read_csv(io.BytesIO(by_url[doc.url]), compression="zip")

    monkeypatch.setattr(gridstatus.Ercot, "read_doc", read_doc)
    docs = [Document(url, pd.Timestamp("2020-01-01"), "", "", None) for url in by_url]
    theirs = getattr(gridstatus.Ercot(), handler)(docs)
    ours = ordc.parse_adders(NAME, raws)
    for product in ordc.schema_for(day).products:
        rows = ours.filter(pc.equal(ours.column("instrument"), f"ERCOT.RT5.{product}.SYSTEM"))
        mine = pd.Series(
            rows.column("value").to_numpy(),
            index=pd.DatetimeIndex(rows.column("interval_start").to_pandas()),
        ).sort_index()
        other = theirs.set_index(theirs["Interval Start"].dt.tz_convert("UTC"))[str(product)]
        other = other.sort_index()
        assert len(mine) == len(other) == len(interval_starts(Iso.ERCOT, day, timedelta(minutes=5)))
        assert (mine.index == other.index).all()
        assert np.allclose(mine.to_numpy(), other.to_numpy(), atol=0.005)
