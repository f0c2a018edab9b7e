"""Helpers for the SDK tests: constants, and servers that misbehave on purpose."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

PJM_RT5 = "PJM.RT5.LMP.51288"
RT5_DAYS = (date(2024, 11, 2), date(2024, 11, 3), date(2024, 11, 4))
HUB = "PJM.DA.LMP.WESTERN HUB"
HUB_END = date(2024, 11, 5)  # the hub's history ends where this market day starts


@contextmanager
def silent_server() -> Iterator[tuple[str, list[int]]]:
    """A TCP server that accepts connections and never answers: every read times out.

    Yields its base URL and a list that counts accepted connections.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    accepted: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            accepted.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


def closed_port() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


class Scripted:
    """An ASGI app answering each request with the next scripted response (the last one
    repeats): a fault-injecting server for retries over a real socket.

    Responses are `(status, headers, body)`; `requests` records (method, path, headers).
    """

    def __init__(self, *responses: tuple[int, dict[str, str], bytes]) -> None:
        self.responses = list(responses)
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()  # type: ignore[operator]
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"{message['type']}.complete"})  # type: ignore[operator]
                if kind == "shutdown":
                    return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((scope["method"], scope["path"], headers))
        index = min(len(self.requests), len(self.responses)) - 1
        status, extra, body = self.responses[index]
        raw = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": body})  # type: ignore[operator]


class TokenEndpoint:
    """An OAuth 2.0 token endpoint (client credentials) as an ASGI app, minting tokens
    with `mint(lifetime)`. Checks the client's id and secret (form body or HTTP Basic);
    counts the tokens it issued."""

    def __init__(self, mint: object, client_id: str, client_secret: str, lifetime: int) -> None:
        self.mint = mint
        self.client_id = client_id
        self.client_secret = client_secret
        self.lifetime = lifetime
        self.issued = 0
        self.forms: list[dict[str, str]] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        import base64
        import json
        from urllib.parse import parse_qsl, unquote

        if scope["type"] == "lifespan":
            while True:
                message = await receive()  # type: ignore[operator]
                await send({"type": f"{message['type']}.complete"})  # type: ignore[operator]
                if message["type"].endswith("shutdown"):
                    return
        body = b""
        while True:
            message = await receive()  # type: ignore[operator]
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        form = dict(parse_qsl(body.decode()))
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if headers.get("authorization", "").startswith("Basic "):
            pair = base64.b64decode(headers["authorization"][6:]).decode()
            cid, _, secret = pair.partition(":")
            form.setdefault("client_id", unquote(cid))
            form.setdefault("client_secret", unquote(secret))
        self.forms.append({k: v for k, v in form.items() if k != "client_secret"})
        ok = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        )
        if ok:
            self.issued += 1
            token = self.mint(self.lifetime)  # type: ignore[operator]
            status, out = 200, {"access_token": token, "expires_in": self.lifetime,
                                "token_type": "Bearer"}  # fmt: skip
        else:
            status = 401
            out = {"error": "invalid_client", "error_description": "Invalid client credentials"}
        raw = json.dumps(out).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())
        ]})  # type: ignore[operator]  # fmt: skip
        await send({"type": "http.response.body", "body": raw})  # type: ignore[operator]
