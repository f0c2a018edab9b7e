"""OIDC bearer tokens through a live server: Keycloak-shaped tokens minted with a local RSA
key, the JWKS served on loopback. Every way a token can be wrong is a 401 that says why
(and never echoes the token); a valid token without the scope is a 403."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx

from .auth_helpers import AUDIENCE, IdP, hs256_with, new_key, public_pem, unsigned

PROBE = "/api/v1/_probe"


def _get(base: str, token: str, path: str = PROBE) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})


def _refused(response: httpx.Response, token: str, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="carbon254", error="invalid_token"')
    assert reason in response.json()["detail"] and reason in challenge
    assert token not in response.text and token not in str(response.headers)


def test_a_valid_token_is_accepted(serve: Callable, idp: IdP) -> None:
    _, base = serve()
    token = idp.token(("read",), sub="user-42")
    response = _get(base, token)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "subject": "user-42", "kind": "oidc", "scopes": ["read"], "name": "alice",
    }  # fmt: skip
    assert _get(base, token).status_code == 200  # from the verified-token cache
    assert idp.fetches == 1


WRONG_CLAIMS = [
    ({"exp": int(time.time()) - 120}, "expired"),
    ({"nbf": int(time.time()) + 600}, "not yet valid"),
    ({"iat": int(time.time()) + 600}, "not yet valid"),
    ({"aud": ["account"]}, f"audience does not include {AUDIENCE}"),
    ({"aud": "someone-else"}, "audience"),
    ({"iss": "https://evil.example.com/realms/carbon254"}, "not issued by"),
    ({"sub": None}, "'sub' claim"),
    ({"exp": None}, "'exp' claim"),
    ({"iat": None}, "'iat' claim"),
    ({"aud": None}, "'aud' claim"),
    ({"iss": None}, "'iss' claim"),
    ({"typ": "ID"}, "not an access token"),
]


def test_a_wrong_claim_is_refused(serve: Callable, idp: IdP) -> None:
    _, base = serve()  # one server for every case: starting one costs ~0.3 s
    for claims, reason in WRONG_CLAIMS:
        token = idp.token(("admin",), **claims)
        _refused(_get(base, token), token, reason)


def test_small_clock_skew_is_tolerated(serve: Callable, idp: IdP) -> None:
    _, base = serve()
    now = int(time.time())
    assert _get(base, idp.token(iat=now + 10, nbf=now + 10)).status_code == 200
    assert _get(base, idp.token(exp=now - 10)).status_code == 200  # 30 s leeway


def test_a_signature_by_another_key_is_refused(serve: Callable, idp: IdP) -> None:
    _, base = serve()
    forged = idp.token(("admin",), kid="k1", key=new_key())
    _refused(_get(base, forged), forged, "signature does not verify")


def test_alg_none_is_refused(serve: Callable, idp: IdP) -> None:
    _, base = serve()
    token = unsigned({"alg": "none", "typ": "JWT", "kid": "k1"}, idp.claims(("admin",)))
    _refused(_get(base, token), token, "not RS256")


def test_hs256_signed_with_the_public_key_is_refused(serve: Callable, idp: IdP) -> None:
    """The algorithm-confusion attack: the RSA public key (public) as an HMAC secret."""
    _, base = serve()
    pem = public_pem(idp.keys["k1"])
    claims = idp.claims(("admin",))
    for header in ({"alg": "HS256", "typ": "JWT", "kid": "k1"}, {"alg": "HS256"}):
        token = hs256_with(pem, header, claims)
        _refused(_get(base, token), token, "not RS256")
    other = unsigned({"alg": "ES256", "kid": "k1"}, claims) + "AAAA"
    _refused(_get(base, other), other, "not RS256")


def test_garbage_is_refused(serve: Callable) -> None:
    _, base = serve()
    for token in ("not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"):
        _refused(_get(base, token), token, "")


def test_rotation_and_a_flood_of_unknown_kids(serve: Callable, idp: IdP) -> None:
    _, base = serve()
    assert _get(base, idp.token()).status_code == 200
    assert idp.fetches == 1
    # The realm rotates: a new key is published, tokens signed by it arrive.
    idp.rotate("k2")
    assert _get(base, idp.token(kid="k2")).status_code == 200
    assert idp.fetches == 2  # one refetch for the unknown kid
    assert _get(base, idp.token(kid="k1")).status_code == 200  # the old key still verifies
    # Made-up kids cannot make the server hammer the IdP: no refetch within the interval.
    stranger = new_key()
    for _ in range(20):
        kid = uuid.uuid4().hex
        forged = idp.token(("admin",), kid=kid, key=stranger)
        _refused(_get(base, forged), forged, "unknown key")
    assert idp.fetches == 2


def test_an_unknown_kid_published_later_is_accepted_after_refetch(
    serve: Callable, idp: IdP
) -> None:
    app, base = serve()
    app.state.auth.oidc.jwks.min_refetch_interval = 0.2
    assert _get(base, idp.token()).status_code == 200
    idp.keys["k3"] = new_key()  # tokens signed by k3 arrive before k3 is published
    early = idp.token(kid="k3")
    _refused(_get(base, early), early, "unknown key")
    idp.published.append("k3")
    _refused(_get(base, early), early, "unknown key")  # still within the refetch interval
    time.sleep(0.25)
    assert _get(base, early).status_code == 200
    assert idp.fetches == 3


def test_an_unreachable_idp_is_a_503_until_keys_are_cached(serve: Callable, idp: IdP) -> None:
    _, base = serve()
    idp.fail = True
    response = _get(base, idp.token())
    assert response.status_code == 503 and "cannot be checked" in response.json()["detail"]
    assert response.headers["retry-after"] == "5"


def test_an_idp_outage_keeps_serving_cached_keys(serve: Callable, idp: IdP) -> None:
    app, base = serve()
    assert _get(base, idp.token()).status_code == 200
    app.state.auth.oidc.jwks.ttl = 0.0  # every request now finds the JWKS stale
    idp.fail = True
    for _ in range(3):
        assert _get(base, idp.token()).status_code == 200


ROLES = [
    (("read",), (), ["read"]),
    (("carbon254:trade",), (), ["read", "trade"]),
    (("admin",), (), ["admin", "read", "trade"]),
    ((), ("trade",), ["read", "trade"]),
    (("lmp:read", "uma_authorization"), ("carbon254:admin",), ["admin", "read", "trade"]),
]


def test_roles_become_scopes(serve: Callable, idp: IdP) -> None:
    """Realm roles and the API client's roles; other clients' roles count for nothing."""
    _, base = serve()
    for roles, client_roles, scopes in ROLES:
        access = {AUDIENCE: {"roles": list(client_roles)}, "account": {"roles": ["admin"]}}
        token = idp.token(roles, resource_access=access)
        assert _get(base, token).json()["scopes"] == scopes, (roles, client_roles)


def test_missing_scope_is_a_403_naming_it(serve: Callable, idp: IdP) -> None:
    _, base = serve()
    nothing = idp.token(())
    response = _get(base, nothing)
    assert response.status_code == 403
    assert "needs scope 'read'" in response.json()["detail"]
    assert 'error="insufficient_scope", scope="read"' in response.headers["www-authenticate"]
    reader = idp.token(("read",))
    response = httpx.post(f"{base}{PROBE}", headers={"Authorization": f"Bearer {reader}"})
    assert response.status_code == 403 and "'trade'" in response.json()["detail"]
    trader = idp.token(("trade",))
    response = httpx.post(f"{base}{PROBE}", headers={"Authorization": f"Bearer {trader}"})
    assert response.status_code == 200
    response = _get(base, trader, "/api/v1/_admin_probe")
    assert response.status_code == 403 and "'admin'" in response.json()["detail"]
    assert _get(base, idp.token(("admin",)), "/api/v1/_admin_probe").status_code == 200


def test_bearer_tokens_without_an_issuer_configured(serve: Callable, idp: IdP) -> None:
    _, base = serve(oidc_issuer=None, oidc_jwks_url=None)
    token = idp.token()
    _refused(_get(base, token), token, "no OIDC issuer configured")
