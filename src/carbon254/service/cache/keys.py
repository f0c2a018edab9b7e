"""What a cached response is keyed by, and how long it lives.

A key names exactly the inputs a response depends on: the cache-schema version, the
path, the query with its parameters sorted by name and its instrument ids canonical, the
negotiation input (`Accept`; `format` is in the query), and the generation of every
instrument the response covers (plus the feed's epoch). Ingestion bumps a generation
after it commits, so a changed instrument's responses stop matching at once; the old
entries are never deleted, they age out by TTL and LRU.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from ...core import InstrumentId, InvalidInstrumentId
from ...ingest.events import ALL, Generations

__all__ = [
    "CACHEABLE_PATHS",
    "INSTRUMENT_PARAMS",
    "LIVE_TAIL",
    "SCHEMA_VERSION",
    "CacheRequest",
    "cache_key",
    "describe_request",
    "ttl_seconds",
]

SCHEMA_VERSION = "v1"
"""Bump when the stored entry format or a cached route's body format changes."""
CACHEABLE_PATHS = frozenset({"/api/v1/prices", "/api/v1/prices/latest", "/api/v1/spreads"})
INSTRUMENT_PARAMS = ("instruments", "hub", "nodes")
_LIST_PARAMS = frozenset({"instruments", "nodes"})  # the others take one id
LIVE_TAIL = timedelta(hours=2)
"""A response whose `end` is later than now minus this may still change: short TTL."""
_READABLE_KEY_MAX = 200
_JITTER = 0.1


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """A cacheable GET, normalized."""

    path: str
    query: str  # parameters sorted by name, instrument ids canonical
    accept: str  # lower case, no spaces
    instruments: tuple[str, ...]  # sorted, unique; (ALL,) when the request names none
    end: datetime | None  # the `end` parameter, when it parses


def describe_request(path: str, query_string: bytes, accept: str) -> CacheRequest | None:
    """The normalized request, or None when the cache must stay out of the way (an
    instrument id that does not parse: the route answers with its 422)."""
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        grouped.setdefault(name, []).append(value)
    ids: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for name in sorted(grouped):
        values = grouped[name]
        if name in INSTRUMENT_PARAMS:
            # A list's repeats are one list (the routes join them); a single id's stay
            # apart (the route reads the last one, and `hub=a,b` is its 422).
            for group in [values] if name in _LIST_PARAMS else [[v] for v in values]:
                canonical = _canonical_ids(group)
                if canonical is None:
                    return None
                ids.update(canonical)
                pairs.append((name, ",".join(canonical)))
        else:
            pairs.extend((name, value) for value in values)
    accept = "".join(accept.split()).lower()
    instruments = tuple(sorted(ids)) if ids else (ALL,)
    return CacheRequest(path, urlencode(pairs), accept, instruments, _instant(grouped.get("end")))


def _canonical_ids(values: list[str]) -> list[str] | None:
    out = []
    for value in values:
        for text in value.split(","):
            try:
                out.append(str(InstrumentId.parse(text.strip())))
            except (InvalidInstrumentId, ValueError):
                return None
    return out


def _instant(values: list[str] | None) -> datetime | None:
    """Like the routes' `parse_instant`: ISO-8601, naive means UTC; None if it fails."""
    if not values:
        return None
    try:
        instant = datetime.fromisoformat(values[-1].strip())
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def cache_key(namespace: str, request: CacheRequest, generations: Generations) -> str:
    """`{ns}:v1:resp:<path>?<query>|a=<accept>|e=<epoch>|g=<generations>`, readable when
    short; longer ones become `{ns}:v1:resp:<path>:<sha256 of all that>`."""
    gens = ".".join(map(str, generations.values))
    material = f"{request.path}?{request.query}|a={request.accept}|e={generations.epoch}|g={gens}"
    prefix = f"{namespace}:{SCHEMA_VERSION}:resp:"
    if len(material) <= _READABLE_KEY_MAX:
        return prefix + material
    digest = hashlib.sha256(material.encode()).hexdigest()
    return f"{prefix}{request.path}:{digest}"


def ttl_seconds(
    request: CacheRequest,
    *,
    history_ttl: float,
    live_ttl: float,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> float:
    """History (ends before the live tail) keeps `history_ttl`; anything reaching into
    the tail, or with no end at all (latest prices), `live_ttl` ±10 % so that entries
    made together do not all expire together."""
    now = now or datetime.now(UTC)
    if request.end is not None and request.end <= now - LIVE_TAIL:
        return float(history_ttl)
    return live_ttl * (rng or random).uniform(1 - _JITTER, 1 + _JITTER)
