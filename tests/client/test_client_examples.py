"""The runnable examples in `examples/`, each run as a script against a live server over
the demo market (what `make run` serves), as a user would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbon254.ingest.demo import load_demo
from carbon254.service import create_app
from carbon254.service.settings import Settings

from ..service.service_helpers import open_duckdb, run_server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED = {
    "quickstart.py": ["status='ok'", "day-ahead instruments", "rows, datetime64[us, UTC]"],
    "async_many.py": ["rows streamed in pages of 500"],
    "curves_and_marks.py": [": flat curve", "marks version 1: 2 received, changed=True"],
    "quality_and_errors.py": ["batch ", "completeness on", "NotFound:", "ValidationError: start"],
}


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = open_duckdb(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    load_demo(store, days=7, nodes_per_iso=12)
    with run_server(create_app(store, settings=Settings(auth=False))) as url:
        yield url
    store.close()


def test_every_example_is_covered() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, demo_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARBON254_")}
    env["CARBON254_BASE_URL"] = demo_url
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for text in EXPECTED[name]:
        assert text in result.stdout, result.stdout
