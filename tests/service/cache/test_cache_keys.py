"""Keys and TTLs: what a cached response is keyed by and how long it lives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from carbon254.ingest.events import ALL, Generations
from carbon254.service.cache.keys import cache_key, describe_request, ttl_seconds

NOW = datetime(2025, 10, 15, 12, 0, tzinfo=UTC)


GENS = Generations("e1", [1])


def _key(query: str, accept: str = "", gens: Generations = GENS) -> str:
    request = describe_request("/api/v1/prices", query.encode(), accept)
    assert request is not None
    return cache_key("c254", request, gens)


def test_a_key_is_readable_and_names_every_input():
    key = _key("instruments=pjm.rt5.lmp.1&start=a&end=b", "Application/JSON")
    assert key == (
        "c254:v1:resp:/api/v1/prices?end=b&instruments=PJM.RT5.LMP.1&start=a"
        "|a=application/json|e=e1|g=1"
    )


def test_spelling_does_not_change_the_key_but_every_input_does():
    base = _key("instruments=PJM.RT5.LMP.1,PJM.RT5.LMP.2&start=a&end=b")
    assert _key("end=b&start=a&instruments=pjm.rt5.lmp.1&instruments=PJM.RT5.LMP.2") == base
    assert _key("instruments=PJM.RT5.LMP.1, PJM.RT5.LMP.2&start=a&end=b") == base
    others = {
        _key("instruments=PJM.RT5.LMP.2,PJM.RT5.LMP.1&start=a&end=b"),  # order is kept
        _key("instruments=PJM.RT5.LMP.1,PJM.RT5.LMP.2&start=a&end=c"),
        _key("instruments=PJM.RT5.LMP.1,PJM.RT5.LMP.2&start=a&end=b&format=csv"),
        _key("instruments=PJM.RT5.LMP.1,PJM.RT5.LMP.2&start=a&end=b", "text/csv"),
        _key("instruments=PJM.RT5.LMP.1,PJM.RT5.LMP.2&start=a&end=b", gens=Generations("e1", [2])),
        _key("instruments=PJM.RT5.LMP.1,PJM.RT5.LMP.2&start=a&end=b", gens=Generations("e2", [1])),
    }
    assert base not in others and len(others) == 6


def test_instruments_come_from_every_id_parameter_sorted_and_unique():
    request = describe_request(
        "/api/v1/spreads", b"hub=PJM.RT5.LMP.WEST&nodes=PJM.RT5.LMP.2,pjm.rt5.lmp.west", ""
    )
    assert request is not None
    # sorted, unique; a location keeps its case (ids are case-sensitive there)
    assert request.instruments == ("PJM.RT5.LMP.2", "PJM.RT5.LMP.WEST", "PJM.RT5.LMP.west")
    latest = describe_request("/api/v1/prices/latest", b"", "")
    assert latest is not None and latest.instruments == (ALL,)


@pytest.mark.parametrize(
    "bad", ["instruments=PJM.NOPE.LMP.1", "instruments=", "hub=x&nodes=PJM.RT5.LMP.1"]
)
def test_an_id_that_does_not_parse_means_no_caching(bad: str):
    assert describe_request("/api/v1/prices", bad.encode(), "") is None


def test_long_keys_are_hashed_behind_a_readable_prefix():
    ids = ",".join(f"PJM.RT5.LMP.{n}" for n in range(100))
    key = _key(f"instruments={ids}&start=a&end=b", gens=Generations("e", [1] * 100))
    prefix, digest = key.rsplit(":", 1)
    assert prefix == "c254:v1:resp:/api/v1/prices" and len(digest) == 64
    assert key != _key(f"instruments={ids}&start=a&end=c", gens=Generations("e", [1] * 100))


def _ttl(query: str, seed: int = 0) -> float:
    request = describe_request("/api/v1/prices", query.encode(), "")
    assert request is not None
    return ttl_seconds(request, history_ttl=86400, live_ttl=60, now=NOW, rng=random.Random(seed))


def test_history_gets_the_long_ttl_and_the_live_tail_a_short_jittered_one():
    assert _ttl("instruments=PJM.RT5.LMP.1&end=2025-10-15T09:59:00Z") == 86400
    assert _ttl("instruments=PJM.RT5.LMP.1&end=2025-10-15") == 86400  # a date: its midnight
    live = [_ttl("instruments=PJM.RT5.LMP.1&end=2025-10-15T10:30:00Z", s) for s in range(200)]
    assert all(54 <= t <= 66 for t in live) and max(live) - min(live) > 6  # ±10 %, spread
    assert 54 <= _ttl("instruments=PJM.RT5.LMP.1&end=2025-10-16") <= 66  # a future end
    assert 54 <= _ttl("instruments=PJM.RT5.LMP.1") <= 66  # no end: latest prices
    assert 54 <= _ttl("instruments=PJM.RT5.LMP.1&end=garbage") <= 66
    edge = (NOW - timedelta(hours=2)).isoformat()
    assert _ttl(f"instruments=PJM.RT5.LMP.1&end={edge.replace('+', '%2B')}") == 86400
