"""What `pip install carbon254` pulls: the SDK's four dependencies and nothing of the server."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_plain_install_is_the_sdk_only() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert _names(project["dependencies"]) == {"httpx", "pydantic", "pandas", "pyarrow"}
    assert project["requires-python"] == ">=3.11"


def test_server_pieces_are_extras() -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert {"duckdb", "fastapi", "uvicorn", "psycopg"} <= _names(extras["server"])
    assert {"pytest", "ruff"} <= _names(extras["dev"])
    assert "ml" in extras
