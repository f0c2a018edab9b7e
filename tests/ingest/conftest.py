"""Ingestion test plumbing: a test-local dataset registry and job table, and an upstream."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carbon254.connectors import registry
from carbon254.connectors.http import RetryPolicy
from carbon254.core import Iso
from carbon254.ingest import jobs as jobs_module
from carbon254.ingest.jobs import Job

from .fakes import FAKES, Killed, Upstream

# Window retries in tests: three tries, no real waiting (sleep is injected).
RETRY = RetryPolicy(attempts=3, base=1.0, cap=4.0, jitter=0.0)

TEST_JOBS = (
    Job(
        "test_da_ingestion",
        Iso.PJM,
        ("test.da_prices", "test.constraints"),
        every=timedelta(hours=1),
        lookback_days=1,
        ahead_days=1,
        settle=timedelta(hours=1),
        description="fake day-ahead prices and constraints",
    ),
    Job(
        "test_rt_ingestion",
        Iso.PJM,
        ("test.rt_prices",),
        every=timedelta(minutes=5),
        lookback_days=1,
        settle=timedelta(minutes=30),
        description="fake real-time prices",
    ),
    Job(
        "test_keyed_ingestion",
        Iso.PJM,
        ("test.keyed_prices",),
        every=timedelta(hours=1),
        lookback_days=1,
        description="needs TEST_FAKE_KEY",
    ),
    Job(
        "test_missing_ingestion",
        Iso.PJM,
        ("test.not_written_yet", "test.da_prices"),
        every=timedelta(hours=1),
        lookback_days=1,
        description="one dataset is not registered",
    ),
)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Only the fake datasets are registered, and the test jobs are known."""
    datasets = {cls.name: cls() for cls in FAKES}
    monkeypatch.setattr(registry, "_DATASETS", datasets)
    monkeypatch.setattr(registry, "_load", lambda: None)
    for job in TEST_JOBS:
        monkeypatch.setitem(jobs_module.JOBS, job.name, job)
    monkeypatch.delenv("TEST_FAKE_KEY", raising=False)
    return datasets


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture(autouse=True)
def kills_are_final(monkeypatch: pytest.MonkeyPatch) -> None:
    """A simulated SIGKILL (`Killed`) ends everything after it, the runner's own
    bookkeeping included: a run being finished while a `Killed` propagates is not
    recorded, exactly as a killed process would leave it ('running')."""
    import sys

    from carbon254.store._jobs import SqlJobs

    real = SqlJobs.finish_job_run

    def finish_job_run(self, *args, **kwargs):
        if isinstance(sys.exc_info()[1], Killed):
            return None
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SqlJobs, "finish_job_run", finish_job_run)
