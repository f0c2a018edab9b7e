"""`Principal`: who made a request and what it may do, whatever the credential was.

Scopes are three, each implying the ones below it: `admin` ⊃ `trade` ⊃ `read`. Reads
(GET, HEAD) need `read`; writes need `trade`; routes that manage the service need
`admin`. Keycloak roles map onto scopes by name (`read` or `carbon254:read`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ALL_SCOPES",
    "ANONYMOUS",
    "SCOPES",
    "Principal",
    "TokenRejected",
    "expand_scopes",
    "scopes_from_roles",
]

SCOPES = ("read", "trade", "admin")
"""Every scope, weakest first."""

_IMPLIES = {"read": ("read",), "trade": ("trade", "read"), "admin": ("admin", "trade", "read")}
_ROLE_PREFIX = "carbon254:"

PrincipalKind = Literal["apikey", "oidc", "anonymous"]


class TokenRejected(Exception):
    """A credential that is not acceptable; the message says why (never the credential)."""


def expand_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes granted, with what each implies; unknown names are dropped."""
    return frozenset(s for scope in scopes for s in _IMPLIES.get(scope, ()))


def scopes_from_roles(roles: Iterable[object]) -> frozenset[str]:
    """Keycloak role names (`read`, `carbon254:trade`, ...) as scopes; others ignored."""
    names = (r.removeprefix(_ROLE_PREFIX) for r in roles if isinstance(r, str))
    return expand_scopes(names)


ALL_SCOPES = frozenset(SCOPES)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is from: `subject` is the API key id, the token's `sub`, or
    "anonymous". `rate_limit_per_minute` is a per-key override (None: the default)."""

    subject: str
    scopes: frozenset[str]
    kind: PrincipalKind
    name: str | None = field(default=None, compare=False)
    rate_limit_per_minute: int | None = field(default=None, compare=False)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def limit_key(self) -> str:
        """What rate limits count by: one bucket per key or per token subject."""
        return f"{self.kind}:{self.subject}"


ANONYMOUS = Principal("anonymous", ALL_SCOPES, "anonymous")
"""Every request's principal when auth is off (the embedded demo)."""
