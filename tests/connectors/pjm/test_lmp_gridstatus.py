"""Cross-check with gridstatus: its PJM code reads the same Data Miner pages (its HTTP
layer patched to serve our fixtures, page by page as the API would), and its intervals,
locations and prices must agree with ours to the cent."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from carbon254.connectors.http import RawResponse
from carbon254.connectors.pjm.lmp import DaHourlyLmp, RtFiveMinLmp

gridstatus = pytest.importorskip("gridstatus")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pjm"
DAYS = (date(2025, 3, 9), date(2025, 6, 18), date(2025, 11, 2))


class Pages:
    """gridstatus's `_data_miner_page`: fixture pages by startRow, and the server's
    row_is_current=TRUE filter applied (a real server never returns stale versions)."""

    def __init__(self, feeds: dict[str, list[Path]]) -> None:
        self.feeds = {k: [json.loads(p.read_text()) for p in v] for k, v in feeds.items()}
        self.asked: list[tuple[str, dict]] = []
        self.current = ""  # the feed gridstatus is paging through

    def size(self, endpoint: str) -> int:
        return self.feeds[endpoint][0]["searchSpecification"]["rowCount"]

    def __call__(self, endpoint: str, params: dict) -> dict:
        self.asked.append((endpoint, dict(params)))
        pages = self.feeds[endpoint]
        size = self.size(endpoint)
        assert params["rowCount"] == size
        page = dict(pages[(params["startRow"] - 1) // size])
        if params.get("row_is_current") == "TRUE":
            stale = sum(1 for p in pages for i in p["items"] if i.get("row_is_current") is False)
            page["items"] = [i for i in page["items"] if i.get("row_is_current") is not False]
            page["totalRows"] = page["totalRows"] - stale
        return page


def serve(monkeypatch: pytest.MonkeyPatch, feeds: dict[str, list[Path]]) -> Pages:
    pages = Pages(feeds)

    def page(self, endpoint: str, params: dict) -> dict:
        return pages(endpoint, params)

    def page_size(self, row_count, vary, exclude=None) -> int:
        return pages.size(pages.current)

    def fetch(self, endpoint, params, start_row, row_count, vary_page_size):
        pages.current = endpoint
        return original(self, endpoint, params, start_row, row_count, vary_page_size)

    original = gridstatus.PJM._fetch_data_miner_pages
    monkeypatch.setattr(gridstatus.PJM, "_data_miner_page", page)
    monkeypatch.setattr(gridstatus.PJM, "_data_miner_page_size", page_size)
    monkeypatch.setattr(gridstatus.PJM, "_fetch_data_miner_pages", fetch)
    return pages


def files(feed: str, day: date) -> list[Path]:
    return sorted(FIXTURES.glob(f"lmp_{feed}_{day}_p*.json"))


def ours(ds, feed: str, day: date) -> Counter:
    raws = [
        RawResponse(
            ds.name, "https://api.pjm.com/api/v1/" + feed, datetime.now(UTC), p.read_bytes()
        )
        for p in files(feed, day)
    ]
    table = ds.parse(raws)
    table = table.set_column(0, "instrument", table.column("instrument").cast(pa.string()))
    return Counter(
        (
            r["instrument"].rsplit(".", 1)[1],
            r["interval_start"],
            r["interval_end"],
            round(r["value"] * 100),
            round(r["energy"] * 100),
            round(r["congestion"] * 100),
            round(r["loss"] * 100),
        )
        for r in table.to_pylist()
    )


def theirs(frame) -> Counter:
    return Counter(
        (
            str(loc),
            s.to_pydatetime().astimezone(UTC),
            e.to_pydatetime().astimezone(UTC),
            round(lmp * 100),
            round(energy * 100),
            round(congestion * 100),
            round(loss * 100),
        )
        for loc, s, e, lmp, energy, congestion, loss in zip(
            frame["Location Id"],
            frame["Interval Start"],
            frame["Interval End"],
            frame["LMP"],
            frame["Energy"],
            frame["Congestion"],
            frame["Loss"],
            strict=True,
        )
    )


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_rt5_verified_agrees(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    feed = "rt_fivemin_hrl_lmps"
    pages = serve(
        monkeypatch, {feed: files(feed, day), "pnode": [FIXTURES / "lmp_pnode_directory.json"]}
    )
    frame = gridstatus.PJM(api_key="offline").get_lmp_real_time_5_min(date=str(day))
    assert [a[0] for a in pages.asked].count(feed) == len(files(feed, day))  # it paged too
    mine = ours(RtFiveMinLmp(), feed, day)
    assert sum(mine.values()) == len(frame) == 3 * {3: 276, 6: 288, 11: 300}[day.month]
    assert theirs(frame) == mine
    # gridstatus names every node, the retired one included, from the same directory
    assert frame["Location Name"].notna().all()


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_rt5_unverified_agrees(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    feed = "rt_unverified_fivemin_lmps"
    serve(monkeypatch, {feed: files(feed, day), "pnode": [FIXTURES / "lmp_pnode_directory.json"]})
    frame = gridstatus.PJM(api_key="offline").get_lmp_real_time_unverified_5_min(
        date=str(day), locations="ALL"
    )
    mine = ours(RtFiveMinLmp(), feed, day)
    assert sum(mine.values()) == len(frame)
    assert theirs(frame) == mine


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_da_agrees(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    feed = "da_hrl_lmps"
    serve(monkeypatch, {feed: files(feed, day), "pnode": [FIXTURES / "lmp_pnode_directory.json"]})
    frame = gridstatus.PJM(api_key="offline").get_lmp_day_ahead_hourly(date=str(day))
    mine = ours(DaHourlyLmp(), feed, day)
    assert sum(mine.values()) == len(frame) == 3 * {3: 23, 6: 24, 11: 25}[day.month]
    assert theirs(frame) == mine
