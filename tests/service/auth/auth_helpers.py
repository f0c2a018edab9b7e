"""A stand-in identity provider for auth tests: RSA keys, Keycloak-shaped tokens, and the
realm's JWKS served from a real loopback HTTP server (so fetching and rotation are real)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, WebSocket

from carbon254.service.auth import PrincipalDep, require_scope
from carbon254.service.auth.principal import Principal

AdminDep = Annotated[Principal, Depends(require_scope("admin"))]
CERTS_PATH = "/realms/carbon254/protocol/openid-connect/certs"
AUDIENCE = "carbon254-api"


_POOL: list[rsa.RSAPrivateKey] = []
_next = itertools.count()


def new_key() -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key, different from the previous seven (made once, then reused:
    generating one costs ~100 ms)."""
    i = next(_next) % 8
    if i == len(_POOL):
        _POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _POOL[i]


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return jwk | {"kid": kid, "use": "sig", "alg": "RS256"}


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """header.payload. — the signing input, before any signature."""
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def hs256_with(secret: bytes, header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An HS256 token made by hand (PyJWT refuses a PEM as an HMAC secret; attackers don't)."""
    signing_input = unsigned(header, claims)[:-1]
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


class IdP:
    """Keys by kid, the JWKS it publishes (`published`), and how often it was fetched."""

    def __init__(self, base_url: str) -> None:
        self.issuer = f"{base_url}/realms/carbon254"
        self.jwks_url = f"{base_url}{CERTS_PATH}"
        self.keys: dict[str, rsa.RSAPrivateKey] = {"k1": new_key()}
        self.published = ["k1"]
        self.fetches = 0
        self.fail = False

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.keys[kid], kid) for kid in self.published]}

    def rotate(self, kid: str) -> None:
        """Add a key and publish it beside the old ones (as Keycloak does)."""
        self.keys[kid] = new_key()
        self.published.append(kid)

    def claims(self, roles: tuple[str, ...] = ("read",), **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": [AUDIENCE, "account"],
            "azp": "carbon254-excel",
            "sub": f"user-{uuid.uuid4().hex[:8]}",
            "typ": "Bearer",
            "exp": now + 300,
            "iat": now,
            "preferred_username": "alice",
            "realm_access": {"roles": [*roles, "offline_access"]},
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self,
        roles: tuple[str, ...] = ("read",),
        *,
        kid: str = "k1",
        key: rsa.RSAPrivateKey | None = None,
        **overrides: Any,
    ) -> str:
        signer = key if key is not None else self.keys[kid]
        return jwt.encode(self.claims(roles, **overrides), signer, "RS256", headers={"kid": kid})


@contextmanager
def serve_idp() -> Iterator[IdP]:
    """Run the IdP's JWKS endpoint on a free loopback port."""
    holder: dict[str, IdP] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            idp = holder["idp"]
            if self.path != CERTS_PATH:
                self.send_error(404)
                return
            idp.fetches += 1
            if idp.fail:
                self.send_error(503)
                return
            body = json.dumps(idp.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["idp"] = IdP(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield holder["idp"]
    finally:
        server.shutdown()
        server.server_close()


def add_probe_routes(app: FastAPI) -> None:
    """Routes that report the caller, one per scope level, and a websocket."""

    def who(principal: Principal) -> dict[str, Any]:
        return {
            "subject": principal.subject,
            "kind": principal.kind,
            "scopes": sorted(principal.scopes),
            "name": principal.name,
        }

    @app.get("/api/v1/_probe")
    def read_probe(principal: PrincipalDep) -> dict[str, Any]:
        return who(principal)

    @app.post("/api/v1/_probe")
    def trade_probe(principal: PrincipalDep) -> dict[str, Any]:
        return who(principal)

    @app.get("/api/v1/_admin_probe")
    def admin_probe(principal: AdminDep) -> dict[str, Any]:
        return who(principal)

    @app.websocket("/api/v1/_ws_probe")
    async def ws_probe(websocket: WebSocket) -> None:
        await websocket.accept()
        principal = websocket.state.principal
        await websocket.send_json(who(principal))
        await websocket.close()
