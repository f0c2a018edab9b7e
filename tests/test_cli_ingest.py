"""`carbon254 ingest | backfill | quality | jobs`, in process on fake datasets (the
upstream is served through respx), and as a subprocess for bad input on the real registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import respx

from carbon254.cli import main
from carbon254.core import Iso

from .ingest.conftest import fakes, upstream  # noqa: F401 (fixtures)
from .ingest.fakes import HOST, NODES, Upstream, day_payload

START, END = date(2025, 10, 31), date(2025, 11, 2)
DAYS = [START + timedelta(days=i) for i in range(3)]
ROWS = 3 * (24 + 24 + 25)


@pytest.fixture
def cli(fakes, upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    """Run `carbon254 --store <tmp duckdb> ARGS...` in process; returns (code, out, err)."""
    store = f"duckdb://{tmp_path / 'store.duckdb'}"

    def run(*args: str, capsys=None) -> int:
        with respx.mock(assert_all_called=False) as mock:
            mock.route(url__startswith=HOST).mock(side_effect=upstream.handle)
            return main(["--store", store, *args])

    return run


def publish(upstream: Upstream, days=DAYS, nodes=NODES) -> None:  # noqa: F811
    for day in days:
        upstream.put("test.da_prices", day, day_payload(Iso.PJM, day, nodes))


def test_ingest_then_backfill_skips_what_is_done(cli, upstream, capsys) -> None:  # noqa: F811
    publish(upstream)
    assert cli("ingest", "test.da_prices", "--start", "2025-10-31", "--end", "2025-11-01") == 0
    out, err = capsys.readouterr()
    assert (
        "test.da_prices (test_da_ingestion): 2 window(s): 2 succeeded; 144 rows, 144 changed" in out
    )
    assert err.count("test.da_prices [") == 2  # one progress line per window (not a tty)
    assert "[2/2] 2025-11-01T04:00+00:00 succeeded, 72 rows" in err
    assert cli("backfill", "test.da_prices", "--start", "2025-10-31", "--end", "2025-11-02") == 0
    out, _ = capsys.readouterr()
    assert "2 of 3 already done; 1 window(s): 1 succeeded; 75 rows, 75 changed" in out
    assert upstream.count("test.da_prices") == 3
    assert cli("quality", "--dataset", "test.da_prices", "--start", "2025-10-31",
               "--end", "2025-11-02") == 0  # fmt: skip
    out, _ = capsys.readouterr()
    assert "test.da_prices" in out and "100.00%" in out and out.strip().endswith("passed")
    assert cli("jobs", "runs", "--job", "test_da_ingestion", "--limit", "2") == 0
    out, _ = capsys.readouterr()
    assert out.count("succeeded") == 2 and "test.da_prices" in out


def test_quality_below_target_exits_1_and_json_is_the_report(cli, upstream, capsys) -> None:  # noqa: F811
    publish(upstream, DAYS[:2])
    publish(upstream, DAYS[2:], NODES[:2])
    assert cli("backfill", "test.da_prices", "--start", "2025-10-31", "--end", "2025-11-02",
               "--quiet") == 0  # fmt: skip
    capsys.readouterr()
    args = (
        "quality",
        "--dataset",
        "test.da_prices",
        "--start",
        "2025-10-31",
        "--end",
        "2025-11-02",
    )
    assert cli(*args) == 1
    out, _ = capsys.readouterr()
    assert "incomplete" in out and "2025-11-02: 66.67% (25 intervals x 3 locations)" in out
    assert "no rows: PJM.DA.LMP.51290" in out and out.strip().endswith("below target")
    assert cli(*args, "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False
    [dataset] = report["datasets"]
    assert dataset["rows"] == ROWS - 25 and dataset["expected_rows"] == ROWS
    assert dataset["gaps"][0]["instrument"] == "PJM.DA.LMP.51290"
    assert cli(*args, "--target", "60") == 0


def test_a_failed_window_exits_1_with_one_line(cli, upstream, capsys) -> None:  # noqa: F811
    publish(upstream)
    upstream.status = 404
    upstream.fail[("test.da_prices", "2025-11-01")] = 1
    assert cli("backfill", "test.da_prices", "--start", "2025-10-31", "--end", "2025-11-02") == 1
    out, err = capsys.readouterr()
    assert "2 succeeded, 1 failed" in out
    lines = [line for line in err.splitlines() if line.startswith("carbon254: error:")]
    assert (
        len(lines) == 1 and "1 window(s) failed; first: test.da_prices: HTTP 404 from" in lines[0]
    )
    assert cli("backfill", "test.da_prices", "--start", "2025-10-31", "--end", "2025-11-02") == 0


def test_missing_credentials_exit_1_naming_the_variable(cli, capsys) -> None:
    assert cli("ingest", "test.keyed_prices", "--start", "2025-10-31") == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "carbon254: error: test.keyed_prices: set TEST_FAKE_KEY in the environment to fetch "
        "this dataset"
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("ingest", "nope.x", "--start", "2025-10-31"), "dataset nope.x is not registered"),
        (("backfill", "test.da_prices", "--start", "2025-11-02", "--end", "2025-11-01"),
         "--end 2025-11-01 is before --start 2025-11-02"),
        (("quality", "--dataset", "nope.x"), "unknown dataset 'nope.x'"),
        (("quality", "--start", "2025-11-02", "--end", "2025-11-01"), "is before --start"),
        (("quality", "--target", "0"), "--target is a percentage"),
        (("jobs", "run", "no_such_job"), "unknown job 'no_such_job'"),
        (("jobs", "runs", "--limit", "0"), "--limit must be at least 1"),
    ],
)  # fmt: skip
def test_bad_input_exits_2(cli, capsys, args, reason) -> None:
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("carbon254: error: ") and reason in err
    assert len(err.strip().splitlines()) == 1


def test_jobs_run_and_list(cli, upstream, capsys) -> None:  # noqa: F811
    publish(upstream)
    assert cli("jobs", "run", "test_da_ingestion", "--start", "2025-10-31", "--end",
               "2025-11-02", "--quiet") == 0  # fmt: skip
    out, _ = capsys.readouterr()
    assert "test_da_ingestion: 6 window(s): 3 succeeded, 3 skipped; 219 rows" in out
    assert cli("jobs", "list") == 0
    out, _ = capsys.readouterr()
    assert "test_keyed_ingestion" in out and "test.keyed_prices (needs TEST_FAKE_KEY)" in out
    assert "test.not_written_yet (not registered)" in out


def test_progress_bar_redraws_in_place_on_a_terminal() -> None:
    import io

    from carbon254.cli_ingest import ProgressBar
    from carbon254.ingest.runner import RunResult

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = ProgressBar("x", stream, width=10)
    from datetime import UTC, datetime

    at = datetime(2025, 11, 2, 4, tzinfo=UTC)
    bar(1, 2, RunResult("j", "x", at, at, "succeeded", rows=5))
    bar(2, 2, RunResult("j", "x", at, at, "succeeded", rows=5))
    text = stream.getvalue()
    assert text.startswith("\rx [#####.....] 1/2") and "\rx [##########] 2/2" in text
    assert text.endswith("\n") and text.count("\n") == 1


# -- as a user runs it: a subprocess on the real registry ------------------------------
CLI = [sys.executable, "-m", "carbon254.cli"]


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CARBON254_DATA_DIR": str(data_dir)}
    for name in ("CARBON254_DATABASE_URL", "PJM_API_KEY"):
        env.pop(name, None)
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=120)


def test_real_registry_bad_input_and_missing_key(tmp_path: Path) -> None:
    unknown = run("backfill", "pjm.no_such_feed", "--start", "2025-11-02", data_dir=tmp_path)
    assert unknown.returncode == 2 and "pjm.no_such_feed is not registered" in unknown.stderr
    bad_date = run("ingest", "pjm.da_hrl_lmps", "--start", "2025-13-01", data_dir=tmp_path)
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stderr
    keyless = run("ingest", "pjm.da_hrl_lmps", "--start", "2025-11-02", data_dir=tmp_path)
    assert keyless.returncode == 1
    assert keyless.stderr.strip() == (
        "carbon254: error: pjm.da_hrl_lmps: set PJM_API_KEY in the environment to fetch this "
        "dataset"
    )
    listing = run("jobs", "list", data_dir=tmp_path)
    assert listing.returncode == 0 and "pjm_rt_ingestion" in listing.stdout
    assert "Traceback" not in unknown.stderr + bad_date.stderr + keyless.stderr


def test_serve_starts_the_scheduler_and_stops_it_cleanly(tmp_path: Path) -> None:
    """The one job allowed needs PJM_API_KEY, which is unset: one log line, no network."""
    import signal
    import socket
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "CARBON254_DATA_DIR": str(tmp_path),
        "CARBON254_SCHEDULER_JOBS": "pjm_rt_ingestion",
    }
    for name in ("CARBON254_DATABASE_URL", "PJM_API_KEY", "CARBON254_SCHEDULER"):
        env.pop(name, None)
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "info"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(150):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not come up")
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    skipped = [line for line in err.splitlines() if "skipped" in line]
    assert len(skipped) == 1 and "job pjm_rt_ingestion skipped" in skipped[0]
    assert "PJM_API_KEY" in skipped[0]
    assert "scheduler: stopped" in err
