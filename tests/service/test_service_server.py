"""`serve()` in a real child process: opens and migrates the store, answers, stops on SIGINT."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_one_process_and_stops_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "served.duckdb"
    port = _free_port()
    code = (
        "from carbon254.service.server import serve; "
        f"serve({f'duckdb:///{path}'!r}, '127.0.0.1', {port}, log_level='warning')"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["store"] == "duckdb"
        assert response.json()["schema_version"] >= 1
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert path.exists()
