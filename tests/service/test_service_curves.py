"""Forward curves and marks over a live server: the catalogue, a curve that reproduces a
known shape x level, formats, marks versioned like prices (as_of, revisions, idempotent
re-uploads, JSON and CSV), and every refusal as a problem, never a 500."""

from __future__ import annotations

import csv as csv_module
import io
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from fastapi import FastAPI

from carbon254.core import LOCATION_SCHEMA, Iso, market_day
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..analytics.curves.synthetic import SHAPE, history

HUB = "PJM.DA.LMP.WESTERN HUB"
NEW_HUB = "PJM.DA.LMP.EASTERN HUB"  # sixty days of history: a flat curve
WEEKEND_HUB = "PJM.DA.LMP.DOMINION HUB"  # one Sunday: no on-peak price at all
NODE = "PJM.DA.LMP.51288"
END = market_day(Iso.PJM, date(2026, 5, 1))[0]
ARROW = "application/vnd.apache.arrow.stream"


def _url(instrument: str, tail: str = "") -> str:
    return f"/api/v1/curves/{quote(instrument)}{tail}"


def _with(instrument: str, table: pa.Table) -> pa.Table:
    return table.add_column(0, "instrument", pa.array([instrument] * len(table)))


def _flat(instrument: str, start: datetime, end: datetime, value: float) -> pa.Table:
    """Hourly prices at one value, whatever the month or peak."""
    starts = pd.date_range(start, end, freq="h", inclusive="left")
    ts = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "instrument": [instrument] * len(starts),
            "interval_start": pa.array(starts, ts),
            "interval_end": pa.array(starts + pd.Timedelta(hours=1), ts),
            "value": [value] * len(starts),
        }
    )


def _level(key: int) -> float:
    """Three 12-month blocks (May-April) at $60, $30 and $40: the last one is the level."""
    return {0: 40.0, 1: 30.0, 2: 60.0}[(2026 * 12 + 3 - key) // 12]


@pytest.fixture
def curves_store(store: PriceStore) -> PriceStore:
    start = market_day(Iso.PJM, date(2023, 5, 1))[0]
    tables = [
        _with(HUB, history(Iso.PJM, start, END, _level)),
        _flat(NEW_HUB, END - timedelta(days=60), END, 25.0),
        _flat(WEEKEND_HUB, *market_day(Iso.PJM, date(2026, 4, 26)), 9.0),
        _flat(NODE, END - timedelta(days=2), END, 20.0),
    ]
    store.upsert_prices(pa.concat_tables(tables), source="test")
    directory = [
        ("WESTERN HUB", "Western Hub", "HUB"),
        ("EASTERN HUB", "Eastern Hub", "HUB"),
        ("DOMINION HUB", "Dominion Hub", "HUB"),
        ("51288", "Some Bus", "BUS"),
    ]
    store.upsert_locations(
        pa.Table.from_pylist(
            [
                {"iso": "PJM", "location": loc, "name": name, "location_type": kind,
                 "zone": None, "effective_date": date(2000, 1, 1), "termination_date": None}
                for loc, name, kind in directory
            ],
            schema=LOCATION_SCHEMA,
        )
    )  # fmt: skip
    return store


@pytest.fixture
def api(curves_store: PriceStore, live_server: Callable[[FastAPI], str]) -> Iterator[httpx.Client]:
    app = create_app(curves_store, settings=Settings(auth=False))
    with httpx.Client(base_url=live_server(app), timeout=30.0) as http:
        yield http


def _problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def test_catalogue_lists_hubs_not_nodes(api: httpx.Client):
    body = api.get("/api/v1/curves").json()
    assert body["columns"]["instrument"] == [WEEKEND_HUB, NEW_HUB, HUB]
    assert body["columns"]["name"] == ["Dominion Hub", "Eastern Hub", "Western Hub"]
    assert body["columns"]["marks"] == [0, 0, 0]
    assert api.get("/api/v1/curves", params={"iso": "ercot"}).json()["row_count"] == 0
    csv = api.get("/api/v1/curves", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    rows = list(csv_module.reader(io.StringIO(csv.text)))
    assert rows[0][:7] == ["instrument", "iso", "market", "product", "location", "name", "hub"]
    assert [r[0] for r in rows[1:]] == [WEEKEND_HUB, NEW_HUB, HUB]
    _problem(api.get("/api/v1/curves", params={"iso": "XX"}), 422)


def test_curve_reproduces_the_known_shape_times_level(api: httpx.Client):
    response = api.get(_url(HUB))
    assert response.status_code == 200, response.text
    body = response.json()
    cols = body["columns"]
    assert body["instrument"] == HUB and body["method"] == "seasonal"
    assert body["row_count"] == 48 and cols["month"][:2] == [cols["month"][0]] * 2
    now = datetime.now(UTC).astimezone(Iso.PJM.tz)
    first = date(now.year + now.month // 12, now.month % 12 + 1, 1)  # the month after now
    assert cols["month"][0] == first.isoformat() and cols["peak"][:2] == ["on", "off"]
    expected = [
        40.0 * SHAPE[date.fromisoformat(m).month - 1, 0 if p == "on" else 1]
        for m, p in zip(cols["month"], cols["peak"], strict=True)
    ]
    np.testing.assert_allclose(cols["price"], expected, rtol=1e-12)
    assert set(cols["source"]) == {"history"} and set(cols["years"]) == {3}
    assert body["history"]["end"] == "2026-05-01T04:00:00Z"
    assert body["history"]["shape_months"] == ["2023-05", "2026-04"]
    assert body["level"]["days"] == 90 and body["marks"] == {"rows": 0, "versions": []}


def test_start_months_dst_hours_and_formats(api: httpx.Client):
    params = {"start": "2027-03", "months": "9"}
    cols = api.get(_url(HUB), params=params).json()["columns"]
    totals = np.add(cols["hours"][::2], cols["hours"][1::2])
    hours = dict(zip(cols["month"][::2], totals, strict=True))
    assert hours["2027-03-01"] == 743 and hours["2027-11-01"] == 721
    assert hours["2027-07-01"] == 744
    arrow = api.get(_url(HUB), params=params, headers={"Accept": ARROW})
    assert arrow.headers["content-type"] == ARROW
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.column_names == ["month", "peak", "price", "source", "years", "hours"]
    assert table["price"].to_pylist() == cols["price"]
    assert b"seasonal" in table.schema.metadata[b"carbon254.curve"]
    csv = api.get(_url(HUB), params={**params, "format": "csv"})
    rows = list(csv_module.reader(io.StringIO(csv.text)))
    assert rows[0] == ["month", "peak", "price", "source", "years", "hours"]
    assert rows[1] == ["2027-03-01", "on", repr(cols["price"][0]), "history", "3", "368"]


def test_short_history_is_flat_and_says_so(api: httpx.Client):
    body = api.get(_url(NEW_HUB), params={"months": "3"}).json()
    assert body["method"] == "flat" and "no complete 12-month block" in body["flat_reason"]
    assert body["columns"]["price"] == [25.0] * 6 and body["columns"]["years"] == [0] * 6


def test_refusals_are_problems(api: httpx.Client):
    unknown = _problem(api.get(_url("PJM.DA.LMP.NOWHERE HUB")), 404)
    assert unknown["instruments"] == ["PJM.DA.LMP.NOWHERE HUB"]
    node = _problem(api.get(_url(NODE)), 422)
    assert node["reason"] == "not-a-hub" and "not a hub" in node["detail"]
    weekend = _problem(api.get(_url(WEEKEND_HUB)), 422)
    assert weekend["reason"] == "no-recent-prices" and "on-peak" in weekend["detail"]
    bad = _problem(api.get(_url("PJM.XX.LMP.HUB")), 422)
    assert bad["errors"][0]["param"] == "instrument"
    many = _problem(
        api.get(_url(HUB), params={"months": "61", "start": "2027-01-15", "as_of": "soon"}), 422
    )
    assert sorted(e["param"] for e in many["errors"]) == ["as_of", "months", "start"]
    for params in ({"start": "2027-13"}, {"months": "0"}, {"months": "two"}):
        _problem(api.get(_url(HUB), params=params), 422)
    past = _problem(api.get(_url(HUB), params={"start": "2020-01"}), 422)
    assert past["reason"] == "invalid-start"
    for late in ("2099-12", "9999-12"):  # the last month would fall past year 9999
        beyond = _problem(api.get(_url(HUB), params={"start": late, "months": "2"}), 422)
        assert beyond["reason"] == "invalid-start" and "2099" in beyond["detail"]
    future = _problem(api.get(_url(HUB), params={"as_of": "2099-01-01"}), 422)
    assert "future" in future["detail"]
    _problem(api.get(_url(HUB), params={"format": "xml"}), 422)
    _problem(api.get(_url(HUB), headers={"Accept": "image/png"}), 406)
    _problem(api.get(_url(HUB, "/marks"), params={"revisions": "maybe"}), 422)
    _problem(api.get(_url("PJM.DA.LMP.NOWHERE HUB", "/marks")), 404)


def _marks_body(*rows: tuple[str, str, float], source: str = "desk-x") -> dict:
    return {"marks": [{"month": m, "peak": p, "price": v} for m, p, v in rows], "source": source}


def _curve_prices(api: httpx.Client, **params: str) -> dict[tuple[str, str], tuple[float, str]]:
    cols = api.get(_url(HUB), params={"start": "2027-01", "months": "3", **params}).json()[
        "columns"
    ]
    keys = zip(cols["month"], cols["peak"], strict=True)
    return dict(zip(keys, zip(cols["price"], cols["source"], strict=True), strict=True))


def test_marks_override_the_curve_and_are_versioned(api: httpx.Client):
    first = api.post(_url(HUB, "/marks"), json=_marks_body(("2027-01", "on", 55.1),
                                                           ("2027-01", "off", 40.0)))  # fmt: skip
    assert first.status_code == 201, first.text
    v1 = first.json()
    assert (v1["version"], v1["changed"], v1["rows_inserted"], v1["source"]) == (
        1, True, 2, "desk-x"
    )  # fmt: skip
    prices = _curve_prices(api)
    assert prices[("2027-01-01", "on")] == (55.1, "mark")
    assert prices[("2027-01-01", "off")] == (40.0, "mark")
    assert prices[("2027-02-01", "on")] == (pytest.approx(40.0 * SHAPE[1, 0]), "history")

    again = api.post(_url(HUB, "/marks"), json=_marks_body(("2027-01", "on", 55.1),
                                                           ("2027-01", "off", 40.0)))  # fmt: skip
    assert again.status_code == 200
    assert (again.json()["version"], again.json()["changed"]) == (1, False)
    assert again.json()["committed_at"] == v1["committed_at"]

    time.sleep(0.01)
    between = datetime.now(UTC)
    time.sleep(0.01)
    csv = "month,peak,price\r\n2027-01,on,56.5\r\n2027-02,off,33.0\r\n"
    second = api.post(
        _url(HUB, "/marks"), content=csv, params={"source": "desk-y"},
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )  # fmt: skip
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["rows_superseded"]) == (2, 1)

    now = _curve_prices(api)
    assert now[("2027-01-01", "on")] == (56.5, "mark")
    assert now[("2027-02-01", "off")] == (33.0, "mark")
    then = _curve_prices(api, as_of=between.isoformat().replace("+00:00", "Z"))
    assert then[("2027-01-01", "on")] == (55.1, "mark")
    assert then[("2027-02-01", "off")][1] == "history"

    marks = api.get(_url(HUB, "/marks")).json()
    assert marks["columns"]["price"] == [56.5, 40.0, 33.0]
    assert marks["columns"]["version"] == [2, 1, 2]
    assert marks["columns"]["source"] == ["desk-y", "desk-x", "desk-y"]
    held = api.get(_url(HUB, "/marks"), params={"as_of": between.isoformat()}).json()
    assert held["columns"]["price"] == [55.1, 40.0]
    log = api.get(_url(HUB, "/marks"), params={"revisions": "true"}).json()["columns"]
    assert log["price"] == [55.1, 56.5, 40.0, 33.0]
    assert log["superseded_by"] == [2, None, None, None]
    catalogue = api.get("/api/v1/curves").json()["columns"]
    assert catalogue["marks"][catalogue["instrument"].index(HUB)] == 3


def test_bad_uploads_list_every_bad_row_and_write_nothing(api: httpx.Client):
    body = {
        "marks": [
            {"month": "2027-13", "peak": "on", "price": 1},
            {"month": "2027-01", "peak": "flat", "price": 1},
            {"month": "2027-02", "peak": "on", "price": "NaN"},
            {"month": "2027-03", "peak": "on", "price": 1},
            {"month": "2027-03", "peak": "on", "price": 2},
        ]
    }
    problem = _problem(api.post(_url(HUB, "/marks"), json=body), 422)
    assert [(e["row"], e["field"]) for e in problem["errors"]] == [
        (1, "month"), (2, "peak"), (3, "price"), (5, "month"),
    ]  # fmt: skip
    assert "duplicate of row 4" in problem["errors"][-1]["detail"]
    csv = "month,peak,price\n2027-01,on\n2027-02,off,1e999\n"
    rows = _problem(
        api.post(_url(HUB, "/marks"), content=csv, headers={"Content-Type": "text/csv"}), 422
    )["errors"]
    assert [(e["row"], e["field"]) for e in rows] == [(1, None), (2, "price")]
    for content, kind in (
        ("month,price\n2027-01,1\n", "text/csv"),
        ("{not json", "application/json"),
        ('{"marks": []}', "application/json"),
        ('{"marks": {}}', "application/json"),
        ('{"marks": [], "extra": 1}', "application/json"),
        ('{"marks": [{"month": "2027-01", "peak": "on", "price": 1}], "source": 7}',
         "application/json"),
    ):  # fmt: skip
        _problem(
            api.post(_url(HUB, "/marks"), content=content, headers={"Content-Type": kind}), 422
        )
    _problem(api.post(_url(HUB, "/marks"), content=b"x", headers={"Content-Type": "text/xml"}), 415)
    good = _marks_body(("2027-01", "on", 1.0))
    _problem(api.post(_url("PJM.DA.LMP.NOWHERE HUB", "/marks"), json=good), 404)
    assert _problem(api.post(_url(NODE, "/marks"), json=good), 422)["reason"] == "not-a-hub"
    _problem(api.post(_url("PJM.XX.LMP.HUB", "/marks"), json=good), 422)
    assert api.get(_url(HUB, "/marks"), params={"revisions": "true"}).json()["row_count"] == 0


def test_an_upload_waiting_for_the_writer_does_not_stall_the_server(
    api: httpx.Client, curves_store: PriceStore
):
    """The store call of an upload blocks while ingestion holds the writer (PostgreSQL:
    the advisory lock, for a whole batch); it must wait on a worker thread, not on the
    event loop that every other request needs."""
    body = _marks_body(("2027-01", "on", 51.0))
    with ThreadPoolExecutor(1) as pool:
        with curves_store._write_lock:  # an ingestion batch holds the writer
            upload = pool.submit(api.post, _url(HUB, "/marks"), json=body)
            time.sleep(0.3)  # the upload is now waiting for the writer
            with httpx.Client(base_url=str(api.base_url), timeout=3.0) as other:
                assert other.get("/api/v1/instruments").status_code == 200
            assert not upload.done()
        assert upload.result(timeout=30).status_code == 201


def test_uploads_need_trade_and_record_the_uploader(
    curves_store: PriceStore, live_server: Callable[[FastAPI], str]
):
    from carbon254.service.auth.apikeys import create_key

    reader, read_key = create_key(curves_store, "viewer", ["read"])
    trader, trade_key = create_key(curves_store, "desk", ["trade"])
    base = live_server(create_app(curves_store, settings=Settings(auth=True)))
    body = _marks_body(("2027-01", "on", 50.0), source="desk-z")
    with httpx.Client(base_url=base, timeout=30.0) as http:
        assert http.get(_url(HUB), headers={"X-API-Key": read_key}).status_code == 200
        refused = http.post(_url(HUB, "/marks"), json=body, headers={"X-API-Key": read_key})
        assert refused.status_code == 403
        csv = "month,peak,price\n2027-01,on,50\n"
        done = http.post(
            _url(HUB, "/marks"), content=csv, headers={"X-API-Key": trade_key,
                                                      "Content-Type": "text/csv"},
        )  # fmt: skip
        assert done.status_code == 201, done.text
        assert done.json()["source"] == trader.key_id  # no source given: the key names it
    assert read_key not in refused.text and reader.key_id
    uploaded = curves_store._fetch(  # the store keeps who uploaded each version
        "SELECT uploaded_by FROM curve_mark_versions", pa.schema([("uploaded_by", pa.string())])
    )
    assert uploaded["uploaded_by"].to_pylist() == [trader.key_id]
