"""OIDC bearer tokens as Keycloak issues them: RS256 access tokens checked against the
realm's JWKS, issuer and audience; realm and client roles become scopes.

Only RS256 is accepted, decided before any key is looked up: `alg: none`, HS256 (the
classic confusion attack signs with the RSA public key as an HMAC secret) and every
other algorithm are refused. The JWKS is fetched on first use and cached for `ttl`; a
token naming an unknown `kid` (the realm rotated its keys) triggers one refetch, at most
once per `min_refetch_interval`, so a flood of made-up kids cannot hammer the IdP.
Verified tokens are cached by hash until they expire, so a client reusing its token pays
the RSA verification (~0.5 ms) once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt

from .principal import Principal, TokenRejected, scopes_from_roles

__all__ = ["JwksCache", "JwksUnavailable", "OidcVerifier", "TokenRejected"]

log = logging.getLogger("carbon254.service.auth")

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")


class JwksUnavailable(Exception):
    """The IdP's keys cannot be fetched and none are cached: tokens cannot be checked."""


def _signing_keys(document: object) -> dict[str, Any]:
    """kid -> RSA public key for the RS256 signing keys of a JWKS document."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (no 'keys' list)")
    keys = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping) or jwk.get("kty") != "RSA":
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM:
            continue  # Keycloak also publishes RSA-OAEP encryption keys
        kid = jwk.get("kid")
        if isinstance(kid, str) and kid:
            try:
                keys[kid] = jwt.PyJWK(dict(jwk), algorithm=ALGORITHM).key
            except jwt.PyJWTError as exc:
                log.warning("JWKS key %r skipped: %s", kid, exc)
    return keys


class JwksCache:
    """The IdP's signing keys, fetched without blocking the event loop, cached, rotated."""

    def __init__(
        self,
        url: str,
        *,
        ttl: float = 300.0,
        min_refetch_interval: float = 30.0,
        retry_after_failure: float = 5.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.min_refetch_interval = min_refetch_interval
        self.retry_after_failure = retry_after_failure
        self.timeout = timeout
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._forced_at = float("-inf")
        self._failed_at = float("-inf")
        self._lock: asyncio.Lock | None = None
        self._background: asyncio.Task[None] | None = None
        self.fetches = 0
        """How many times the JWKS was requested (for tests and metrics)."""

    async def key(self, kid: str) -> Any:
        """The public key for `kid`, refetching the JWKS when stale or when `kid` is new.

        A known kid never waits for the IdP: a stale JWKS is refreshed in the background
        while the cached key serves."""
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at >= self.ttl
        key = self._keys.get(kid)
        if key is not None:
            if stale and (self._background is None or self._background.done()):
                self._background = asyncio.create_task(self._refresh_quietly(now))
            return key
        if stale:
            await self._refresh(now)
        elif now - self._forced_at >= self.min_refetch_interval:
            self._forced_at = now  # before the await: concurrent unknown kids share it
            await self._refresh(now)
        key = self._keys.get(kid)
        if key is None:
            raise TokenRejected("token is signed with an unknown key (kid)")
        return key

    async def _refresh_quietly(self, wanted_at: float) -> None:
        # A failure is logged by _refresh; the cached keys keep serving.
        with contextlib.suppress(JwksUnavailable):
            await self._refresh(wanted_at)

    async def _refresh(self, wanted_at: float) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._fetched_at is not None and self._fetched_at >= wanted_at:
                return  # another request refreshed while this one waited
            if self._clock() - self._failed_at < self.retry_after_failure:
                self._unavailable("the last fetch failed moments ago")
                return
            self.fetches += 1
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.get(self.url, headers={"Accept": "application/json"})
                    response.raise_for_status()
                keys = _signing_keys(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                self._failed_at = self._clock()
                log.warning("JWKS fetch from %s failed: %s", self.url, exc)
                self._unavailable(type(exc).__name__)
                return
            self._keys, self._fetched_at = keys, self._clock()
            log.info("JWKS from %s: %d signing key(s)", self.url, len(keys))

    def _unavailable(self, why: str) -> None:
        """Keep serving stale keys if there are any (an IdP blip must not log everyone
        out); with none, tokens cannot be verified at all."""
        if not self._keys:
            raise JwksUnavailable(f"the identity provider's keys are unavailable ({why})")


def _roles(claims: Mapping[str, Any], client: str) -> list[object]:
    roles: list[object] = []
    realm = claims.get("realm_access")
    if isinstance(realm, Mapping) and isinstance(realm.get("roles"), list):
        roles += realm["roles"]
    resources = claims.get("resource_access")
    if isinstance(resources, Mapping):
        mine = resources.get(client)
        if isinstance(mine, Mapping) and isinstance(mine.get("roles"), list):
            roles += mine["roles"]
    return roles


_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "token has expired"),
    (jwt.ImmatureSignatureError, "token is not yet valid (nbf/iat in the future)"),
    (jwt.InvalidAudienceError, "token audience does not include {audience}"),
    (jwt.InvalidIssuerError, "token was not issued by the configured issuer"),
    (jwt.InvalidSignatureError, "token signature does not verify"),
    (jwt.InvalidAlgorithmError, "token algorithm is not RS256"),
)


class OidcVerifier:
    """Bearer tokens -> `Principal`: signature (RS256, JWKS), iss, aud, exp/nbf/iat."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks: JwksCache,
        *,
        leeway: float = 30.0,
        cache_size: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        self.leeway = leeway
        self.cache_size = cache_size
        self._clock = clock
        self._verified: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    async def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        hit = self._verified.get(digest)
        if hit is not None:
            if self._clock() < hit[1]:
                self._verified.move_to_end(digest)
                return hit[0]
            del self._verified[digest]
        kid = self._header_kid(token)
        key = await self.jwks.key(kid)
        claims = self._decode(token, key)
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise TokenRejected("token has an empty subject (sub)")
        if claims.get("typ", "Bearer") != "Bearer":
            raise TokenRejected("token is not an access token (typ must be Bearer)")
        name = claims.get("preferred_username") or claims.get("azp")
        principal = Principal(
            subject,
            scopes_from_roles(_roles(claims, self.audience)),
            "oidc",
            name=name if isinstance(name, str) else None,
        )
        self._verified[digest] = (principal, float(claims["exp"]) + self.leeway)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return principal

    @staticmethod
    def _header_kid(token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("token is not a well-formed JWT") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("token algorithm is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("token header has no key id (kid)")
        return kid

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(f"token lacks the required {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            for kind, reason in _REASONS:
                if isinstance(exc, kind):
                    raise TokenRejected(reason.format(audience=self.audience)) from None
            raise TokenRejected("token is invalid") from None
