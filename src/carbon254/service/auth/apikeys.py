"""API keys: `c254_<key id>_<secret>`, made once, stored as a SHA-256, verified per request.

The key id (8 characters a-z0-9) is public: it names the key in listings, logs and rate
limits. The secret is 32 random bytes (43 url-safe characters). The store keeps the
SHA-256 of the whole key. A plain hash is enough because the secret is random with 256
bits of entropy: there is no dictionary to try, so a slow password hash would buy nothing,
and a server-side pepper would only add a secret whose loss invalidates every key.

Verified keys are cached in-process for `cache_seconds` (default 30 s): a revocation
takes effect within that bound. `last_used_at` is written at most once a minute per key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
import string
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from anyio import to_thread

from ...store.base import ApiKey, InvalidArgument, PriceStore
from .principal import SCOPES, Principal, TokenRejected, expand_scopes

__all__ = [
    "KEY_PREFIX",
    "ApiKeyVerifier",
    "create_key",
    "generate_key",
    "is_api_key",
    "key_sha256",
    "parse_key",
]

log = logging.getLogger("carbon254.service.auth")

KEY_PREFIX = "c254_"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LENGTH = 8
_SECRET_BYTES = 32
_KEY = re.compile(r"c254_([a-z0-9]{8})_([A-Za-z0-9_-]{43})")


def generate_key() -> tuple[str, str]:
    """A new (key id, whole key). The whole key is shown to its owner once, never stored."""
    key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def is_api_key(credential: str) -> bool:
    """A bearer value that starts with `c254_` is an API key; anything else is a JWT."""
    return credential.startswith(KEY_PREFIX)


def parse_key(key: str) -> str | None:
    """The key id of a well-formed key, or None (checked before any store lookup)."""
    match = _KEY.fullmatch(key)
    return match[1] if match else None


def key_sha256(key: str) -> str:
    """What the store keeps: the hex SHA-256 of the whole key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    store: PriceStore,
    name: str,
    scopes: Sequence[str],
    *,
    expires_at: datetime | None = None,
    rate_limit_per_minute: int | None = None,
) -> tuple[ApiKey, str]:
    """Make and store a key; return its record and the whole key (the only time it exists
    outside its owner's hands). `InvalidArgument` for an unknown scope, a past expiry."""
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidArgument(f"scopes must be some of {', '.join(SCOPES)}; got {list(scopes)}")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidArgument(f"expiry {expires_at.isoformat()} is in the past")
    for _ in range(5):  # 36^8 ids: a clash is rare; a second one rarer still
        key_id, key = generate_key()
        if store.api_key(key_id) is None:
            record = store.create_api_key(
                key_id, name, key_sha256(key), list(scopes),
                expires_at=expires_at, rate_limit_per_minute=rate_limit_per_minute,
            )  # fmt: skip
            return record, key
    raise RuntimeError("could not find a free API key id")  # pragma: no cover


class ApiKeyVerifier:
    """Whole keys -> `Principal`, by the app's store, off the event loop, cached briefly."""

    def __init__(
        self,
        store: PriceStore,
        *,
        cache_seconds: float = 30.0,
        miss_seconds: float = 5.0,
        touch_every: float = 60.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self.miss_seconds = miss_seconds
        self.touch_every = touch_every
        self.cache_size = cache_size
        self._clock = clock
        self._records: OrderedDict[str, tuple[ApiKey | None, float]] = OrderedDict()
        self._touched: dict[str, float] = {}
        self._touches: set[asyncio.Task[None]] = set()
        self.lookups = 0
        """How many times the store was asked (for tests and measurements)."""

    async def verify(self, key: str) -> Principal:
        key_id = parse_key(key)
        if key_id is None:
            raise TokenRejected("API key is malformed (expected c254_<id>_<secret>)")
        record = await self._record(key_id)
        # The digest is compared in constant time; an unknown id still pays one hash.
        expected = record.secret_sha256 if record is not None else "0" * 64
        if not hmac.compare_digest(expected, key_sha256(key)) or record is None:
            raise TokenRejected("API key is not valid")
        now = datetime.now(UTC)
        if record.revoked_at is not None:
            raise TokenRejected("API key has been revoked")
        if not record.usable(now):
            raise TokenRejected("API key has expired")
        self._touch(key_id, now)
        return Principal(
            key_id,
            expand_scopes(record.scopes),
            "apikey",
            name=record.name,
            rate_limit_per_minute=record.rate_limit_per_minute,
        )

    def forget(self, key_id: str | None = None) -> None:
        """Drop cached records (one key, or all): the next use reads the store."""
        if key_id is None:
            self._records.clear()
        else:
            self._records.pop(key_id, None)

    async def _record(self, key_id: str) -> ApiKey | None:
        now = self._clock()
        hit = self._records.get(key_id)
        if hit is not None and now < hit[1]:
            self._records.move_to_end(key_id)
            return hit[0]
        self.lookups += 1
        record = await to_thread.run_sync(self.store.api_key, key_id)
        ttl = self.cache_seconds if record is not None else self.miss_seconds
        self._records[key_id] = (record, now + ttl)
        self._records.move_to_end(key_id)
        if len(self._records) > self.cache_size:
            self._records.popitem(last=False)
        return record

    def _touch(self, key_id: str, now: datetime) -> None:
        """Record the use in the background, at most once per `touch_every` per key."""
        tick = self._clock()
        if tick - self._touched.get(key_id, float("-inf")) < self.touch_every:
            return
        self._touched[key_id] = tick
        task = asyncio.create_task(self._write_touch(key_id, now))
        self._touches.add(task)
        task.add_done_callback(self._touches.discard)

    async def _write_touch(self, key_id: str, now: datetime) -> None:
        try:
            await to_thread.run_sync(self.store.touch_api_key, key_id, now)
        except Exception as exc:  # bookkeeping: never fail a request over it
            log.warning("could not record the use of API key %s: %s", key_id, exc)
