"""Reading an upload of curve marks: a JSON body or a CSV one, into checked rows.

Both shapes end in `analytics.curves.check_marks`, so a JSON and a CSV upload of the
same marks are refused, or stored, identically. Every bad row is reported in one 422.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from ..analytics.curves import MAX_MARK_ROWS, check_marks
from .problems import INVALID_PARAMETER, Problem

__all__ = ["INVALID_MARKS", "MAX_UPLOAD_BYTES", "MarkUpload", "read_upload"]

INVALID_MARKS = "urn:carbon254:problem:invalid-marks"
MAX_UPLOAD_BYTES = 1 << 20
_SOURCE = re.compile(r"[\w .:@/#+()'&-]{1,100}")
_CSV_HEADER = ("month", "peak", "price")


@dataclass(frozen=True, slots=True)
class MarkUpload:
    marks: pa.Table  # analytics.curves.MARK_SCHEMA
    source: str | None


def _bad_body(detail: str, status: int = 422, **extra: Any) -> Problem:
    error = {"param": "body", "in": "body", "detail": detail}
    return Problem(status, detail, type=INVALID_PARAMETER, errors=[error], **extra)


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _json_rows(body: bytes) -> tuple[list[Any], Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _bad_body(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("marks"), list):
        raise _bad_body('the body must be an object {"marks": [...], "source": "..."}')
    unknown = sorted(set(document) - {"marks", "source"})
    if unknown:
        raise _bad_body(f"unknown member(s) {', '.join(unknown)}; expected marks and source")
    return document["marks"], document.get("source")


def _csv_rows(body: bytes) -> list[Any]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad_body("the CSV body must be UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    try:
        lines = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise _bad_body(f"the CSV body does not parse: {exc}") from None
    if not lines:
        raise _bad_body("the CSV body is empty; its header must be month,peak,price")
    header = tuple(cell.strip().lower() for cell in lines[0])
    if header != _CSV_HEADER:
        raise _bad_body(f"the CSV header must be month,peak,price; got {','.join(lines[0])}")
    if len(lines) - 1 > MAX_MARK_ROWS:
        raise _bad_body(f"at most {MAX_MARK_ROWS} rows per upload, got {len(lines) - 1}")
    rows: list[Any] = []
    for cells in lines[1:]:
        if len(cells) != len(_CSV_HEADER):
            rows.append(f"{len(cells)} fields, expected 3 (month,peak,price)")
        else:
            rows.append(dict(zip(_CSV_HEADER, cells, strict=True)))
    return rows


def _check_source(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SOURCE.fullmatch(value.strip()):
        raise _bad_body(
            f"{where} source must be 1-100 characters of letters, digits, spaces and ._:@/#+()'&-"
        )
    return value.strip()


def read_upload(content_type: str | None, body: bytes, source_param: str | None) -> MarkUpload:
    """The checked marks of a request body, or the problem: 413 (too big), 415 (neither
    JSON nor CSV), 422 (every bad row listed under `errors`)."""
    if len(body) > MAX_UPLOAD_BYTES:
        raise _bad_body(f"the body is over {MAX_UPLOAD_BYTES} bytes", status=413)
    media = _media(content_type)
    source = _check_source(source_param, "the query's")
    if media == "application/json" or media.endswith("+json"):
        rows, body_source = _json_rows(body)
        source = _check_source(body_source, "the body's") or source
    elif media in ("text/csv", "application/csv"):
        rows = _csv_rows(body)
    else:
        raise Problem(
            415,
            f"cannot read a {media or 'body without a Content-Type'}; send application/json "
            "or text/csv",
            available=["application/json", "text/csv"],
        )
    text_rows = [r for r in rows if isinstance(r, str)]
    table, errors = check_marks([r if not isinstance(r, str) else {} for r in rows])
    if text_rows:  # CSV lines of the wrong width: say so instead of "month is missing"
        errors = [e for e in errors if not isinstance(rows[(e["row"] or 1) - 1], str)]
        errors += [
            {"row": n, "field": None, "detail": f"row {n}: {r}"}
            for n, r in enumerate(rows, 1)
            if isinstance(r, str)
        ]
        errors.sort(key=lambda e: e["row"] or 0)
    if errors:
        detail = f"{len(errors)} problem(s) in the marks: " + "; ".join(
            e["detail"] for e in errors[:5]
        )
        raise Problem(422, detail, type=INVALID_MARKS, errors=errors)
    return MarkUpload(table, source)
