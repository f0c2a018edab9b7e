"""bench/ingest_bench.py keeps running: a tiny day end to end through both sides."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
SUMMARY = re.compile(
    r"^SUMMARY rows_per_s=\d+ vs_raw_insert=\d+\.\d\d speedup_vs_gridstatus=\d+\.\d$"
)


def test_quick_run_prints_the_summary_line(tmp_path: Path) -> None:
    pytest.importorskip("gridstatus", reason="gridstatus (dev extra) is the bench's peer")
    command = [sys.executable, str(BENCH / "ingest_bench.py"), "--quick"]
    command += ["--nodes", "50", "--runs", "1", "--data-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert any(
        line.startswith("check: same rows (ours = gridstatus = generated): 14,400 rows, 50 ")
        for line in lines
    )
    assert list(tmp_path.iterdir()), "generated pages are cached in --data-dir"
