"""Opaque page cursors: where the last page ended, and which query it belongs to.

A cursor is base64url of a small JSON object: the (instrument, interval_start) of the
last row served, a fingerprint of the query (so a cursor cannot silently continue a
different query) and a check over both (so an edited cursor is refused, not followed
to an arbitrary place). It holds no secret and grants nothing: it is a position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ..core.schema import EARLIEST_INTERVAL, LATEST_INTERVAL
from .params import ParamErrors

__all__ = ["MAX_CURSOR_LENGTH", "Position", "decode_cursor", "encode_cursor", "fingerprint"]

MAX_CURSOR_LENGTH = 1024
_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Position:
    """The last row a page served: the next page starts right after it."""

    instrument: str
    interval_start: datetime  # UTC


def fingerprint(parts: Mapping[str, Any]) -> str:
    """A short stable hash of the parameters that decide which rows a query returns."""
    text = orjson.dumps(dict(parts), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(text).hexdigest()[:16]


def _check(instrument: str, micros: int, query: str) -> str:
    return hashlib.sha256(f"{_VERSION}|{instrument}|{micros}|{query}".encode()).hexdigest()[:12]


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(microseconds=1)


def encode_cursor(position: Position, query: str) -> str:
    micros = _micros(position.interval_start)
    body = {
        "v": _VERSION,
        "i": position.instrument,
        "t": micros,
        "q": query,
        "c": _check(position.instrument, micros, query),
    }
    return base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, query: str, errors: ParamErrors) -> Position | None:
    """The position in `token`, if it is intact and was issued for `query`; else an error."""
    if len(token) > MAX_CURSOR_LENGTH:
        errors.add("cursor", f"cursor is longer than {MAX_CURSOR_LENGTH} characters")
        return None
    try:
        text = token.strip()
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        body = orjson.loads(raw)
        instrument, micros, issued_for = body["i"], body["t"], body["q"]
        intact = (
            body.get("v") == _VERSION
            and isinstance(instrument, str)
            and isinstance(micros, int)
            and isinstance(issued_for, str)
            and body.get("c") == _check(instrument, micros, issued_for)
        )
        at = _EPOCH + timedelta(microseconds=micros) if intact else None
        if at is not None and not EARLIEST_INTERVAL <= at <= LATEST_INTERVAL:
            intact = False
    except (binascii.Error, ValueError, TypeError, KeyError, OverflowError, orjson.JSONDecodeError):
        intact, at = False, None
    if not intact or at is None:
        errors.add(
            "cursor",
            "cursor is not one this API issued (damaged or edited); use the `next_cursor` "
            "of the previous page as it is, or start again without a cursor",
        )
        return None
    if issued_for != query:
        errors.add(
            "cursor",
            "cursor belongs to a different query: instruments, start, end, as_of, resample, "
            "agg, peak and tz must stay as they were on the first page (limit and format "
            "may change)",
        )
        return None
    return Position(instrument, at)
