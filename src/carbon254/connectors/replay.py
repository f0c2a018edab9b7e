"""Serve recorded responses instead of the network (tests, `dag.test()`, demos).

A cassette directory holds `index.json`, a list of entries
`{"method", "url", "status", "headers", "file"}`; a request matches an entry on method,
host, path and query, ignoring the order of parameters, `_`-prefixed cache busters and
secret parameters. An unmatched request is an error, never a network call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from .http import SECRET_NAMES

__all__ = ["ReplayTransport", "request_key", "write_cassette"]


def request_key(method: str, url: str | httpx.URL) -> str:
    parts = urlsplit(str(url))
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.startswith("_") and k.lower() not in SECRET_NAMES
    )
    return f"{method.upper()} {parts.netloc}{parts.path}?" + "&".join(f"{k}={v}" for k, v in query)


class ReplayTransport(httpx.BaseTransport):
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        index = json.loads((self.directory / "index.json").read_text())
        self._entries = {request_key(e.get("method", "GET"), e["url"]): e for e in index}
        self.requests: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request_key(request.method, request.url)
        self.requests.append(key)
        entry = self._entries.get(key)
        if entry is None:
            return httpx.Response(
                599,
                text=f"no recorded response for {key} in {self.directory}",
                request=request,
            )
        body = (self.directory / entry["file"]).read_bytes()
        return httpx.Response(
            entry.get("status", 200),
            headers=entry.get("headers", {}),
            content=body,
            request=request,
        )


def write_cassette(directory: str | Path, entries: Iterable[Mapping[str, Any]]) -> Path:
    """Write `index.json` for `entries` (each with the fields above); returns its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.json"
    path.write_text(json.dumps(list(entries), indent=1))
    return path
