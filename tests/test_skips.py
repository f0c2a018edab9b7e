"""Missing services and data skip with the reason, unless CI says they are required."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CARBON254_REQUIRE")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        cwd=REPO, env=clean | env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


NO_POSTGRES = {"CARBON254_TEST_POSTGRES_URL": "postgresql://127.0.0.1:1/none"}
POSTGRES_TEST = "tests/store/test_locations.py::test_insert_then_unchanged"


def test_postgres_tests_skip_with_the_reason_when_the_server_is_missing() -> None:
    result = _pytest(POSTGRES_TEST, **NO_POSTGRES)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout  # duckdb ran, postgres skipped
    assert "PostgreSQL not available (postgresql://127.0.0.1:1/none" in result.stdout


def test_required_services_turn_the_skip_into_a_failure() -> None:
    result = _pytest(POSTGRES_TEST, **NO_POSTGRES, CARBON254_REQUIRE_SERVICES="1")
    assert result.returncode == 1
    assert "CARBON254_REQUIRE_SERVICES=1 requires it" in result.stdout


@pytest.mark.parametrize(("required", "code"), [("0", 0), ("1", 1)])
def test_missing_shared_data(required: str, code: int) -> None:
    result = _pytest(
        "tests/store/test_real_pjm_data.py::test_a_year_of_real_prices_is_valid_canonical_data",
        CARBON254_SHARED_DATA="/nonexistent/shared/data",
        CARBON254_REQUIRE_SHARED=required,
    )
    assert result.returncode == code, result.stdout
    assert "shared data not available (/nonexistent/shared/data does not exist)" in result.stdout


@pytest.mark.parametrize(("required", "code"), [("0", 0), ("1", 1)])
def test_missing_airflow_environment(required: str, code: int) -> None:
    result = _pytest(
        "tests/deploy/test_airflow_dags.py::test_the_dag_folder_imports_without_errors",
        CARBON254_AIRFLOW_PYTHON="/nonexistent/.venv-airflow/bin/python",
        CARBON254_REQUIRE_SERVICES=required,
    )
    assert result.returncode == code, result.stdout
    reason = "Airflow environment not available (/nonexistent/.venv-airflow/bin/python does not"
    assert reason in result.stdout
    if code:
        assert "CARBON254_REQUIRE_SERVICES=1 requires it" in result.stdout
