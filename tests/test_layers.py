"""The layer rules of DESIGN.md, checked on the source: imports point down only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "carbon254"

# package -> project packages it may not import
FORBIDDEN = {
    "core": {"connectors", "store", "analytics", "ingest", "service", "client", "cli"},
    "client": {"connectors", "store", "analytics", "ingest", "service", "cli"},
    "analytics": {"service", "store", "ingest", "connectors", "client", "cli"},
    "connectors": {"service", "store", "ingest", "analytics", "client", "cli"},
    "store": {"service", "ingest", "connectors", "analytics", "client", "cli"},
    "ingest": {"service", "client", "cli"},
    "service": {"client", "cli"},
}


def _project_imports(path: Path) -> set[str]:
    package = path.relative_to(SRC).parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = list(package[:-1])[: len(package) - node.level]
                parts = [*base, *(node.module or "").split(".")] if node.module else base
                if parts:
                    found.add(parts[0])
                elif node.level > len(package) - 1:
                    found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("carbon254."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("carbon254."):
                    found.add(alias.name.split(".")[1])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down(package: str) -> None:
    offenders = []
    for path in (SRC / package).rglob("*.py"):
        bad = _project_imports(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(SRC)} imports {sorted(bad)}")
    assert not offenders


def test_importing_carbon254_loads_no_server_module() -> None:
    code = (
        "import sys, carbon254, carbon254.core;"
        "server = ('fastapi', 'duckdb', 'psycopg', 'uvicorn', 'starlette');"
        "bad = [m for m in server if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
