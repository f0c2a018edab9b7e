"""`carbon254 apikey create | list | revoke`: the API's machine credentials.

A key is printed once, when it is made, and never again: the store keeps only its hash.
Bad input (unknown scope, a past expiry, an unknown key id) exits 2 with a one-line
reason. With the embedded DuckDB store, run these while the server is stopped (DuckDB
lets one process open the file) or use the PostgreSQL backend.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from .cli_common import UsageError, open_store_arg

if TYPE_CHECKING:
    from .store.base import ApiKey

__all__ = ["add_commands"]

_SCOPES = ("read", "trade", "admin")


def _scopes(text: str) -> list[str]:
    scopes = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [s for s in scopes if s not in _SCOPES]
    if not scopes or unknown:
        raise argparse.ArgumentTypeError(
            f"{text!r}: scopes are a comma-separated list of {', '.join(_SCOPES)}"
        )
    return list(dict.fromkeys(scopes))


def _expiry(text: str) -> datetime:
    """YYYY-MM-DD (the key expires at the start of that day, UTC) or an ISO time with a
    UTC offset."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO time with a UTC offset"
        )
    return moment.astimezone(UTC)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of requests >= 1")
    return value


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "-"


def _status(key: ApiKey, now: datetime) -> str:
    if key.revoked_at is not None:
        return f"revoked {_iso(key.revoked_at)}"
    if key.expires_at is not None and key.expires_at <= now:
        return f"expired {_iso(key.expires_at)}"
    if key.expires_at is not None:
        return f"active until {_iso(key.expires_at)}"
    return "active"


def cmd_create(args: argparse.Namespace) -> int:
    from .service.auth.apikeys import create_key
    from .store.base import InvalidArgument

    if not args.name.strip():
        raise UsageError("--name must not be empty")
    if args.expires is not None and args.expires <= datetime.now(UTC):
        raise UsageError(f"--expires {_iso(args.expires)} is in the past")
    with open_store_arg(args) as store:
        try:
            record, key = create_key(
                store, args.name, args.scopes,
                expires_at=args.expires, rate_limit_per_minute=args.rate_limit,
            )  # fmt: skip
        except InvalidArgument as exc:
            raise UsageError(str(exc)) from None
    limit = f"{record.rate_limit_per_minute}/min" if record.rate_limit_per_minute else "default"
    print(
        f"API key {record.key_id} ({record.name!r}): scopes {','.join(record.scopes)}, "
        f"expires {_iso(record.expires_at)}, rate limit {limit}",
        file=sys.stderr,
    )
    print(key, flush=True)
    print(
        "Store this key now: it will not be shown again (only its hash is kept).",
        file=sys.stderr,
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with open_store_arg(args) as store:
        keys = store.api_keys()
    now = datetime.now(UTC)
    if args.json:
        rows: list[dict[str, Any]] = [
            {
                "key_id": k.key_id,
                "name": k.name,
                "scopes": list(k.scopes),
                "created_at": _iso(k.created_at),
                "expires_at": _iso(k.expires_at) if k.expires_at else None,
                "revoked_at": _iso(k.revoked_at) if k.revoked_at else None,
                "last_used_at": _iso(k.last_used_at) if k.last_used_at else None,
                "rate_limit_per_minute": k.rate_limit_per_minute,
                "usable": k.usable(now),
            }
            for k in keys
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not keys:
        print("no API keys (create one: carbon254 apikey create --name NAME --scopes read)")
        return 0
    print(f"{'ID':<10}{'NAME':<24}{'SCOPES':<18}{'CREATED':<22}{'LAST USED':<22}{'LIMIT':<8}STATUS")
    for k in keys:
        limit = str(k.rate_limit_per_minute or "-")
        print(
            f"{k.key_id:<10}{k.name[:23]:<24}{','.join(k.scopes):<18}{_iso(k.created_at):<22}"
            f"{_iso(k.last_used_at):<22}{limit:<8}{_status(k, now)}"
        )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from .store.base import InvalidArgument

    with open_store_arg(args) as store:
        try:
            found = store.revoke_api_key(args.key_id)
        except InvalidArgument as exc:
            raise UsageError(str(exc)) from None
        if not found:
            raise UsageError(f"no API key {args.key_id!r} (see: carbon254 apikey list)")
        record = store.api_key(args.key_id)
    assert record is not None
    print(
        f"API key {record.key_id} ({record.name!r}) revoked at {_iso(record.revoked_at)}; "
        "servers stop accepting it within 30 s"
    )
    return 0


def add_commands(commands: Any) -> None:
    """Add `apikey create|list|revoke` to the `carbon254` subcommands."""
    apikey = commands.add_parser("apikey", help="create, list and revoke API keys")
    actions = apikey.add_subparsers(dest="apikey_command", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="make a key; it is printed once, never again")
    create.add_argument("--name", required=True, help="who or what the key is for")
    create.add_argument(
        "--scopes", type=_scopes, required=True, help="comma-separated: read, trade, admin"
    )
    create.add_argument(
        "--expires", type=_expiry, metavar="DATE", help="YYYY-MM-DD (UTC) or an ISO time"
    )
    create.add_argument(
        "--rate-limit", type=_positive, metavar="N", help="requests per minute for this key"
    )
    create.set_defaults(func=cmd_create)
    listing = actions.add_parser("list", help="every key: id, name, scopes, use, status")
    listing.add_argument("--json", action="store_true", help="as JSON")
    listing.set_defaults(func=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", metavar="ID", help="the key id (the 8 characters after c254_)")
    revoke.set_defaults(func=cmd_revoke)
