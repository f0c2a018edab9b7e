"""Backfill: only windows without a complete run are fetched; killed halfway, it resumes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from carbon254.core import Iso, market_day
from carbon254.ingest.backfill import DatasetUnavailable, backfill, ingest_range
from carbon254.store import PriceStore

from .conftest import RETRY
from .fakes import Killed, Upstream, day_payload

START = date(2025, 10, 31)  # .. 3 Nov: holds the fall-back day
END = date(2025, 11, 3)
DAYS = [START + timedelta(days=i) for i in range(4)]
ROWS = 3 * (24 + 24 + 25 + 24)


@pytest.fixture
def published(upstream: Upstream) -> Upstream:
    for day in DAYS:
        upstream.put("test.da_prices", day, day_payload(Iso.PJM, day))
    return upstream


def stored(store: PriceStore) -> int:
    return store.read_prices(
        None, market_day(Iso.PJM, START)[0], market_day(Iso.PJM, END)[1]
    ).num_rows


def test_backfill_fetches_each_window_once_and_reports_progress(
    fakes, store: PriceStore, published: Upstream
) -> None:
    seen: list[tuple[int, int, str]] = []
    result = backfill("test.da_prices", START, END, store=store, http=published.fetcher(),
                      progress=lambda done, total, r: seen.append((done, total, r.status)),
                      retry=RETRY)  # fmt: skip
    assert result.ok and (result.windows, result.already_done) == (4, 0)
    assert result.job == "test_da_ingestion"  # recorded under the job that owns the dataset
    assert seen == [(1, 4, "succeeded"), (2, 4, "succeeded"), (3, 4, "succeeded"),
                    (4, 4, "succeeded")]  # fmt: skip
    assert stored(store) == ROWS
    again = backfill("test.da_prices", START, END, store=store, http=published.fetcher())
    assert (again.windows, again.already_done, again.results) == (4, 4, [])
    assert published.count("test.da_prices") == 4


def test_a_killed_backfill_resumes_where_it_stopped(
    fakes, store: PriceStore, published: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = fakes["test.da_prices"]
    real_fetch = type(dataset).fetch
    calls = []

    def dies_on_the_third(self, http, window):
        calls.append(window.start)
        if len(calls) == 3:
            raise Killed
        return real_fetch(self, http, window)

    monkeypatch.setattr(type(dataset), "fetch", dies_on_the_third)
    with pytest.raises(Killed):
        backfill("test.da_prices", START, END, store=store, http=published.fetcher(),
                 retry=RETRY)  # fmt: skip
    assert stored(store) == 3 * 48
    runs = store.job_runs().to_pylist()
    assert sorted(r["status"] for r in runs) == ["running", "succeeded", "succeeded"]

    monkeypatch.setattr(type(dataset), "fetch", real_fetch)
    seen: list[int] = []
    result = backfill("test.da_prices", START, END, store=store, http=published.fetcher(),
                      progress=lambda done, total, r: seen.append(total),
                      stale_after=timedelta(0), retry=RETRY)  # fmt: skip
    assert (result.windows, result.already_done, len(result.results)) == (4, 2, 2)
    assert seen == [2, 2]
    assert [r.window_start for r in result.results] == [market_day(Iso.PJM, d)[0] for d in DAYS[2:]]
    assert stored(store) == ROWS
    statuses = [r["status"] for r in store.job_runs().to_pylist()]
    assert statuses.count("succeeded") == 4 and "running" not in statuses
    assert store.job_runs(status="failed").column("error").to_pylist() == [
        "abandoned (process ended mid-run)"
    ]


def test_failed_windows_are_reported_and_retried_by_the_next_backfill(
    fakes, store: PriceStore, published: Upstream
) -> None:
    published.fail[("test.da_prices", DAYS[1].isoformat())] = 3
    first = backfill("test.da_prices", START, END, store=store, http=published.fetcher(),
                     retry=RETRY, sleep=lambda s: None)  # fmt: skip
    assert not first.ok and [r.window_start for r in first.failed] == [
        market_day(Iso.PJM, DAYS[1])[0]
    ]
    second = backfill("test.da_prices", START, END, store=store, http=published.fetcher(),
                      retry=RETRY)  # fmt: skip
    assert second.ok and second.already_done == 3 and len(second.results) == 1
    assert stored(store) == ROWS


def test_ingest_refetches_windows_already_done(fakes, store: PriceStore, published: Upstream):
    backfill("test.da_prices", START, END, store=store, http=published.fetcher())
    forced = ingest_range("test.da_prices", START, END, store=store, http=published.fetcher(),
                          skip_done=False)  # fmt: skip
    assert forced.already_done == 0 and len(forced.results) == 4
    assert all(r.status == "succeeded" and r.changed == 0 for r in forced.results)


def test_unknown_or_unusable_datasets_are_refused(fakes, store: PriceStore) -> None:
    with pytest.raises(DatasetUnavailable, match="not registered") as unknown:
        backfill("test.nope", START, END, store=store)
    assert not unknown.value.registered
    with pytest.raises(DatasetUnavailable, match="TEST_FAKE_KEY") as keyed:
        backfill("test.keyed_prices", START, END, store=store)
    assert keyed.value.registered
    with pytest.raises(ValueError, match="before start day"):
        backfill("test.da_prices", END, START, store=store)
