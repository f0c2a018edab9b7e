"""Checks on raw bytes before parsing: is this the data we asked for?

Upstreams answer failures in many shapes: an HTML maintenance page with status 200, an
empty body, a zip cut off mid-transfer, a CSV whose columns changed overnight. Each is
turned into a `PayloadError` that names the dataset and says what was wrong.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from .errors import PayloadError
from .http import RawResponse

__all__ = [
    "check_columns",
    "check_payload",
    "read_csv",
    "read_json",
    "read_zip_members",
]

_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


def check_payload(raw: RawResponse) -> bytes:
    """The body, unless it is empty or an HTML page in place of data."""
    body = raw.content
    if not body or not body.strip():
        raise PayloadError(raw.dataset, f"empty response body from {raw.url}")
    head = body[:512].lstrip().lower()
    content_type = (raw.content_type or "").lower()
    if head.startswith(_HTML_MARKERS) or "text/html" in content_type:
        title = _html_title(body)
        raise PayloadError(
            raw.dataset,
            f"got an HTML page instead of data from {raw.url}" + (f" ({title})" if title else ""),
        )
    return body


def _html_title(body: bytes) -> str:
    lower = body[:4096].lower()
    start = lower.find(b"<title>")
    end = lower.find(b"</title>")
    if start < 0 or end <= start:
        return ""
    return body[start + 7 : end].decode("utf-8", "replace").strip()[:120]


def read_json(raw: RawResponse) -> Any:
    body = check_payload(raw)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise PayloadError(
            raw.dataset, f"response from {raw.url} is not valid JSON: {exc}"
        ) from None


def read_zip_members(raw: RawResponse, *, suffix: str = ".csv") -> list[tuple[str, bytes]]:
    """(name, bytes) of every member ending in `suffix` (case-insensitive), nested zips
    opened. A truncated or corrupt archive raises rather than yielding what it can."""
    body = check_payload(raw)
    members: list[tuple[str, bytes]] = []
    _walk_zip(raw, body, suffix.lower(), members, depth=0)
    if not members:
        raise PayloadError(raw.dataset, f"zip from {raw.url} holds no {suffix} file")
    return members


def _walk_zip(
    raw: RawResponse, body: bytes, suffix: str, out: list[tuple[str, bytes]], depth: int
) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                data = archive.read(info)
                name = info.filename.lower()
                if name.endswith(".zip") and depth < 2:
                    _walk_zip(raw, data, suffix, out, depth + 1)
                elif name.endswith(suffix):
                    out.append((info.filename, data))
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise PayloadError(raw.dataset, f"truncated or corrupt zip from {raw.url}: {exc}") from None


def check_columns(
    dataset: str,
    columns: Iterable[str],
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    where: str = "",
) -> None:
    """Raise if a required column is missing or a column is not one we know.

    Unknown columns fail on purpose: a silently renamed or added column is how schema
    drift upstream turns into wrong numbers downstream.
    """
    columns = list(columns)
    place = f" in {where}" if where else ""
    missing = [c for c in required if c not in columns]
    if missing:
        raise PayloadError(dataset, f"missing column(s){place}: {', '.join(missing)}")
    known = set(required) | set(optional)
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise PayloadError(dataset, f"unknown column(s){place}: {', '.join(unknown)}")


def read_csv(
    dataset: str,
    content: bytes,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    where: str = "",
    strings: Sequence[str] = (),
    skip_rows: int = 0,
) -> pa.Table:
    """A CSV as an Arrow table after the column check. `strings` are read as text
    (ids like "0042" or hour labels like "01:00" must not become numbers)."""
    if not content.strip():
        raise PayloadError(dataset, f"empty CSV{' in ' + where if where else ''}")
    wanted = set(strings)
    header = _header(content, skip_rows)
    try:
        table = pacsv.read_csv(
            io.BytesIO(content),
            read_options=pacsv.ReadOptions(skip_rows=skip_rows),
            convert_options=pacsv.ConvertOptions(
                # keyed by the header as written, which may carry stray spaces
                column_types={raw: pa.string() for raw in header if raw.strip() in wanted},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise PayloadError(
            dataset, f"unreadable CSV{' in ' + where if where else ''}: {exc}"
        ) from None
    names = [name.strip().lstrip("\ufeff") for name in table.column_names]
    if names != table.column_names:
        table = table.rename_columns(names)
    check_columns(dataset, names, required, optional, where=where)
    return table


def _header(content: bytes, skip_rows: int) -> list[str]:
    lines = content.split(b"\n", skip_rows + 1)
    line = lines[skip_rows] if len(lines) > skip_rows else b""
    text = line.decode("utf-8-sig", "replace").rstrip("\r")
    return next(csv.reader([text]), [])
