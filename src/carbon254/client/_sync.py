"""`Client`: the synchronous SDK client (see `_core` for what it shares with `AsyncClient`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from types import TracebackType
from typing import Any, TypeVar

import httpx

from ..core.api_models import (
    Batch,
    CurveInfo,
    CurveMark,
    Health,
    Instrument,
    JobRun,
    LatestPrice,
    Location,
    MarkUpload,
    Readiness,
)
from . import _endpoints as ep
from ._auth import resolve_auth
from ._core import (
    NO_RETRY,
    Call,
    Config,
    Instant,
    Paged,
    Wire,
    build_request,
    check,
    retry_delay,
    transport_error,
    unreadable,
)
from ._retry import RetryPolicy
from ._wire import Page
from .frames import Completeness, CurveFrame, PriceFrame, Rows

__all__ = ["Client"]

T = TypeVar("T")
F = TypeVar("F")


class Client:
    """The carbon254 API, synchronously. Use it as a context manager (or call `close()`):
    it holds a pool of keep-alive connections.

    ```python
    with carbon254.Client("https://api.example.com", api_key="...") as client:
        df = client.prices("PJM.RT5.LMP.51288", "2024-11-01", "2024-12-01").to_pandas()
    ```

    Args:
        base_url: the server (default `CARBON254_BASE_URL`, else `http://localhost:8000`).
        api_key: sent as `X-API-Key` (default `CARBON254_API_KEY`).
        token_url, client_id, client_secret, scope: OIDC client credentials (e.g. a
            Keycloak service account) instead of an API key; the token is fetched and
            refreshed before it expires. Also read from `CARBON254_TOKEN_URL`,
            `CARBON254_CLIENT_ID`, `CARBON254_CLIENT_SECRET`.
        auth: any `httpx.Auth` instead of the above.
        timeout: seconds, or an `httpx.Timeout` (default 30 s read, 5 s connect).
        retries: retries of idempotent requests (an int, or a `RetryPolicy`); 0 disables.
        wire: `"arrow"` (default) or `"json"`: how tables travel.
        headers: extra headers on every request.
        limits: connection pool limits (`httpx.Limits`).
        transport: an httpx transport (tests, proxies, a custom TLS setup).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        token_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str | None = None,
        auth: httpx.Auth | None = None,
        timeout: float | httpx.Timeout | None = None,
        retries: int | RetryPolicy = 3,
        wire: Wire = "arrow",
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        credentials = resolve_auth(
            auth=auth, api_key=api_key, token_url=token_url, client_id=client_id,
            client_secret=client_secret, scope=scope,
        )  # fmt: skip
        self._config = Config.make(base_url, credentials, timeout, retries, wire, headers)
        self._http = httpx.Client(**self._config.http_kwargs(transport, limits))
        self._sleep = time.sleep  # how retries wait (tests replace it)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._config.base_url

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r}, wire={self._config.wire!r})"

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, call: Call[Any]) -> httpx.Response:
        request = build_request(self._http, call)
        policy = self._config.retry if call.retry else NO_RETRY
        retry = 0
        while True:
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                delay = retry_delay(policy, request, retry, exc=exc)
                if delay is None:
                    raise transport_error(request, exc) from exc
            else:
                delay = retry_delay(policy, request, retry, response=response)
                if delay is None:
                    return check(response, call.ok)
                response.close()
            self._sleep(delay)
            retry += 1

    def _run(self, call: Call[T]) -> T:
        response = self._send(call)
        try:
            return call.parse(response)
        except ValueError as exc:
            raise unreadable(response, exc) from exc

    def _pages(self, paged: Paged[Any]) -> Iterator[Page]:
        call: Call[Page] | None = paged.call
        seen: set[str] = set()
        while call is not None:
            page = self._run(call)
            yield page
            call = paged.next_call(call, page, seen)

    def _collect(self, paged: Paged[F]) -> F:
        return paged.build(list(self._pages(paged)))

    def _accept(self, wire: Wire | None) -> str:
        return self._config.accept(wire)

    # -- probes ---------------------------------------------------------------------------
    def health(self) -> Health:
        """Liveness: the service answers and its store is reachable and migrated."""
        return self._run(ep.health())

    def ready(self) -> Readiness:
        """Readiness (store and cache reachable). Not retried, and a 503 is an answer
        (`ready=False`, `detail` says why), not an error."""
        return self._run(ep.ready())

    # -- catalogue --------------------------------------------------------------------------
    def instruments(
        self,
        *,
        iso: str | None = None,
        market: str | None = None,
        product: str | None = None,
        location_type: str | None = None,
        name: str | None = None,
    ) -> Rows[Instrument]:
        """The instrument catalogue, filtered; `name` is a case-insensitive substring of
        the location id or its directory name. Iterate for `Instrument` models, or
        `.to_pandas()`."""
        paged = ep.instruments(
            self._accept(None), iso=iso, market=market, product=product,
            location_type=location_type, name=name,
        )  # fmt: skip
        return self._collect(paged)

    def locations(
        self,
        *,
        iso: str | None = None,
        location_type: str | None = None,
        name: str | None = None,
        on: date | str | None = None,
    ) -> Rows[Location]:
        """The location directory: every version (effective to termination date), or
        those in effect `on` a day."""
        paged = ep.locations(
            self._accept(None), iso=iso, location_type=location_type, name=name, on=on
        )
        return self._collect(paged)

    # -- series -------------------------------------------------------------------------------
    def prices(
        self,
        instruments: str | Iterable[object],
        start: Instant,
        end: Instant,
        *,
        as_of: Instant | None = None,
        resample: str | None = None,
        agg: str | None = None,
        peak: str | None = None,
        tz: str | None = None,
        page_size: int | None = None,
        wire: Wire | None = None,
    ) -> PriceFrame:
        """Prices with `start <= interval_start < end`, every page fetched.

        `instruments`: one id, a comma-separated string or a list. `start`/`end`/`as_of`:
        aware datetimes, dates or ISO-8601 strings (naive means UTC; a date is its UTC
        midnight). `as_of`: the values the store held then. `resample` (`5min`, `15min`,
        `hourly`, `daily`, `monthly`) with `agg` (`mean`, `min`, `max`), and `peak`
        (`on`, `off`), in each market's clock. `tz` (an IANA zone, or `market`) adds
        `interval_start_local`/`interval_end_local`. `page_size`: rows per request.
        """
        paged = ep.prices(
            self._accept(wire), instruments, start, end, as_of=as_of, resample=resample,
            agg=agg, peak=peak, tz=tz, page_size=page_size,
        )  # fmt: skip
        return self._collect(paged)

    def iter_pages(
        self,
        instruments: str | Iterable[object],
        start: Instant,
        end: Instant,
        *,
        as_of: Instant | None = None,
        resample: str | None = None,
        agg: str | None = None,
        peak: str | None = None,
        tz: str | None = None,
        page_size: int | None = None,
        wire: Wire | None = None,
    ) -> Iterator[PriceFrame]:
        """`prices(...)` one page at a time (each a `PriceFrame`), fetched as you iterate:
        for ranges too large to hold at once. Pass `as_of` for a consistent walk while
        ingestion runs."""
        paged = ep.prices(
            self._accept(wire), instruments, start, end, as_of=as_of, resample=resample,
            agg=agg, peak=peak, tz=tz, page_size=page_size,
        )  # fmt: skip
        for page in self._pages(paged):
            yield paged.build([page])

    def latest(
        self,
        instruments: str | Iterable[object] | None = None,
        *,
        iso: str | None = None,
        market: str | None = None,
        product: str | None = None,
        tz: str | None = None,
    ) -> Rows[LatestPrice]:
        """The most recent stored interval of each instrument: those named, or every
        instrument matching `iso`/`market`/`product` (all without filters)."""
        paged = ep.latest(
            self._accept(None), instruments, iso=iso, market=market, product=product, tz=tz
        )
        return self._collect(paged)

    def spreads(
        self,
        hub: str | object,
        nodes: str | Iterable[object],
        start: Instant,
        end: Instant,
        *,
        as_of: Instant | None = None,
        resample: str | None = None,
        agg: str | None = None,
        peak: str | None = None,
        tz: str | None = None,
        wire: Wire | None = None,
    ) -> PriceFrame:
        """Node minus hub per interval (`spread`, `node_value`, `hub_value`, component
        spreads), for nodes in the hub's ISO, market and product. Options as `prices`."""
        paged = ep.spreads(
            self._accept(wire), hub, nodes, start, end, as_of=as_of, resample=resample,
            agg=agg, peak=peak, tz=tz,
        )  # fmt: skip
        return self._collect(paged)

    # -- curves -----------------------------------------------------------------------------
    def curves(self, *, iso: str | None = None) -> Rows[CurveInfo]:
        """Hubs that can have forward curves, and curves holding marks."""
        return self._collect(ep.curves(self._accept(None), iso=iso))

    def curve(
        self,
        instrument: str | object,
        *,
        as_of: Instant | None = None,
        start: date | str | None = None,
        months: int | None = None,
    ) -> CurveFrame:
        """A hub's monthly on-/off-peak forward curve for `months` months from `start`
        (a month: `YYYY-MM` or a date), from history held at `as_of`, marks laid over."""
        paged = ep.curve(self._accept(None), instrument, as_of=as_of, start=start, months=months)
        return self._collect(paged)

    def marks(
        self, instrument: str | object, *, as_of: Instant | None = None, revisions: bool = False
    ) -> Rows[CurveMark]:
        """The marks held at `as_of` (default now); `revisions=True` adds superseded ones."""
        paged = ep.marks(self._accept(None), instrument, as_of=as_of, revisions=revisions)
        return self._collect(paged)

    def upload_marks(
        self, instrument: str | object, marks: object, *, source: str | None = None
    ) -> MarkUpload:
        """Upload marks (a DataFrame, Arrow table or list of dicts with month, peak,
        price) as one new version; needs scope `trade`. Never retried (not idempotent
        on the wire, though an identical re-upload changes nothing)."""
        return self._run(ep.upload_marks(instrument, marks, source=source))

    # -- quality and lineage -------------------------------------------------------------------
    def completeness(
        self,
        *,
        dataset: str | Iterable[str] | None = None,
        iso: str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
    ) -> Completeness:
        """Completeness per dataset and local market day (`start`..`end` inclusive);
        `.report` has the period's pass/fail and gap ranges."""
        paged = ep.completeness(self._accept(None), dataset=dataset, iso=iso, start=start, end=end)
        return self._collect(paged)

    def batches(
        self, *, source: str | None = None, since: Instant | None = None, limit: int = 100
    ) -> Rows[Batch]:
        """Ingest batches, newest first: source, URL, content hash, row counts."""
        paged = ep.batches(self._accept(None), source=source, since=since, limit=limit)
        return self._collect(paged)

    def jobs(
        self,
        *,
        job: str | None = None,
        status: str | None = None,
        since: Instant | None = None,
        limit: int = 100,
    ) -> Rows[JobRun]:
        """Runs of the ingestion jobs, newest first."""
        paged = ep.jobs(self._accept(None), job=job, status=status, since=since, limit=limit)
        return self._collect(paged)

    # -- GraphQL ---------------------------------------------------------------------------
    def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """Run a GraphQL query at `/graphql` and return its `data`; `errors` in the answer
        raise `GraphQLError`. Sent as POST, so never retried. Subscriptions need a
        websocket client (see docs/sdk.md)."""
        return self._run(ep.graphql(query, variables, operation_name))
