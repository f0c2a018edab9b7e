"""One window end to end: run records, one batch per window, retries, kills, DST days."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import pytest

from carbon254.connectors.dataset import Window
from carbon254.connectors.http import RawResponse
from carbon254.core import Iso, market_day
from carbon254.ingest.jobs import get_job
from carbon254.ingest.runner import (
    complete_mask,
    content_sha256,
    covered_end,
    ingest_window,
)
from carbon254.store import PriceStore

from .conftest import RETRY
from .fakes import NODES, FakeConstraints, FakePrices, FakeRtPrices, Killed, Upstream, day_payload

DAY = date(2025, 10, 15)
FALL_BACK = date(2025, 11, 2)
SPRING_FORWARD = date(2026, 3, 8)
LATER = datetime(2027, 1, 1, tzinfo=UTC)  # long after every test window: all settled


def window(day: date) -> Window:
    return Window(*market_day(Iso.PJM, day))


def ingest(dataset, day, store, upstream, *, job="test_da_ingestion", sleeps=None, **kw):
    return ingest_window(
        dataset,
        window(day),
        store=store,
        http=upstream.fetcher(),
        job=job,
        now=kw.pop("now", LATER),
        retry=RETRY,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **kw,
    )


def stored(store: PriceStore, day: date) -> int:
    start, end = market_day(Iso.PJM, day)
    return store.read_prices(None, start, end).num_rows


def test_a_window_is_stored_as_one_batch_and_recorded(store: PriceStore, upstream: Upstream):
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))
    result = ingest(FakePrices(), DAY, store, upstream)
    assert result.status == "succeeded" and result.ok and result.complete
    assert (result.rows, result.changed, result.attempts) == (72, 72, 1)
    assert stored(store, DAY) == 72
    [run] = store.job_runs(job="test_da_ingestion").to_pylist()
    assert run["status"] == "succeeded" and run["rows"] == 72 and run["attempts"] == 1
    assert run["batch_id"] == result.batch_id is not None
    assert (run["window_start"], run["window_end"]) == market_day(Iso.PJM, DAY)
    [batch] = store.batches(source="test.da_prices").to_pylist()
    assert batch["batch_id"] == result.batch_id
    assert batch["source_url"] == f"https://upstream.test/test.da_prices?day={DAY}"
    body = day_payload(Iso.PJM, DAY)
    expected = hashlib.sha256(hashlib.sha256(body).hexdigest().encode()).hexdigest()
    assert batch["content_sha256"] == expected


def test_running_the_same_window_twice_stores_its_rows_once(
    store: PriceStore, upstream: Upstream
) -> None:
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))
    first = ingest(FakePrices(), DAY, store, upstream)
    again = ingest(FakePrices(), DAY, store, upstream)
    assert again.status == "succeeded" and again.changed == 0
    assert again.duplicate_of == first.batch_id == again.batch_id
    assert stored(store, DAY) == 72
    assert store.revisions(None, *market_day(Iso.PJM, DAY)).num_rows == 0
    committed = [b for b in store.batches(source="test.da_prices").to_pylist()]
    assert sum(b["rows_inserted"] or 0 for b in committed) == 72


def test_a_revised_publication_revises_rows(store: PriceStore, upstream: Upstream) -> None:
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))
    ingest(FakePrices(), DAY, store, upstream)
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY, price=31.0))
    result = ingest(FakePrices(), DAY, store, upstream)
    assert result.changed == 72 and result.duplicate_of is None
    assert stored(store, DAY) == 72


@pytest.mark.parametrize(("day", "hours"), [(SPRING_FORWARD, 23), (DAY, 24), (FALL_BACK, 25)])
def test_dst_days_store_every_hour(store: PriceStore, upstream: Upstream, day, hours) -> None:
    upstream.put("test.da_prices", day, day_payload(Iso.PJM, day))
    result = ingest(FakePrices(), day, store, upstream)
    assert result.rows == hours * len(NODES)
    assert stored(store, day) == hours * len(NODES)


def test_five_minute_fall_back_day_has_300_intervals(store: PriceStore, upstream: Upstream):
    payload = day_payload(Iso.PJM, FALL_BACK, NODES[:1], step=timedelta(minutes=5))
    upstream.put("test.rt_prices", FALL_BACK, payload)
    result = ingest(FakeRtPrices(), FALL_BACK, store, upstream, job="test_rt_ingestion")
    assert result.rows == 300


def test_transient_failures_are_retried_with_backoff(store: PriceStore, upstream: Upstream):
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))
    upstream.fail[("test.da_prices", DAY.isoformat())] = 2
    sleeps: list[float] = []
    result = ingest(FakePrices(), DAY, store, upstream, sleeps=sleeps)
    assert result.status == "succeeded" and result.attempts == 3
    assert sleeps == [1.0, 2.0]  # base, then doubled (no jitter in the test policy)
    [run] = store.job_runs().to_pylist()
    assert run["attempts"] == 3 and run["status"] == "succeeded"


def test_a_window_failing_every_attempt_stores_nothing(store: PriceStore, upstream: Upstream):
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))
    upstream.fail[("test.da_prices", DAY.isoformat())] = 99
    result = ingest(FakePrices(), DAY, store, upstream)
    assert result.status == "failed" and result.attempts == 3 and not result.ok
    assert "HTTP 503" in result.error
    assert stored(store, DAY) == 0
    [run] = store.job_runs().to_pylist()
    assert run["status"] == "failed" and run["attempts"] == 3 and "HTTP 503" in run["error"]
    assert store.batches().num_rows == 0


def test_a_missing_document_is_not_retried(store: PriceStore, upstream: Upstream) -> None:
    upstream.status = 404
    upstream.fail[("test.da_prices", DAY.isoformat())] = 99
    result = ingest(FakePrices(), DAY, store, upstream)
    assert result.status == "failed" and result.attempts == 1 and "404" in result.error


def test_bad_bytes_fail_after_retries_and_bad_data_at_once(store: PriceStore, upstream: Upstream):
    upstream.put("test.da_prices", DAY, b"<html>maintenance</html>")
    payload = ingest(FakePrices(), DAY, store, upstream)
    assert payload.status == "failed" and payload.attempts == 3
    assert "test.da_prices: not the JSON we expect" in payload.error
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY, broken_components=True))
    schema = ingest(FakePrices(), DAY, store, upstream)
    assert schema.status == "failed" and schema.attempts == 1
    assert "energy + congestion + loss" in schema.error or "component" in schema.error
    assert stored(store, DAY) == 0


def test_duplicate_keys_in_a_batch_are_refused_and_nothing_is_stored(
    store: PriceStore, upstream: Upstream
) -> None:
    doubled = day_payload(Iso.PJM, DAY, NODES[:1])
    upstream.put("test.da_prices", DAY, doubled)

    class Doubled(FakePrices):
        def parse(self, raws):
            return super().parse([*raws, *raws])

    result = ingest(Doubled(), DAY, store, upstream)
    assert result.status == "failed" and result.attempts == 1
    # the store checks prices itself, inside the batch, before anything is committed
    assert "duplicate (instrument, interval_start): PJM.DA.LMP.51288" in result.error
    assert "appears 2 times" in result.error
    assert stored(store, DAY) == 0


def test_nothing_published_yet_is_skipped(store: PriceStore, upstream: Upstream) -> None:
    result = ingest(FakePrices(), DAY, store, upstream)  # the upstream has no rows
    assert result.status == "skipped" and result.ok and not result.complete
    assert "no rows" in result.error
    assert store.job_runs().to_pylist()[0]["status"] == "skipped"


def test_a_kill_between_fetch_and_upsert_leaves_a_running_row_and_no_batch(
    store: PriceStore, upstream: Upstream
) -> None:
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))

    class DiesInParse(FakePrices):
        def parse(self, raws):
            raise Killed

    with pytest.raises(Killed):
        ingest(DiesInParse(), DAY, store, upstream)
    [run] = store.job_runs().to_pylist()
    assert run["status"] == "running" and run["finished_at"] is None
    assert stored(store, DAY) == 0 and store.batches().num_rows == 0


def test_a_kill_inside_the_price_stream_leaves_nothing(store: PriceStore, upstream: Upstream):
    """Killed while the store merges the batch: the transaction rolls back whole."""
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))

    class DiesWhileStoring(FakePrices):
        pass

    original = store.upsert_prices

    def upsert_then_die(table, **kw):
        def batches():
            yield from table.to_batches(max_chunksize=10)[:3]
            raise Killed

        return original(batches(), **kw)

    store.upsert_prices = upsert_then_die  # type: ignore[method-assign]
    try:
        with pytest.raises(Killed):
            ingest(DiesWhileStoring(), DAY, store, upstream)
    finally:
        del store.upsert_prices
    assert stored(store, DAY) == 0
    assert store.job_runs().to_pylist()[0]["status"] == "running"


def test_keyboard_interrupt_marks_the_run_interrupted(store: PriceStore, upstream: Upstream):
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))

    class Interrupted(FakePrices):
        def parse(self, raws):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(Interrupted(), DAY, store, upstream)
    [run] = store.job_runs().to_pylist()
    assert run["status"] == "failed" and run["error"] == "interrupted"


def test_a_task_timeout_marks_the_run_failed_at_once(store: PriceStore, upstream: Upstream):
    """Airflow's AirflowTaskTimeout is a BaseException: the run must not stay 'running'."""
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))

    class AirflowTaskTimeout(BaseException):
        pass

    class TimesOut(FakePrices):
        def parse(self, raws):
            raise AirflowTaskTimeout

    with pytest.raises(AirflowTaskTimeout):
        ingest(TimesOut(), DAY, store, upstream)
    [run] = store.job_runs().to_pylist()
    assert run["status"] == "failed" and run["error"] == "interrupted (AirflowTaskTimeout)"
    assert stored(store, DAY) == 0


def test_an_unexpected_bug_is_recorded_as_failed(store: PriceStore, upstream: Upstream):
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))

    class Buggy(FakePrices):
        def parse(self, raws):
            return {}["oops"]

    result = ingest(Buggy(), DAY, store, upstream)
    assert result.status == "failed" and result.error == "KeyError: 'oops'"


def test_rows_with_no_store_table_fail_without_writing(store: PriceStore, upstream: Upstream):
    from .fakes import FakeNoTable

    upstream.put("test.no_table", DAY, day_payload(Iso.PJM, DAY))
    result = ingest(FakeNoTable(), DAY, store, upstream)
    assert result.status == "failed" and result.attempts == 1
    assert result.error == "test.no_table: the store has no table for its rows yet"
    assert stored(store, DAY) == 0


def test_constraints_go_to_their_table_with_lineage(store: PriceStore, upstream: Upstream):
    upstream.put("test.constraints", DAY, day_payload(Iso.PJM, DAY))
    result = ingest(FakeConstraints(), DAY, store, upstream)
    assert result.status == "succeeded" and result.rows == 72 and result.changed == 72
    start, end = market_day(Iso.PJM, DAY)
    assert store.read_constraints(start=start, end=end).num_rows == 72
    again = ingest(FakeConstraints(), DAY, store, upstream)
    assert again.changed == 0
    assert store.read_constraints(start=start, end=end).num_rows == 72


def test_a_run_before_the_window_settled_is_recorded_short(
    store: PriceStore, upstream: Upstream, fakes
) -> None:
    upstream.put("test.rt_prices", DAY, day_payload(Iso.PJM, DAY, step=timedelta(minutes=5)))
    start, end = market_day(Iso.PJM, DAY)
    midday = start + timedelta(hours=14, minutes=7)
    job = get_job("test_rt_ingestion")  # settles 30 minutes after the window ends
    result = ingest(FakeRtPrices(), DAY, store, upstream, job=job, now=midday)
    assert result.status == "succeeded" and not result.complete
    assert (result.window_start, result.window_end) == (start, midday - timedelta(minutes=30))
    [run] = store.job_runs().to_pylist()
    assert run["window_end"] == midday - timedelta(minutes=30)
    settled = ingest(FakeRtPrices(), DAY, store, upstream, job=job, now=end + job.settle)
    assert settled.complete and settled.window_end == end


def test_content_hash_is_over_the_response_hashes_in_order() -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    raws = [RawResponse("d", "u", at, b"one"), RawResponse("d", "u", at, b"two")]
    expected = hashlib.sha256(
        (hashlib.sha256(b"one").hexdigest() + hashlib.sha256(b"two").hexdigest()).encode()
    ).hexdigest()
    assert content_sha256(raws) == expected
    assert content_sha256(raws[::-1]) != expected


def test_covered_end_is_the_window_end_only_once_settled() -> None:
    w = window(DAY)
    settle = timedelta(minutes=30)
    assert covered_end(w, w.end + settle, settle) == w.end
    assert covered_end(w, w.end + timedelta(minutes=10), settle) == w.end - timedelta(minutes=20)
    noon = w.start + timedelta(hours=12)
    assert covered_end(w, noon, settle) == noon - settle
    assert covered_end(w, w.start - timedelta(hours=10), settle) == w.start + timedelta(seconds=1)
    assert covered_end(w, w.end, timedelta(0)) == w.end
    assert covered_end(w, w.end - timedelta(microseconds=1), timedelta(0)) < w.end


def test_a_partly_published_day_is_not_complete_until_the_rest_arrives(
    store: PriceStore, upstream: Upstream
):
    """The upstream has only the first 20 hours (PJM's verified feed lags): the run
    succeeds but covers only up to its last stored interval, so backfill fetches again."""
    late_hours = [(node, i) for node in NODES for i in range(20, 24)]
    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY, drop=late_hours))
    first = ingest(FakePrices(), DAY, store, upstream)
    start, end = market_day(Iso.PJM, DAY)
    assert first.status == "succeeded" and not first.complete
    assert first.window_end == start + timedelta(hours=20)
    [run] = store.job_runs().to_pylist()
    assert run["window_end"] == start + timedelta(hours=20)
    assert complete_mask(store, "test_da_ingestion", "test.da_prices", [window(DAY)]) == [False]

    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))
    second = ingest(FakePrices(), DAY, store, upstream)
    assert second.complete and second.window_end == end
    assert complete_mask(store, "test_da_ingestion", "test.da_prices", [window(DAY)]) == [True]
    assert stored(store, DAY) == 24 * len(NODES)


def test_provisional_data_never_completes_its_window(store: PriceStore, upstream: Upstream):
    """PJM's unverified 5-minute LMPs answer when the verified feed has nothing yet: they
    are stored, but the window is fetched again until verified data replaces them."""
    import dataclasses

    upstream.put("test.da_prices", DAY, day_payload(Iso.PJM, DAY))

    class Unverified(FakePrices):
        def fetch(self, http, window):
            raws = super().fetch(http, window)
            return [dataclasses.replace(r, meta={**r.meta, "provisional": True}) for r in raws]

    first = ingest(Unverified(), DAY, store, upstream)
    assert first.status == "succeeded" and first.rows == 24 * len(NODES)
    assert not first.complete
    assert complete_mask(store, "test_da_ingestion", "test.da_prices", [window(DAY)]) == [False]
    verified = ingest(FakePrices(), DAY, store, upstream)
    assert verified.complete
