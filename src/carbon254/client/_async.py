"""`AsyncClient`: the asyncio SDK client; the same operations as `Client`, awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
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

__all__ = ["AsyncClient"]

T = TypeVar("T")
F = TypeVar("F")


class AsyncClient:
    """The carbon254 API for asyncio. Same arguments and methods as `Client`; use it as
    `async with carbon254.AsyncClient(...) as client:` and `await` each call, or
    `async for page in client.iter_pages(...)`.
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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        credentials = resolve_auth(
            auth=auth, api_key=api_key, token_url=token_url, client_id=client_id,
            client_secret=client_secret, scope=scope,
        )  # fmt: skip
        self._config = Config.make(base_url, credentials, timeout, retries, wire, headers)
        self._http = httpx.AsyncClient(**self._config.http_kwargs(transport, limits))
        self._sleep = asyncio.sleep  # how retries wait (tests replace it)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r}, wire={self._config.wire!r})"

    # -- plumbing -------------------------------------------------------------------------
    async def _send(self, call: Call[Any]) -> httpx.Response:
        request = build_request(self._http, call)
        policy = self._config.retry if call.retry else NO_RETRY
        retry = 0
        while True:
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                delay = retry_delay(policy, request, retry, exc=exc)
                if delay is None:
                    raise transport_error(request, exc) from exc
            else:
                delay = retry_delay(policy, request, retry, response=response)
                if delay is None:
                    return check(response, call.ok)
                await response.aclose()
            await self._sleep(delay)
            retry += 1

    async def _run(self, call: Call[T]) -> T:
        response = await self._send(call)
        try:
            return call.parse(response)
        except ValueError as exc:
            raise unreadable(response, exc) from exc

    async def _pages(self, paged: Paged[Any]) -> AsyncIterator[Page]:
        call: Call[Page] | None = paged.call
        seen: set[str] = set()
        while call is not None:
            page = await self._run(call)
            yield page
            call = paged.next_call(call, page, seen)

    async def _collect(self, paged: Paged[F]) -> F:
        return paged.build([page async for page in self._pages(paged)])

    def _accept(self, wire: Wire | None) -> str:
        return self._config.accept(wire)

    # -- probes ---------------------------------------------------------------------------
    async def health(self) -> Health:
        """See `Client.health`."""
        return await self._run(ep.health())

    async def ready(self) -> Readiness:
        """See `Client.ready`."""
        return await self._run(ep.ready())

    # -- catalogue --------------------------------------------------------------------------
    async def instruments(
        self,
        *,
        iso: str | None = None,
        market: str | None = None,
        product: str | None = None,
        location_type: str | None = None,
        name: str | None = None,
    ) -> Rows[Instrument]:
        """See `Client.instruments`."""
        paged = ep.instruments(
            self._accept(None), iso=iso, market=market, product=product,
            location_type=location_type, name=name,
        )  # fmt: skip
        return await self._collect(paged)

    async def locations(
        self,
        *,
        iso: str | None = None,
        location_type: str | None = None,
        name: str | None = None,
        on: date | str | None = None,
    ) -> Rows[Location]:
        """See `Client.locations`."""
        paged = ep.locations(
            self._accept(None), iso=iso, location_type=location_type, name=name, on=on
        )
        return await self._collect(paged)

    # -- series -------------------------------------------------------------------------------
    async def prices(
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
        """See `Client.prices`."""
        paged = ep.prices(
            self._accept(wire), instruments, start, end, as_of=as_of, resample=resample,
            agg=agg, peak=peak, tz=tz, page_size=page_size,
        )  # fmt: skip
        return await self._collect(paged)

    async def iter_pages(
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
    ) -> AsyncIterator[PriceFrame]:
        """See `Client.iter_pages`."""
        paged = ep.prices(
            self._accept(wire), instruments, start, end, as_of=as_of, resample=resample,
            agg=agg, peak=peak, tz=tz, page_size=page_size,
        )  # fmt: skip
        async for page in self._pages(paged):
            yield paged.build([page])

    async def latest(
        self,
        instruments: str | Iterable[object] | None = None,
        *,
        iso: str | None = None,
        market: str | None = None,
        product: str | None = None,
        tz: str | None = None,
    ) -> Rows[LatestPrice]:
        """See `Client.latest`."""
        paged = ep.latest(
            self._accept(None), instruments, iso=iso, market=market, product=product, tz=tz
        )
        return await self._collect(paged)

    async def spreads(
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
        """See `Client.spreads`."""
        paged = ep.spreads(
            self._accept(wire), hub, nodes, start, end, as_of=as_of, resample=resample,
            agg=agg, peak=peak, tz=tz,
        )  # fmt: skip
        return await self._collect(paged)

    # -- curves -----------------------------------------------------------------------------
    async def curves(self, *, iso: str | None = None) -> Rows[CurveInfo]:
        """See `Client.curves`."""
        return await self._collect(ep.curves(self._accept(None), iso=iso))

    async def curve(
        self,
        instrument: str | object,
        *,
        as_of: Instant | None = None,
        start: date | str | None = None,
        months: int | None = None,
    ) -> CurveFrame:
        """See `Client.curve`."""
        paged = ep.curve(self._accept(None), instrument, as_of=as_of, start=start, months=months)
        return await self._collect(paged)

    async def marks(
        self, instrument: str | object, *, as_of: Instant | None = None, revisions: bool = False
    ) -> Rows[CurveMark]:
        """See `Client.marks`."""
        paged = ep.marks(self._accept(None), instrument, as_of=as_of, revisions=revisions)
        return await self._collect(paged)

    async def upload_marks(
        self, instrument: str | object, marks: object, *, source: str | None = None
    ) -> MarkUpload:
        """See `Client.upload_marks`."""
        return await self._run(ep.upload_marks(instrument, marks, source=source))

    # -- quality and lineage -------------------------------------------------------------------
    async def completeness(
        self,
        *,
        dataset: str | Iterable[str] | None = None,
        iso: str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
    ) -> Completeness:
        """See `Client.completeness`."""
        paged = ep.completeness(self._accept(None), dataset=dataset, iso=iso, start=start, end=end)
        return await self._collect(paged)

    async def batches(
        self, *, source: str | None = None, since: Instant | None = None, limit: int = 100
    ) -> Rows[Batch]:
        """See `Client.batches`."""
        paged = ep.batches(self._accept(None), source=source, since=since, limit=limit)
        return await self._collect(paged)

    async def jobs(
        self,
        *,
        job: str | None = None,
        status: str | None = None,
        since: Instant | None = None,
        limit: int = 100,
    ) -> Rows[JobRun]:
        """See `Client.jobs`."""
        paged = ep.jobs(self._accept(None), job=job, status=status, since=since, limit=limit)
        return await self._collect(paged)

    # -- GraphQL ---------------------------------------------------------------------------
    async def graphql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
    ) -> dict[str, Any]:
        """See `Client.graphql`."""
        return await self._run(ep.graphql(query, variables, operation_name))
