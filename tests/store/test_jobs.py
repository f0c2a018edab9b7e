"""Job runs: lifecycle, abandoned runs of dead processes, resumable windows. Both backends."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from carbon254.core.records import JOB_RUN_SCHEMA
from carbon254.store import InvalidArgument, open_store

from .helpers import prices, utc

H = timedelta(hours=1)
W0 = utc(2025, 1, 1)
JOB = "pjm_da_ingestion"
DATASET = "pjm.da_hrl_lmps"


def test_a_run_starts_running_and_finishes_with_what_it_did(store):
    before = datetime.now(UTC)
    run = store.start_job_run(JOB, DATASET, W0, W0 + H)
    started = store.job_runs().to_pylist()
    assert len(started) == 1
    row = started[0]
    assert (row["run_id"], row["job"], row["dataset"], row["status"], row["attempts"]) == (
        run, JOB, DATASET, "running", 1
    )  # fmt: skip
    assert (row["window_start"], row["window_end"]) == (W0, W0 + H)
    assert before <= row["started_at"] <= datetime.now(UTC)
    assert row["finished_at"] is None and row["rows"] is None and row["error"] is None

    batch = store.upsert_prices(prices(["PJM.DA.LMP.1"], [W0]), source="pjm:da")
    store.finish_job_run(run, status="succeeded", attempts=2, rows=1, batch_id=batch.batch_id)
    done = store.job_runs().to_pylist()[0]
    assert (done["status"], done["attempts"], done["rows"], done["batch_id"]) == (
        "succeeded", 2, 1, batch.batch_id
    )  # fmt: skip
    assert done["finished_at"] >= done["started_at"]
    assert store.job_runs().schema == JOB_RUN_SCHEMA


def test_failed_and_skipped_runs_keep_their_error(store):
    failed = store.start_job_run(JOB, DATASET, W0, W0 + H)
    store.finish_job_run(failed, status="failed", attempts=3, error="HTTP 503 from 'api'")
    skipped = store.start_job_run(JOB, DATASET, W0 + H, W0 + 2 * H)
    store.finish_job_run(skipped, status="skipped", attempts=1, error="not yet published")
    runs = {r["run_id"]: r for r in store.job_runs().to_pylist()}
    assert runs[failed]["error"] == "HTTP 503 from 'api'" and runs[failed]["attempts"] == 3
    assert runs[skipped]["status"] == "skipped"


def test_bad_job_arguments_are_clear_errors(store):
    run = store.start_job_run(JOB, DATASET, W0, W0 + H)
    with pytest.raises(InvalidArgument, match="status must be one of"):
        store.finish_job_run(run, status="running", attempts=1)
    with pytest.raises(InvalidArgument, match="attempts"):
        store.finish_job_run(run, status="failed", attempts=0)
    with pytest.raises(InvalidArgument, match="rows"):
        store.finish_job_run(run, status="succeeded", attempts=1, rows=-1)
    with pytest.raises(InvalidArgument, match="no job run 999"):
        store.finish_job_run(999, status="failed", attempts=1)
    with pytest.raises(InvalidArgument, match="before end"):
        store.start_job_run(JOB, DATASET, W0 + H, W0)
    with pytest.raises(InvalidArgument, match="timezone-aware"):
        store.start_job_run(JOB, DATASET, datetime(2025, 1, 1), W0 + H)
    with pytest.raises(InvalidArgument, match="job must be"):
        store.start_job_run("", DATASET, W0, W0 + H)
    with pytest.raises(InvalidArgument, match="status must be one of"):
        store.job_runs(status="done")
    assert store.job_runs(status="running").num_rows == 1


def test_job_runs_are_newest_first_and_filtered(store):
    ids = [store.start_job_run(JOB, DATASET, W0 + i * H, W0 + (i + 1) * H) for i in range(3)]
    other = store.start_job_run("pjm_rt_ingestion", "pjm.rt_fivemin_hrl_lmps", W0, W0 + H)
    store.finish_job_run(ids[0], status="succeeded", attempts=1)
    assert store.job_runs()["run_id"].to_pylist() == [other, *reversed(ids)]
    assert store.job_runs(job=JOB)["run_id"].to_pylist() == list(reversed(ids))
    assert store.job_runs(status="succeeded")["run_id"].to_pylist() == [ids[0]]
    assert store.job_runs(limit=2).num_rows == 2
    assert store.job_runs(since=datetime.now(UTC) + H).num_rows == 0
    assert store.job_runs(since=utc(2020, 1, 1)).num_rows == 4
    assert store.job_runs(job="x' OR '1'='1").num_rows == 0


def test_succeeded_windows_are_what_a_backfill_can_skip(store):
    for i, status in enumerate(["succeeded", "succeeded", "failed", "succeeded"]):
        run = store.start_job_run(JOB, DATASET, W0 + i * H, W0 + (i + 1) * H)
        store.finish_job_run(run, status=status, attempts=1)
    # the same window succeeding twice is one window
    again = store.start_job_run(JOB, DATASET, W0, W0 + H)
    store.finish_job_run(again, status="succeeded", attempts=1)
    store.start_job_run(JOB, DATASET, W0 + 4 * H, W0 + 5 * H)  # still running: not done
    other = store.start_job_run("other_job", DATASET, W0, W0 + H)
    store.finish_job_run(other, status="succeeded", attempts=1)

    everything = store.succeeded_windows(JOB, W0, W0 + 10 * H)
    assert everything == [(W0, W0 + H), (W0 + H, W0 + 2 * H), (W0 + 3 * H, W0 + 4 * H)]
    # overlap is strict: a window ending exactly at `start` does not overlap [start, end)
    assert store.succeeded_windows(JOB, W0 + H, W0 + 3 * H) == [(W0 + H, W0 + 2 * H)]
    assert store.succeeded_windows(JOB, W0 + 90 * timedelta(minutes=1), W0 + 4 * H) == [
        (W0 + H, W0 + 2 * H),
        (W0 + 3 * H, W0 + 4 * H),
    ]
    assert store.succeeded_windows(JOB, W0, W0 + H, dataset="elsewhere") == []
    assert all(w[0].tzinfo is not None for w in everything)


def test_abandoning_running_jobs(store):
    old = store.start_job_run(JOB, DATASET, W0, W0 + H)
    other = store.start_job_run("other_job", DATASET, W0, W0 + H)
    finished = store.start_job_run(JOB, DATASET, W0 + H, W0 + 2 * H)
    store.finish_job_run(finished, status="succeeded", attempts=1)
    assert store.abandon_running_jobs(JOB, older_than=H) == 0  # they just started
    assert store.abandon_running_jobs(JOB) == 1
    runs = {r["run_id"]: r for r in store.job_runs().to_pylist()}
    assert runs[old]["status"] == "failed"
    assert runs[old]["error"] == "abandoned (process ended mid-run)"
    assert runs[old]["finished_at"] is not None
    assert runs[other]["status"] == "running" and runs[finished]["status"] == "succeeded"
    assert store.abandon_running_jobs(older_than=timedelta(0)) == 1
    assert store.job_runs(status="running").num_rows == 0
    with pytest.raises(InvalidArgument, match="older_than"):
        store.abandon_running_jobs(older_than=-H)


_KILLED_MID_RUN = """
import os, signal, sys
from datetime import UTC, datetime
from carbon254.store import open_store
store = open_store(sys.argv[1])
run = store.start_job_run("pjm_rt_ingestion", "pjm.rt", datetime(2025, 1, 1, tzinfo=UTC),
                          datetime(2025, 1, 1, 1, tzinfo=UTC))
print(run, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_of_a_killed_process_stays_visible_as_running(store_url):
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_RUN, store_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == -9, done.stderr
    run = int(done.stdout.strip())
    with open_store(store_url) as store:
        rows = store.job_runs(status="running").to_pylist()
        assert [(r["run_id"], r["job"]) for r in rows] == [(run, "pjm_rt_ingestion")]
        assert store.abandon_running_jobs() == 1
        row = store.job_runs().to_pylist()[0]
        assert (row["status"], row["error"]) == ("failed", "abandoned (process ended mid-run)")


def test_job_bookkeeping_does_not_wait_for_a_batch_in_flight(store):
    """A run starts and is visible while another thread's price batch is still open."""
    inside, release = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def slow_stream():
        yield from prices(["PJM.DA.LMP.1"], [W0]).to_batches()
        inside.set()
        release.wait(10)

    def scheduler():
        inside.wait(10)
        run = store.start_job_run(JOB, DATASET, W0, W0 + H)
        seen["running"] = store.job_runs(status="running")["run_id"].to_pylist() == [run]
        store.finish_job_run(run, status="skipped", attempts=1)
        seen["finished_while_batch_open"] = not release.is_set()
        release.set()

    thread = threading.Thread(target=scheduler)
    thread.start()
    result = store.upsert_prices(slow_stream(), source="slow")
    thread.join(10)
    assert seen == {"running": True, "finished_while_batch_open": True}
    assert result.rows_inserted == 1
    assert store.job_runs()["status"].to_pylist() == ["skipped"]
