"""The `carbon254` command, run as a user runs it: a subprocess with its own data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CLI = [sys.executable, "-m", "carbon254.cli"]


def run(*args: str, data_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"CARBON254_DATA_DIR": str(data_dir)}
    env.pop("CARBON254_DATABASE_URL", None)
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run("--help", data_dir=tmp_path)
    assert result.returncode == 0
    for command in ("db", "demo", "serve"):
        assert command in result.stdout


def test_db_init_then_status(tmp_path: Path) -> None:
    init = run("db", "init", data_dir=tmp_path)
    assert init.returncode == 0, init.stderr
    from carbon254.store.duckdb_store import DuckDBStore

    with DuckDBStore(":memory:") as latest:
        version = latest.latest_schema_version()
    assert f"schema version {version}" in init.stdout
    assert (tmp_path / "carbon254.duckdb").exists()
    status = run("db", "status", data_dir=tmp_path)
    assert status.returncode == 0
    assert "prices          0" in status.stdout


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("demo", "load", "--isos", "PJM,XYZ"), "ISOs are PJM"),
        (("demo", "load", "--start", "2025-13-01"), "is not a date"),
        (("demo", "load", "--days", "0"), "days"),
        (("demo", "load", "--isos", "ERCOT"), "ERCOT"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, args: tuple[str, ...], reason: str
) -> None:
    result = run(*args, data_dir=tmp_path)
    assert result.returncode == 2
    assert reason in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("carbon254")]) == 1


def test_unreachable_store_is_one_line_exit_1(tmp_path: Path) -> None:
    result = run("--store", "postgresql://127.0.0.1:1/nothing", "db", "status", data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("carbon254: error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(port: int, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`carbon254 serve` in a child process, once its /health answers."""
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), "--log-level", "warning", "--no-scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    pytest.fail(f"server did not come up: {server.communicate(timeout=10)[1][-2000:]}")


def test_demo_load_then_serve_end_to_end(tmp_path: Path) -> None:
    """Data in (demo load) → store (DuckDB file) → out over HTTP (serve), as `make run`
    does it: authentication off for the demo, and the server says so loudly."""
    args = ("demo", "load", "--days", "3", "--nodes", "12", "--start", "2025-11-01")
    loaded = run(*args, data_dir=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "demo market loaded" in loaded.stdout
    again = run(*args, "--if-empty", data_dir=tmp_path)
    assert "skipped" in again.stdout

    port = _free_port()
    env = os.environ | {"CARBON254_DATA_DIR": str(tmp_path), "CARBON254_AUTH": "off"}
    server, base = _serve(port, env)
    try:
        hub = "PJM.DA.LMP.51288"
        # 2025-11-02 is the fall-back day: 25 hours, 04:00Z to 05:00Z next day.
        params = {
            "instruments": f"{hub},PJM.RT5.LMP.51288",
            "start": "2025-11-02T04:00:00Z",
            "end": "2025-11-03T05:00:00Z",
        }
        response = httpx.get(f"{base}/api/v1/prices", params=params, timeout=10)
        assert response.status_code == 200, response.text
        columns = response.json()["columns"]
        counts = {i: columns["instrument"].count(i) for i in set(columns["instrument"])}
        assert counts == {hub: 25, "PJM.RT5.LMP.51288": 300}
        for v, e, c, loss in zip(
            columns["value"], columns["energy"], columns["congestion"], columns["loss"], strict=True
        ):
            assert abs(v - (e + c + loss)) <= 0.01 + 1e-9
        bad = httpx.get(f"{base}/api/v1/prices", params=params | {"instruments": "PJM.DA.LMP"})
        assert bad.status_code == 422
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    assert f"http://localhost:{port}" in out
    assert server.returncode == 0, err
    assert "authentication is OFF (CARBON254_AUTH=off): demo only" in err


def test_serve_has_authentication_on_unless_told(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CARBON254_AUTH"}
    env["CARBON254_DATA_DIR"] = str(tmp_path)
    server, base = _serve(_free_port(), env)
    try:
        refused = httpx.get(f"{base}/api/v1/instruments", timeout=10)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=20)
    assert "authentication is OFF" not in err


def test_a_locked_duckdb_file_is_a_one_line_error(tmp_path: Path) -> None:
    from carbon254.store import open_store

    with open_store(f"duckdb://{tmp_path / 'carbon254.duckdb'}"):
        result = run("db", "status", data_dir=tmp_path)
    assert result.returncode == 1
    assert "in use by another process" in result.stderr and "Traceback" not in result.stderr
