"""Where the store lives: `CARBON254_DATABASE_URL` (PostgreSQL) or a DuckDB file under
`CARBON254_DATA_DIR` (default: the user's data directory)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["default_data_dir", "resolve_store_url"]

DUCKDB_FILE = "carbon254.duckdb"


def default_data_dir() -> Path:
    """`CARBON254_DATA_DIR`, else the platform's per-user data directory."""
    configured = os.environ.get("CARBON254_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "carbon254"


def resolve_store_url(url: str | None = None) -> str:
    """The store URL to use: explicit, then `CARBON254_DATABASE_URL`, then the DuckDB file."""
    url = url or os.environ.get("CARBON254_DATABASE_URL")
    if url:
        return url
    return f"duckdb://{(default_data_dir() / DUCKDB_FILE).absolute()}"
