"""`carbon254 apikey create | list | revoke` on both store backends: the key is printed
once, listings never show a secret or hash, bad input exits 2 with a reason, and a key
made by the command is what a live server accepts (until it is revoked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from carbon254.cli import main
from carbon254.service import create_app
from carbon254.service.auth.apikeys import key_sha256, parse_key
from carbon254.service.settings import Settings
from carbon254.store import open_store

from .service.service_helpers import run_server


def _run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main(["--store", url, "apikey", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_revoke(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(
        capsys, store_url, "create", "--name", "pricing desk", "--scopes", "trade,read",
        "--expires", "2031-01-01", "--rate-limit", "1200",
    )  # fmt: skip
    assert code == 0, err
    key = out.strip()
    key_id = parse_key(key)
    assert key_id is not None and out.count("\n") == 1  # stdout: the key alone
    assert "will not be shown again" in err and key_id in err and key not in err
    assert "2031-01-01T00:00:00Z" in err and "1200/min" in err

    code, out, _ = _run(capsys, store_url, "list")
    assert code == 0
    assert key_id in out and "pricing desk" in out and "trade,read" in out
    assert "active until 2031-01-01T00:00:00Z" in out and "1200" in out
    secret = key.split("_", 2)[2]
    assert secret not in out and key_sha256(key) not in out

    code, out, _ = _run(capsys, store_url, "list", "--json")
    (row,) = json.loads(out)
    assert row["key_id"] == key_id and row["scopes"] == ["trade", "read"] and row["usable"]
    assert row["last_used_at"] is None and row["expires_at"] == "2031-01-01T00:00:00Z"
    assert secret not in out and key_sha256(key) not in out

    code, out, _ = _run(capsys, store_url, "revoke", key_id)
    assert code == 0 and f"API key {key_id}" in out and "revoked" in out
    code, out, _ = _run(capsys, store_url, "list")
    assert "revoked 20" in out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("create", "--name", "x", "--scopes", "read,root"), "scopes are a comma-separated"),
        (("create", "--name", "x", "--scopes", ""), "scopes are a comma-separated"),
        (("create", "--name", "x", "--scopes", "read", "--expires", "2020-01-01"), "in the past"),
        (("create", "--name", "x", "--scopes", "read", "--expires", "soon"), "is not a date"),
        (("create", "--name", "x", "--scopes", "read", "--expires", "2030-01-01T00:00"), "offset"),
        (("create", "--name", "x", "--scopes", "read", "--rate-limit", "0"), ">= 1"),
        (("create", "--name", " ", "--scopes", "read"), "--name must not be empty"),
        (("create", "--scopes", "read"), "--name"),
        (("revoke", "nokey000"), "no API key 'nokey000'"),
        (("revoke", "Bad Id"), "4-32 characters"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], reason: str
) -> None:
    url = f"duckdb://{tmp_path / 'keys.duckdb'}"
    try:
        code, _, err = _run(capsys, url, *args)
    except SystemExit as exc:  # argparse refuses before main's handler
        code, err = int(exc.code or 0), capsys.readouterr().err
    assert code == 2
    assert reason in err.strip().splitlines()[-1]


def test_an_empty_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, f"duckdb://{tmp_path / 'k.duckdb'}", "list")
    assert code == 0 and "no API keys" in out


def test_a_key_from_the_command_opens_the_api(tmp_path: Path) -> None:
    """As a user runs it (a subprocess), then a server over the same store file."""
    url = f"duckdb://{tmp_path / 'k.duckdb'}"
    env = os.environ | {"CARBON254_DATA_DIR": str(tmp_path)}
    made = subprocess.run(
        [sys.executable, "-m", "carbon254.cli", "--store", url, "apikey", "create",
         "--name", "reader", "--scopes", "read"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    with open_store(url) as store:
        app = create_app(store, settings=Settings(), parts=("rest",))
        with run_server(app) as base:
            ok = httpx.get(f"{base}/api/v1/instruments", headers={"X-API-Key": key})
            refused = httpx.post(f"{base}/api/v1/instruments", headers={"X-API-Key": key})
            wrong = httpx.get(f"{base}/api/v1/instruments", headers={"X-API-Key": key + "x"})
    assert ok.status_code == 200
    assert refused.status_code == 403
    assert wrong.status_code == 401
