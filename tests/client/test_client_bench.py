"""bench/sdk_bench.py keeps running: a quick run prints its table and the SUMMARY line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"^SUMMARY arrow_ms=\d+\.\d{3} json_ms=\d+\.\d{3} arrow_speedup=\d+\.\d\d$")


def test_quick_run_prints_the_summary_line() -> None:
    command = [sys.executable, str(REPO / "bench" / "sdk_bench.py"), "--quick"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert any("8,928 rows" in line for line in lines)
    assert any(line.startswith("cold ") for line in lines)
    assert any(line.startswith("warm ") for line in lines)
