"""Credentials: API keys (argument, environment) and OIDC client credentials with refresh,
against a live server with auth on (real API keys in the store, real RS256 tokens)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import respx

import carbon254
from carbon254.client import ApiKey, ClientCredentials, RetryPolicy
from carbon254.client._auth import resolve_auth
from carbon254.service import create_app
from carbon254.service.auth.apikeys import create_key
from carbon254.service.settings import Settings
from carbon254.store.base import PriceStore

from ..service.auth.auth_helpers import IdP, serve_idp
from ..service.service_helpers import PJM_DA, run_server
from .sdk_helpers import HUB, TokenEndpoint

URL = "http://api.test"
OK = {"status": "ok"}


# -- resolution and headers (no server needed) ---------------------------------------------
@respx.mock
def test_api_key_from_argument_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    route = respx.get(f"{URL}/api/v1/health").respond(200, json=OK)
    monkeypatch.setenv("CARBON254_API_KEY", "c254_fromenv_x")
    with carbon254.Client(URL) as client:
        client.health()
    with carbon254.Client(URL, api_key="c254_explicit_y") as client:
        client.health()
    sent = [call.request.headers.get("x-api-key") for call in route.calls]
    assert sent == ["c254_fromenv_x", "c254_explicit_y"]
    monkeypatch.delenv("CARBON254_API_KEY")
    with carbon254.Client(URL) as client:
        client.health()
    assert "x-api-key" not in route.calls[-1].request.headers


def test_credentials_are_checked_and_never_shown() -> None:
    with pytest.raises(ValueError, match="control characters") as caught:
        ApiKey("c254_abc\r\nX-Evil: 1")
    assert "Evil" not in str(caught.value)
    assert "secret" not in repr(ApiKey("secret-key-value"))
    creds = ClientCredentials("https://sso.test/token", "svc", "s3cr3t")
    assert "s3cr3t" not in repr(creds)
    with pytest.raises(ValueError, match="not both"):
        resolve_auth(auth=None, api_key="k", token_url="https://t", client_id="c",
                     client_secret="s", scope=None, env={})  # fmt: skip
    with pytest.raises(ValueError, match="token_url, client_id and client_secret"):
        resolve_auth(auth=None, api_key=None, token_url="https://t", client_id="c",
                     client_secret=None, scope=None, env={})  # fmt: skip
    env = {"CARBON254_TOKEN_URL": "https://t/token", "CARBON254_CLIENT_ID": "c",
           "CARBON254_CLIENT_SECRET": "s"}  # fmt: skip
    found = resolve_auth(auth=None, api_key=None, token_url=None, client_id=None,
                         client_secret=None, scope=None, env=env)  # fmt: skip
    assert isinstance(found, ClientCredentials) and found.token_url == "https://t/token"


# -- a live server with auth on ------------------------------------------------------------
@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    with serve_idp() as provider:
        yield provider


@pytest.fixture(scope="module")
def secure_url(sdk_store: PriceStore, idp: IdP) -> Iterator[str]:
    settings = Settings(auth=True, oidc_issuer=idp.issuer, oidc_jwks_url=idp.jwks_url)
    with run_server(create_app(sdk_store, settings=settings)) as url:
        yield url


def test_api_key_against_a_server_with_auth_on(secure_url: str, sdk_store: PriceStore) -> None:
    _, key = create_key(sdk_store, "sdk test", ["read"])
    with carbon254.Client(secure_url, api_key=key, retries=0) as client:
        frame = client.prices(PJM_DA, "2024-11-03", "2024-11-04")
        assert len(frame) == 24
    with carbon254.Client(secure_url, retries=0) as anonymous:
        with pytest.raises(carbon254.AuthenticationError) as caught:
            anonymous.prices(PJM_DA, "2024-11-03", "2024-11-04")
        assert caught.value.status == 401 and caught.value.detail
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with carbon254.Client(secure_url, api_key=wrong, retries=0) as client:
        with pytest.raises(carbon254.AuthenticationError) as caught:
            client.prices(PJM_DA, "2024-11-03", "2024-11-04")
        assert wrong not in str(caught.value)


def _token_server(idp: IdP, lifetime: int, **claims: object) -> TokenEndpoint:
    def mint(seconds: int) -> str:
        now = int(time.time())
        return idp.token(("read",), exp=now + seconds, iat=now, sub="svc-sdk", **claims)

    return TokenEndpoint(mint, "carbon254-sdk", "s3cr3t", lifetime)


def _oidc(url: str, token_base: str, secret: str = "s3cr3t", **kwargs: object) -> carbon254.Client:
    return carbon254.Client(
        url, token_url=f"{token_base}/token", client_id="carbon254-sdk", client_secret=secret,
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_client_credentials_fetch_once_and_reuse(secure_url: str, idp: IdP) -> None:
    endpoint = _token_server(idp, lifetime=300)
    with (
        run_server(endpoint) as token_base,  # type: ignore[arg-type]
        _oidc(secure_url, token_base, scope="openid") as client,
    ):
        for _ in range(3):
            assert len(client.prices(PJM_DA, "2024-11-03", "2024-11-04")) == 24
        client.instruments()
    assert endpoint.issued == 1
    assert endpoint.forms[0] == {"grant_type": "client_credentials", "scope": "openid",
                                 "client_id": "carbon254-sdk"}  # fmt: skip


def test_client_credentials_refresh_before_expiry(secure_url: str, idp: IdP) -> None:
    endpoint = _token_server(idp, lifetime=120)
    now = [1000.0]
    with run_server(endpoint) as token_base:  # type: ignore[arg-type]
        creds = ClientCredentials(
            f"{token_base}/token", "carbon254-sdk", "s3cr3t", basic=True,
            refresh_margin=30, clock=lambda: now[0],
        )  # fmt: skip
        with carbon254.Client(secure_url, auth=creds) as client:
            client.prices(PJM_DA, "2024-11-03", "2024-11-04")
            now[0] += 89  # 31 s before expiry: still good
            client.prices(PJM_DA, "2024-11-03", "2024-11-04")
            assert endpoint.issued == 1
            now[0] += 2  # inside the 30 s margin: renewed before use
            client.prices(PJM_DA, "2024-11-03", "2024-11-04")
            assert endpoint.issued == 2 == creds.tokens_fetched


def test_a_rejected_token_is_renewed_once(secure_url: str, idp: IdP) -> None:
    endpoint = _token_server(idp, lifetime=300, aud="someone-else")
    with (
        run_server(endpoint) as token_base,  # type: ignore[arg-type]
        _oidc(secure_url, token_base, retries=0) as client,
        pytest.raises(carbon254.AuthenticationError, match="audience"),
    ):
        client.prices(PJM_DA, "2024-11-03", "2024-11-04")
    assert endpoint.issued == 2  # the first token, then one fresh try


def test_refused_client_credentials(secure_url: str, idp: IdP) -> None:
    endpoint = _token_server(idp, lifetime=300)
    with (
        run_server(endpoint) as token_base,  # type: ignore[arg-type]
        _oidc(secure_url, token_base, secret="wrong") as client,
        pytest.raises(carbon254.AuthenticationError) as caught,
    ):
        client.health()
    error = caught.value
    assert "Invalid client credentials" in str(error) and "wrong" not in str(error)
    assert error.problem["error"] == "invalid_client" and error.status == 401


@respx.mock
def test_async_client_uses_the_same_credentials_flow() -> None:
    import asyncio

    token = respx.post("https://sso.test/token").respond(
        200, json={"access_token": "tok-1", "expires_in": 60}
    )
    api = respx.get(f"{URL}/api/v1/health").respond(200, json=OK)

    async def main() -> None:
        async with carbon254.AsyncClient(
            URL, token_url="https://sso.test/token", client_id="c", client_secret="s"
        ) as client:
            await asyncio.gather(*(client.health() for _ in range(3)))

    asyncio.run(main())
    assert 1 <= token.call_count <= 3  # concurrent first requests may each fetch one
    assert {c.request.headers["authorization"] for c in api.calls} == {"Bearer tok-1"}


def test_a_read_key_cannot_upload_marks(secure_url: str, sdk_store: PriceStore) -> None:
    _, key = create_key(sdk_store, "reader", ["read"])
    marks = [{"month": "2027-03", "peak": "on", "price": 50.0}]
    with carbon254.Client(secure_url, api_key=key) as client:
        with pytest.raises(carbon254.PermissionDenied) as caught:
            client.upload_marks(HUB, marks)
        assert "trade" in caught.value.detail
        assert client.marks(HUB, as_of="2026-01-01T00:00:00Z") is not None  # reads still work


def test_rate_limits_are_waited_out_or_reported(sdk_store: PriceStore, idp: IdP) -> None:
    """A real server's per-key limit: 429 with Retry-After; the SDK waits it out, or, when
    told not to wait that long, raises RateLimitError carrying the wait."""
    settings = Settings(auth=True, oidc_issuer=idp.issuer, oidc_jwks_url=idp.jwks_url,
                        rate_limit_per_minute=30, rate_limit_burst=2)  # fmt: skip
    with run_server(create_app(sdk_store, settings=settings)) as url:
        _, key = create_key(sdk_store, "impatient", ["read"])
        impatient = RetryPolicy(max_retries=3, max_retry_after=0.5)
        with carbon254.Client(url, api_key=key, retries=impatient) as client:
            client.health()  # a probe: not counted
            client.instruments()
            client.instruments()
            with pytest.raises(carbon254.RateLimitError) as caught:
                client.instruments()
        assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= 2
        _, key = create_key(sdk_store, "patient", ["read"])
        with carbon254.Client(url, api_key=key) as patient:
            waits: list[float] = []
            patient._sleep = lambda s: (waits.append(s), time.sleep(s))  # type: ignore[method-assign]
            for _ in range(3):  # the third waits for a token (one per 2 s)
                assert patient.instruments()
        assert len(waits) == 1 and 1.0 <= waits[0] <= 2.3
