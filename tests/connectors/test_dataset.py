"""Range splitting: whole local market days, year and archive boundaries, credentials."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from carbon254.connectors.dataset import Auth, Chunking
from carbon254.connectors.errors import MissingCredentials
from carbon254.core.intervals import market_day
from carbon254.core.markets import Iso


def test_windows_are_whole_local_days_even_across_dst():
    windows = Chunking(max_days=1).split(Iso.PJM, date(2025, 11, 1), date(2025, 11, 3))
    assert [(w.end - w.start) / timedelta(hours=1) for w in windows] == [24, 25, 24]
    assert windows[1].start == market_day(Iso.PJM, date(2025, 11, 2))[0]
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))


def test_year_boundary_splits():
    windows = Chunking(max_days=365, split_years=True).split(
        Iso.PJM, date(2024, 12, 20), date(2025, 1, 10)
    )
    assert len(windows) == 2
    assert windows[0].end == market_day(Iso.PJM, date(2025, 1, 1))[0] == windows[1].start


def test_archive_horizon_splits_and_marks_archived():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    rule = Chunking(max_days=365, archive_after=timedelta(days=186))
    windows = rule.split(Iso.PJM, date(2025, 10, 1), date(2026, 5, 1), now=now)
    assert len(windows) == 2
    assert windows[0].archived and not windows[1].archived
    assert windows[0].end <= now - timedelta(days=186) < windows[1].end


def test_max_days_and_bad_range():
    windows = Chunking(max_days=7).split(Iso.ERCOT, date(2024, 1, 1), date(2024, 1, 20))
    assert len(windows) == 3
    with pytest.raises(ValueError, match="before start"):
        Chunking().split(Iso.ERCOT, date(2024, 1, 2), date(2024, 1, 1))


def test_auth_reads_env_and_never_shows_values(monkeypatch):
    monkeypatch.delenv("X_KEY", raising=False)
    with pytest.raises(MissingCredentials, match="set X_KEY") as info:
        Auth(env=("X_KEY",)).values("iso.feed")
    assert info.value.dataset == "iso.feed"
    assert Auth(env=("X_KEY",), optional=True).values("iso.feed") == {}
    monkeypatch.setenv("X_KEY", "hunter2")
    assert Auth(env=("X_KEY",)).values("iso.feed") == {"X_KEY": "hunter2"}
