"""ERCOT public API archive: history, behind an ROPC id_token and a subscription key.

Auth: POST username/password (env `ERCOT_API_USERNAME`, `ERCOT_API_PASSWORD`) to the
Azure B2C token URL; send `Authorization: Bearer <id_token>` and
`Ocp-Apim-Subscription-Key` (env `ERCOT_API_SUBSCRIPTION_KEY`). The token lasts an hour.
Archive: `GET /archive/<emil>?postDatetimeFrom=&postDatetimeTo=&size=&page=` lists
`archives[].docId` (`_meta.totalPages` pages); `GET /archive/<emil>?download=<docId>` is
the zip. ERCOT answers 429 after about 7 calls in a row, hence a slow `API_BUDGET`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..dataset import Auth
from ..errors import FetchError, MissingCredentials, PayloadError
from ..http import HttpFetcher, RawResponse
from ..payload import read_json
from ..ratelimit import RateBudget
from .documents import ErcotDocument, make_document, wall_time

__all__ = [
    "API_AUTH",
    "API_BASE",
    "API_BUDGET",
    "API_ENV",
    "ARCHIVE_PAGE_SIZE",
    "TOKEN_URL",
    "ApiSession",
    "api_session",
    "list_api_documents",
    "parse_archive_listing",
]

API_BASE = "https://api.ercot.com/api/public-reports"
TOKEN_URL = (
    "https://ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/"
    "B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
)
# ERCOT's documented public client id for the ROPC flow (not a secret).
CLIENT_ID = "fec253ea-0d06-4272-a5e6-b478baeecd70"
API_ENV = ("ERCOT_API_USERNAME", "ERCOT_API_PASSWORD", "ERCOT_API_SUBSCRIPTION_KEY")
# Datasets declare this: MIS needs nothing, the archive path checks the variables itself.
API_AUTH = Auth(env=API_ENV, optional=True)
_API_AUTH_STRICT = Auth(env=API_ENV, optional=False)
# ERCOT answers 429 after ~7 API calls in a row: a slow steady rate with a short burst.
API_BUDGET = RateBudget(requests=1, per_seconds=2.5, burst=4)
TOKEN_LIFETIME = 3600.0  # seconds, as ERCOT documents
TOKEN_MARGIN = 300.0  # refresh this long before expiry
ARCHIVE_PAGE_SIZE = 1000


@dataclass(slots=True)
class _Token:
    value: str
    expires: float  # on the session's clock


class ApiSession:
    """Credentials and a cached id_token for the ERCOT public API.

    The token is fetched once and reused until `TOKEN_MARGIN` before it expires; a 401
    on a request with a cached token forces one refresh. Secrets stay in headers and form
    bodies, never in urls, logs or `RawResponse`s.
    """

    def __init__(
        self,
        username: str,
        password: str,
        subscription_key: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._username = username
        self._password = password
        self._key = subscription_key
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.token_fetches = 0  # for tests and logs

    def __repr__(self) -> str:  # never show the secrets
        return "<ApiSession>"

    @classmethod
    def from_env(cls, dataset: str, **kwargs: Any) -> ApiSession:
        """A session from `ERCOT_API_*`; raises `MissingCredentials` naming only the variables."""
        values = _API_AUTH_STRICT.values(dataset)
        return cls(*(values[name] for name in API_ENV), **kwargs)

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def token(self, http: HttpFetcher, dataset: str) -> str:
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._token.expires - TOKEN_MARGIN:
                return self._token.value
            raw = http.request(
                dataset,
                "POST",
                TOKEN_URL,
                data={
                    "grant_type": "password",
                    "username": self._username,
                    "password": self._password,
                    "response_type": "id_token",
                    "scope": f"openid {CLIENT_ID} offline_access",
                    "client_id": CLIENT_ID,
                },
                budget=None,
                retry_statuses=frozenset({429, 500, 502, 503, 504}),
            )
            try:
                answer = read_json(raw)
            except PayloadError:
                raise FetchError(dataset, "ERCOT token endpoint did not answer JSON") from None
            value = answer.get("id_token") if isinstance(answer, dict) else None
            if not value:
                error = answer.get("error", "no id_token") if isinstance(answer, dict) else ""
                raise MissingCredentials(
                    dataset, f"ERCOT token request refused ({error}); check ERCOT_API_* values"
                )
            lifetime = _lifetime(answer)
            self._token = _Token(str(value), now + lifetime)
            self.token_fetches += 1
            return self._token.value

    def headers(self, http: HttpFetcher, dataset: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token(http, dataset)}",
            "Ocp-Apim-Subscription-Key": self._key,
        }

    def get(
        self,
        http: HttpFetcher,
        dataset: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        budget: RateBudget | None = API_BUDGET,
        meta: dict[str, Any] | None = None,
    ) -> RawResponse:
        """GET with auth headers; one token refresh on 401."""
        for attempt in (1, 2):
            try:
                return http.get(
                    dataset,
                    url,
                    params=params,
                    headers=self.headers(http, dataset),
                    budget=budget,
                    meta=meta,
                )
            except FetchError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                self.invalidate()
        raise AssertionError("unreachable")  # pragma: no cover


def _lifetime(answer: dict[str, Any]) -> float:
    for name in ("id_token_expires_in", "expires_in"):
        try:
            return min(float(answer[name]), TOKEN_LIFETIME)
        except (KeyError, TypeError, ValueError):
            continue
    return TOKEN_LIFETIME


_SESSIONS: dict[str, ApiSession] = {}
_SESSIONS_LOCK = threading.Lock()


def api_session(dataset: str) -> ApiSession:
    """The process-wide session for the credentials in the environment (one token shared
    by every ERCOT dataset)."""
    values = _API_AUTH_STRICT.values(dataset)
    key = hashlib.sha256("\0".join(values[name] for name in API_ENV).encode()).hexdigest()
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = _SESSIONS[key] = ApiSession(*(values[name] for name in API_ENV))
        return session


def parse_archive_listing(raw: RawResponse) -> tuple[list[ErcotDocument], int]:
    """Documents of one archive listing page and the total page count."""
    data = read_json(raw)
    if not isinstance(data, dict) or "archives" not in data:
        raise PayloadError(raw.dataset, f"archive listing from {raw.url} has no 'archives'")
    try:
        pages = int((data.get("_meta") or {}).get("totalPages", 1))
    except (TypeError, ValueError):
        raise PayloadError(raw.dataset, f"archive listing from {raw.url}: bad totalPages") from None
    emil = ((data.get("product") or {}).get("emilId") or "").lower()
    docs = []
    for item in data["archives"] or []:
        if not isinstance(item, dict) or "docId" not in item:
            raise PayloadError(raw.dataset, f"archive entry without docId: {item}")
        href = (((item.get("_links") or {}).get("endpoint")) or {}).get("href") or (
            f"{API_BASE}/archive/{emil}?download={item['docId']}"
        )
        posted = wall_time(item.get("postDatetime"))
        docs.append(
            make_document(
                item["docId"], str(item.get("friendlyName") or ""), "", posted, "api", href
            )
        )
    return docs, max(pages, 1)


def list_api_documents(
    http: HttpFetcher,
    dataset: str,
    emil: str,
    posted_from: datetime,
    posted_to: datetime,
    *,
    session: ApiSession,
    budget: RateBudget | None = API_BUDGET,
) -> list[ErcotDocument]:
    """Archive documents posted in `[posted_from, posted_to)` (naive local), every page."""
    url = f"{API_BASE}/archive/{emil.lower()}"
    params: dict[str, Any] = {
        "postDatetimeFrom": posted_from.strftime("%Y-%m-%dT%H:%M:%S"),
        "postDatetimeTo": posted_to.strftime("%Y-%m-%dT%H:%M:%S"),
        "size": ARCHIVE_PAGE_SIZE,
        "page": 1,
    }
    docs: list[ErcotDocument] = []
    page, pages = 1, 1
    while page <= pages:
        params["page"] = page
        raw = session.get(http, dataset, url, params=dict(params), budget=budget)
        found, pages = parse_archive_listing(raw)
        docs.extend(found)
        page += 1
    return docs
