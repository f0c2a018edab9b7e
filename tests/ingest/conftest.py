"""Ingestion test plumbing: a test-local dataset registry and job table, and an upstream."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carbon254.connectors import registry
from carbon254.connectors.http import RetryPolicy
from carbon254.core import Iso
from carbon254.ingest import jobs as jobs_module
from carbon254.ingest.jobs import Job

from .fakes import FAKES, Upstream

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
