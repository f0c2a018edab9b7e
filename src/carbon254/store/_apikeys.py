"""API keys: the service's machine credentials, stored by id with only a hash of the key.

Every statement commits on its own (`_autocommit`), outside any ingest batch and its
writer lock: creating, revoking or touching a key must neither wait behind a long price
batch nor be rolled back with one. Writes to this table take a lock of their own: DuckDB
refuses two concurrent updates of one row ("Conflict on tuple deletion") where PostgreSQL
would make the second wait, and a revoke can meet the background touch of the same key.

The store knows nothing of the key's format or of what a scope means;
`service.auth.apikeys` does.
"""

from __future__ import annotations

import operator
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from ._backend import SqlBackend
from ._sql import as_utc, now_utc, quote
from .base import ApiKey, InvalidArgument

_KEY_ID = re.compile(r"[a-z0-9]{4,32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SCOPE = re.compile(r"[a-z][a-z0-9:_-]{0,63}")
_MAX_NAME = 200
_COLUMNS = (
    "key_id, name, scopes, secret_sha256, created_at, expires_at, revoked_at, last_used_at, "
    "rate_limit_per_minute"
)


def _key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise InvalidArgument(f"an API key id is 4-32 characters a-z0-9, got {key_id!r}")
    return quote(key_id)


def _scopes(scopes: Sequence[str]) -> str:
    if isinstance(scopes, str) or not scopes:
        raise InvalidArgument(f"scopes must be a non-empty list of names, got {scopes!r}")
    bad = [s for s in scopes if not isinstance(s, str) or not _SCOPE.fullmatch(s)]
    if bad:
        raise InvalidArgument(f"invalid scope name(s): {bad!r}")
    return quote(",".join(dict.fromkeys(scopes)))


def _limit(value: int | None) -> str:
    if value is None:
        return "NULL"
    try:
        number = operator.index(value) if not isinstance(value, bool) else 0
    except TypeError:
        number = 0
    if number < 1:
        raise InvalidArgument(f"rate_limit_per_minute must be an integer >= 1, got {value!r}")
    return str(number)


def _utc(value: object) -> datetime | None:
    """A timestamp as the driver returns it (naive UTC from DuckDB) made UTC-aware."""
    if value is None:
        return None
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: tuple) -> ApiKey:
    key_id, name, scopes, digest, created, expires, revoked, used, limit = row
    return ApiKey(
        key_id=key_id,
        name=name,
        scopes=tuple(s for s in scopes.split(",") if s),
        secret_sha256=digest,
        created_at=_utc(created),  # type: ignore[arg-type]
        expires_at=_utc(expires),
        revoked_at=_utc(revoked),
        last_used_at=_utc(used),
        rate_limit_per_minute=None if limit is None else int(limit),
    )


class SqlApiKeys(SqlBackend):
    _api_key_writes = threading.Lock()  # one process writes a DuckDB file; cheap statements

    def _write_api_keys(self, sql: str) -> list[tuple]:
        with self._api_key_writes:
            return self._autocommit(sql)

    def create_api_key(
        self,
        key_id: str,
        name: str,
        secret_sha256: str,
        scopes: Sequence[str],
        *,
        expires_at: datetime | None = None,
        rate_limit_per_minute: int | None = None,
    ) -> ApiKey:
        if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
            raise InvalidArgument(f"a key name is 1-{_MAX_NAME} characters, got {name!r}")
        if not isinstance(secret_sha256, str) or not _SHA256.fullmatch(secret_sha256):
            raise InvalidArgument("secret_sha256 must be 64 lowercase hex digits")
        expires = "NULL"
        if expires_at is not None:
            expires = self._literal(as_utc(expires_at, "expires_at"))
        if self.api_key(key_id) is not None:
            raise InvalidArgument(f"API key id {key_id!r} is already taken")
        rows = self._write_api_keys(
            f"INSERT INTO api_keys ({_COLUMNS}) VALUES ({_key_id(key_id)}, "
            f"{quote(name.strip(), 'name')}, {_scopes(scopes)}, '{secret_sha256}', "
            f"{self._literal(now_utc())}, {expires}, NULL, NULL, "
            f"{_limit(rate_limit_per_minute)}) RETURNING {_COLUMNS}"
        )
        return _record(rows[0])

    def api_key(self, key_id: str) -> ApiKey | None:
        rows = self._autocommit(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = {_key_id(key_id)}")
        return _record(rows[0]) if rows else None

    def api_keys(self) -> list[ApiKey]:
        rows = self._autocommit(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at DESC, key_id")
        return [_record(row) for row in rows]

    def revoke_api_key(self, key_id: str) -> bool:
        rows = self._write_api_keys(
            f"UPDATE api_keys SET revoked_at = coalesce(revoked_at, "
            f"{self._literal(now_utc())}) WHERE key_id = {_key_id(key_id)} RETURNING key_id"
        )
        return bool(rows)

    def touch_api_key(self, key_id: str, at: datetime) -> None:
        self._write_api_keys(
            f"UPDATE api_keys SET last_used_at = {self._literal(as_utc(at, 'at'))} "
            f"WHERE key_id = {_key_id(key_id)} RETURNING key_id"
        )
