"""API keys through a live server: accepted in either header, scopes enforced, revoked,
expired, wrong and unknown keys refused; the store keeps the hash only; uses recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from carbon254.service.auth.apikeys import (
    generate_key,
    is_api_key,
    key_sha256,
    parse_key,
)
from carbon254.store.base import InvalidArgument, PriceStore

PROBE = "/api/v1/_probe"


def _as_header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def _as_bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _refused(response: httpx.Response, key: str, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert reason in response.json()["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert key not in response.text and key not in str(response.headers)


def test_the_key_format() -> None:
    key_id, key = generate_key()
    assert is_api_key(key) and parse_key(key) == key_id and len(key_id) == 8
    secret = key.split("_", 2)[2]
    assert len(secret) == 43  # 32 random bytes, url-safe base64
    assert parse_key(key[:-1]) is None and parse_key(key + "x") is None
    assert parse_key(key.replace(key_id, key_id.upper())) is None
    assert generate_key() != generate_key()


def test_a_key_in_either_header(serve: Callable, new_key: Callable) -> None:
    _, base = serve()
    key = new_key("read")
    for headers in (_as_header(key), _as_bearer(key)):
        response = httpx.get(f"{base}{PROBE}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["kind"] == "apikey" and body["scopes"] == ["read"]
        assert body["subject"] == parse_key(key) and body["name"] == "test key"


def test_scopes_are_enforced(serve: Callable, new_key: Callable) -> None:
    _, base = serve()
    reader, trader, admin = new_key("read"), new_key("trade"), new_key("admin")
    response = httpx.post(f"{base}{PROBE}", headers=_as_header(reader))
    assert response.status_code == 403 and "'trade'" in response.json()["detail"]
    response = httpx.post(f"{base}{PROBE}", headers=_as_header(trader))
    assert response.status_code == 200 and response.json()["scopes"] == ["read", "trade"]
    response = httpx.get(f"{base}/api/v1/_admin_probe", headers=_as_header(trader))
    assert response.status_code == 403 and "'admin'" in response.json()["detail"]
    response = httpx.get(f"{base}/api/v1/_admin_probe", headers=_as_header(admin))
    assert response.status_code == 200
    # A real route behind the middleware: a write method on a read route passes auth
    # with `trade`, then the router says 405.
    assert httpx.delete(f"{base}/api/v1/instruments", headers=_as_header(reader)).status_code == 403
    assert httpx.delete(f"{base}/api/v1/instruments", headers=_as_header(trader)).status_code == 405


def test_wrong_unknown_and_malformed_keys(serve: Callable, new_key: Callable) -> None:
    _, base = serve()
    key = new_key("read")
    key_id = parse_key(key)
    other_id, _ = generate_key()
    cases = [
        (key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB"), "not valid"),
        (key.replace(key_id, other_id), "not valid"),
        ("c254_short_secret", "malformed"),
        ("c254_" + "x" * 60, "malformed"),
    ]
    for wrong, reason in cases:
        for headers in (_as_header(wrong), _as_bearer(wrong)):
            _refused(httpx.get(f"{base}{PROBE}", headers=headers), wrong, reason)
    response = httpx.get(f"{base}{PROBE}", headers=_as_header("not-a-key"))
    _refused(response, "not-a-key", "malformed")


def test_revocation_takes_effect_within_the_cache_bound(
    serve: Callable, new_key: Callable, store: PriceStore
) -> None:
    app, base = serve()
    app.state.auth.apikeys.cache_seconds = 0.3
    key = new_key("read")
    assert httpx.get(f"{base}{PROBE}", headers=_as_header(key)).status_code == 200
    assert store.revoke_api_key(parse_key(key))
    assert httpx.get(f"{base}{PROBE}", headers=_as_header(key)).status_code == 200  # cached
    time.sleep(0.35)
    _refused(httpx.get(f"{base}{PROBE}", headers=_as_header(key)), key, "revoked")


def test_an_expired_key_is_refused(serve: Callable, store: PriceStore) -> None:
    _, base = serve()
    key_id, key = generate_key()
    past = datetime.now(UTC) - timedelta(minutes=1)
    store.create_api_key(key_id, "old", key_sha256(key), ["read"], expires_at=past)
    _refused(httpx.get(f"{base}{PROBE}", headers=_as_header(key)), key, "expired")


def test_the_store_keeps_the_hash_not_the_key(new_key: Callable, store: PriceStore) -> None:
    key = new_key("read", "trade")
    secret = key.split("_", 2)[2]
    rows = store._autocommit("SELECT * FROM api_keys")  # type: ignore[attr-defined]
    assert len(rows) == 1
    assert key_sha256(key) in rows[0]
    assert not any(secret in str(value) or key in str(value) for value in rows[0])
    with pytest.raises(InvalidArgument, match="scopes"):
        new_key("superuser")


def test_use_is_recorded_at_most_once_a_minute(
    serve: Callable, new_key: Callable, store: PriceStore
) -> None:
    app, base = serve()
    key = new_key("read")
    key_id = parse_key(key)
    for _ in range(3):
        assert httpx.get(f"{base}{PROBE}", headers=_as_header(key)).status_code == 200
    deadline = time.monotonic() + 5
    while store.api_key(key_id).last_used_at is None:  # written in the background
        assert time.monotonic() < deadline, "last_used_at was never written"
        time.sleep(0.02)
    first = store.api_key(key_id).last_used_at
    assert datetime.now(UTC) - first < timedelta(seconds=10)
    assert httpx.get(f"{base}{PROBE}", headers=_as_header(key)).status_code == 200
    time.sleep(0.1)
    assert store.api_key(key_id).last_used_at == first
    assert app.state.auth.apikeys.lookups == 1  # every other request came from the cache
