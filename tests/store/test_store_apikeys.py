"""API keys in the store, on both backends: create, look up, list, revoke, touch; only the
hash is kept; bad arguments are `InvalidArgument`."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from carbon254.store import InvalidArgument, PriceStore

DIGEST = hashlib.sha256(b"c254_abcd1234_not-a-real-secret").hexdigest()


def test_create_then_look_up(store: PriceStore) -> None:
    before = datetime.now(UTC)
    expires = datetime(2031, 1, 1, tzinfo=UTC)
    made = store.create_api_key(
        "abcd1234", "pricing desk", DIGEST, ["read", "trade"], expires_at=expires,
        rate_limit_per_minute=1200,
    )  # fmt: skip
    got = store.api_key("abcd1234")
    assert got == made
    assert got.name == "pricing desk" and got.scopes == ("read", "trade")
    assert got.secret_sha256 == DIGEST and got.rate_limit_per_minute == 1200
    assert got.expires_at == expires and got.expires_at.tzinfo is not None
    assert before - timedelta(seconds=1) <= got.created_at <= datetime.now(UTC)
    assert got.revoked_at is None and got.last_used_at is None
    assert got.usable(datetime.now(UTC)) and not got.usable(expires)
    assert store.api_key("zzzz9999") is None


def test_list_newest_first_and_default_limit(store: PriceStore) -> None:
    store.create_api_key("aaaa0001", "first", DIGEST, ["read"])
    store.create_api_key("aaaa0002", "second", DIGEST, ["admin"])
    keys = store.api_keys()
    assert [k.key_id for k in keys] == ["aaaa0002", "aaaa0001"]
    assert keys[0].rate_limit_per_minute is None and keys[0].expires_at is None


def test_revoke_keeps_the_first_time(store: PriceStore) -> None:
    store.create_api_key("abcd1234", "n", DIGEST, ["read"])
    assert store.revoke_api_key("abcd1234") is True
    first = store.api_key("abcd1234").revoked_at
    assert first is not None and not store.api_key("abcd1234").usable(datetime.now(UTC))
    assert store.revoke_api_key("abcd1234") is True
    assert store.api_key("abcd1234").revoked_at == first
    assert store.revoke_api_key("nokey000") is False


def test_touch_records_last_use(store: PriceStore) -> None:
    store.create_api_key("abcd1234", "n", DIGEST, ["read"])
    at = datetime(2026, 5, 1, 12, 30, 15, 250000, tzinfo=UTC)
    store.touch_api_key("abcd1234", at)
    assert store.api_key("abcd1234").last_used_at == at


def test_only_the_hash_is_stored(store: PriceStore) -> None:
    store.create_api_key("abcd1234", "n", DIGEST, ["read"])
    row = store._autocommit("SELECT * FROM api_keys")[0]  # type: ignore[attr-defined]
    assert DIGEST in row and not any("not-a-real-secret" in str(v) for v in row)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"key_id": "AB"}, "4-32 characters"),
        ({"key_id": "abc'; drop table api_keys; --"}, "4-32 characters"),
        ({"name": " "}, "name"),
        ({"secret_sha256": "secret"}, "64 lowercase hex"),
        ({"scopes": []}, "non-empty"),
        ({"scopes": "read"}, "non-empty"),
        ({"scopes": ["Read!"]}, "invalid scope"),
        ({"rate_limit_per_minute": 0}, ">= 1"),
        ({"expires_at": datetime(2030, 1, 1)}, "timezone-aware"),
    ],
)
def test_bad_arguments(store: PriceStore, kwargs: dict, match: str) -> None:
    args = {"key_id": "abcd1234", "name": "n", "secret_sha256": DIGEST, "scopes": ["read"]}
    with pytest.raises(InvalidArgument, match=match):
        store.create_api_key(**(args | kwargs))
    assert store.api_keys() == []


def test_a_taken_id_is_refused(store: PriceStore) -> None:
    store.create_api_key("abcd1234", "n", DIGEST, ["read"])
    with pytest.raises(InvalidArgument, match="already taken"):
        store.create_api_key("abcd1234", "other", DIGEST, ["read"])
    with pytest.raises(InvalidArgument):
        store.api_key("no such id!")


def test_concurrent_writes_to_one_key(store: PriceStore) -> None:
    """A revoke meeting the background touch of the same key (DuckDB alone would refuse
    the second of two concurrent updates of a row)."""
    store.create_api_key("abcd1234", "n", DIGEST, ["read"])
    errors: list[Exception] = []

    def repeat(action: Callable[[], object]) -> None:
        for _ in range(40):
            try:
                action()
            except Exception as exc:
                errors.append(exc)

    at = datetime(2026, 5, 1, tzinfo=UTC)
    threads = [
        threading.Thread(target=repeat, args=(lambda: store.touch_api_key("abcd1234", at),)),
        threading.Thread(target=repeat, args=(lambda: store.revoke_api_key("abcd1234"),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.api_key("abcd1234").last_used_at == at
