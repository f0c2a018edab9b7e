"""The real PJM datasets through the ingestion path, on recorded-format pages served
offline: the directory, then the fall-back day of day-ahead LMPs, then its quality."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx
import pytest

from carbon254.connectors.http import HttpFetcher, RetryPolicy
from carbon254.connectors.registry import get_dataset
from carbon254.core import Iso, market_day
from carbon254.ingest.backfill import backfill, ingest_range
from carbon254.ingest.quality import quality_report
from carbon254.store import PriceStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pjm"
FALL_BACK = date(2025, 11, 2)
KEY = "not-a-real-key-0123"


@pytest.fixture
def pjm(monkeypatch: pytest.MonkeyPatch) -> tuple[HttpFetcher, list[str]]:
    """Data Miner 2 offline: each feed answers with its recorded page."""
    monkeypatch.setenv("PJM_API_KEY", KEY)
    pages = {
        "/api/v1/da_hrl_lmps": FIXTURES / "lmp_da_hrl_lmps_2025-11-02_p1.json",
        "/api/v1/pnode": FIXTURES / "lmp_pnode_directory.json",
    }
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
        return httpx.Response(200, content=pages[request.url.path].read_bytes())

    client = httpx.Client(transport=httpx.MockTransport(answer))
    return HttpFetcher(client, retry=RetryPolicy(attempts=1), sleep=lambda s: None), seen


def test_pjm_directory_and_fall_back_day_end_to_end(store: PriceStore, pjm) -> None:
    http, seen = pjm
    directory = backfill("pjm.pnode", FALL_BACK, FALL_BACK, store=store, http=http)
    assert directory.ok and directory.job == "pjm_pnode_ingestion"
    assert store.locations(iso=Iso.PJM).num_rows == directory.results[0].rows > 0

    first = backfill("pjm.da_hrl_lmps", FALL_BACK, FALL_BACK, store=store, http=http)
    [run] = first.results
    assert run.status == "succeeded" and run.rows == 3 * 25 and run.job == "pjm_da_ingestion"
    start, end = market_day(Iso.PJM, FALL_BACK)
    assert store.read_prices(["PJM.DA.LMP.51288"], start, end).num_rows == 25

    again = ingest_range("pjm.da_hrl_lmps", FALL_BACK, FALL_BACK, store=store, http=http,
                         skip_done=False)  # fmt: skip
    assert again.results[0].duplicate_of == run.batch_id and again.results[0].changed == 0
    assert backfill("pjm.da_hrl_lmps", FALL_BACK, FALL_BACK, store=store, http=http).results == []

    report = quality_report(store, [get_dataset("pjm.da_hrl_lmps")], FALL_BACK, FALL_BACK)
    [quality] = report.datasets
    assert quality.days[0].expected_intervals == 25
    assert quality.completeness == 1.0 and report.passed
    assert report.component_violations == {"PJM": 0}

    lineage = " ".join(str(v) for v in store.batches().to_pylist() + store.job_runs().to_pylist())
    assert KEY not in lineage and KEY not in " ".join(seen)


def test_ercot_two_day_as_disclosure_end_to_end(store: PriceStore, monkeypatch, request) -> None:
    """The recorded 2024-11-03 (25-hour) disclosure, through the archive API, into the
    market_quantities table: every cleared and self-arranged series, 25 hours each."""
    shared = request.getfixturevalue("shared_data") / "iso" / "ercot"
    listing = shared / "api_archive_np3-911-er_listing_posted_2024-11-05.json"
    document = shared / (
        "api_archive_np3-911-er_doc1049861718_2_Day_AS_Disclosure_20241105_opday_20241103_dst_end.zip"
    )
    for name in ("ERCOT_API_USERNAME", "ERCOT_API_PASSWORD", "ERCOT_API_SUBSCRIPTION_KEY"):
        monkeypatch.setenv(name, "not-a-real-" + name.lower())

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json={"id_token": "token", "expires_in": "3600"})
        if "download" in request.url.params:
            return httpx.Response(200, content=document.read_bytes())
        return httpx.Response(200, content=listing.read_bytes())

    http = HttpFetcher(httpx.Client(transport=httpx.MockTransport(answer)), sleep=lambda s: None)
    day = date(2024, 11, 3)
    # Old enough that the window goes to the API archive (MIS keeps a few days only).
    result = backfill("ercot.np3-911-er", day, day, store=store, http=http)
    [run] = result.results
    assert run.status == "succeeded", run.error
    start, end = market_day(Iso.ERCOT, day)
    stored = store.read_quantities(start=start, end=end, dataset="ercot.np3-911-er")
    assert stored.num_rows == run.rows == 25 * 17
    per_series = stored.group_by("series").aggregate([("value", "count")])
    assert set(per_series.column("value_count").to_pylist()) == {25}
    again = ingest_range("ercot.np3-911-er", day, day, store=store, http=http, skip_done=False)
    assert again.results[0].changed == 0


@pytest.mark.parametrize(
    "order", [("2024-07-15", "2024-11-03", "2024-03-10"), ("2024-11-03", "2024-07-15")]
)
def test_ercot_rt_prices_several_days_end_to_end(store: PriceStore, order) -> None:
    """Day after day (and a backfill of an earlier day) the settlement-point directory
    stays one version per point, and every day's prices land: 96/100/92 intervals."""
    from carbon254.connectors.dataset import Window
    from carbon254.connectors.ercot.spp_rt import Np6905RtSpp
    from carbon254.ingest.runner import ingest_window

    from ..connectors.ercot._prices import raws

    class Recorded(Np6905RtSpp):
        def fetch(self, http, window):
            return raws(self.name, "np6905", window.start.astimezone(Iso.ERCOT.tz).date())

    expected = {"2024-07-15": 96, "2024-11-03": 100, "2024-03-10": 92}
    for text in order:
        day = date.fromisoformat(text)
        start, end = market_day(Iso.ERCOT, day)
        run = ingest_window(Recorded(), Window(start, end), store=store, http=None,
                            job="ercot_rt_ingestion", sleep=lambda s: None)  # fmt: skip
        assert run.status == "succeeded", run.error
        hub = store.read_prices(["ERCOT.RT15.SPP.HB_NORTH"], start, end)
        assert hub.num_rows == expected[text]
    directory = store.locations(iso=Iso.ERCOT)
    assert directory.num_rows == len(set(directory.column("location").to_pylist()))
