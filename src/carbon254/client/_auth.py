"""Credentials: an API key, or OIDC client credentials with a token refreshed before expiry.

Both are `httpx.Auth` flows, so the sync and async clients share them. The OIDC flow
fetches its token through the same client (the token request is yielded like any other),
keeps it until `refresh_margin` seconds before it expires, and fetches a new one once if
the API answers 401 (a token revoked early, or clock skew). Secrets never appear in
`repr`, logs or error messages.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping
from urllib.parse import quote

import httpx

from ._wire import loads
from .errors import AuthenticationError

__all__ = ["ApiKey", "ClientCredentials", "resolve_auth"]

API_KEY_HEADER = "X-API-Key"


def _check_secret(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} is empty")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        # Never echo the value: a header with a newline would also be a header injection.
        raise ValueError(f"{what} contains whitespace or control characters")
    return value


class ApiKey(httpx.Auth):
    """Sends the key as `X-API-Key` on every request."""

    def __init__(self, key: str) -> None:
        self._key = _check_secret(key, "API key")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[API_KEY_HEADER] = self._key
        yield request

    def __repr__(self) -> str:
        return "ApiKey(<hidden>)"


class ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials (e.g. a Keycloak service account).

    The token is requested from `token_url` with `grant_type=client_credentials` and the
    client's id and secret (in the form body, or as HTTP Basic with `basic=True`), and
    sent as `Authorization: Bearer ...`. It is renewed `refresh_margin` seconds before
    it expires (at most half its lifetime early), so a request never leaves with a token
    about to lapse.
    """

    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        audience: str | None = None,
        basic: bool = False,
        refresh_margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token_url.startswith(("http://", "https://")):
            raise ValueError("token_url must be an http(s) URL")
        self.token_url = token_url
        self.client_id = _check_secret(client_id, "client_id")
        self._secret = _check_secret(client_secret, "client_secret")
        self.scope = scope
        self.audience = audience
        self.basic = basic
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        self.tokens_fetched = 0
        """How many tokens this object has fetched (for tests and diagnostics)."""

    def __repr__(self) -> str:
        return f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r})"

    # -- token state ---------------------------------------------------------------------
    def _current(self) -> str | None:
        with self._lock:
            if self._token is not None and self._clock() < self._refresh_at:
                return self._token
            return None

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        headers = {"Accept": "application/json"}
        if self.basic:
            # RFC 6749 2.3.1: form-urlencode id and secret, then HTTP Basic.
            pair = f"{quote(self.client_id, safe='')}:{quote(self._secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_id"] = self.client_id
            form["client_secret"] = self._secret
        return httpx.Request("POST", self.token_url, data=form, headers=headers)

    def _accept(self, response: httpx.Response) -> str:
        """Keep the token from the token endpoint's response, or raise AuthenticationError."""
        try:
            body = loads(response.content) if response.content else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, Mapping) else {}
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            reason = body.get("error_description") or body.get("error") or "no access_token"
            raise AuthenticationError(
                f"the token endpoint refused the client credentials: {reason}",
                status=response.status_code,
                problem={k: body[k] for k in ("error", "error_description") if k in body},
                method="POST",
                url=self.token_url,
            )
        lifetime = body.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else 300.0
        early = min(self.refresh_margin, lifetime / 2)
        with self._lock:
            self._token = token
            self._refresh_at = self._clock() + lifetime - early
            self.tokens_fetched += 1
        return token

    # -- the flow ------------------------------------------------------------------------
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._current()
        if token is None:
            token = self._accept((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # Revoked early, or our clock runs behind the issuer's: one fresh token, once.
            self._forget(token)
            token = self._accept((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def resolve_auth(
    *,
    auth: httpx.Auth | None,
    api_key: str | None,
    token_url: str | None,
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
    env: Mapping[str, str] | None = None,
) -> httpx.Auth | None:
    """Credentials from the arguments, else the environment, else none (a server with
    auth off). Arguments win over the environment; an API key and client credentials
    together are refused as ambiguous."""
    env = os.environ if env is None else env
    oidc = (token_url, client_id, client_secret)
    if auth is not None:
        if api_key is not None or any(v is not None for v in oidc):
            raise ValueError("pass either auth= or api_key/client credentials, not both")
        return auth
    if api_key is not None and any(v is not None for v in oidc):
        raise ValueError("pass either api_key or client credentials, not both")
    if api_key is not None:
        return ApiKey(api_key)
    if any(v is not None for v in oidc):
        if not all(oidc):
            raise ValueError("client credentials need token_url, client_id and client_secret")
        return ClientCredentials(str(token_url), str(client_id), str(client_secret), scope=scope)
    if env.get("CARBON254_API_KEY"):
        return ApiKey(env["CARBON254_API_KEY"])
    env_oidc = [env.get(f"CARBON254_{n}") for n in ("TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET")]
    if all(env_oidc):
        url, cid, secret = (str(v) for v in env_oidc)
        return ClientCredentials(url, cid, secret, scope=env.get("CARBON254_SCOPE") or scope)
    return None
