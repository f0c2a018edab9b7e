"""ERCOT transports, one entry point: a dataset declares a `ReportSpec` and calls
`fetch_documents(http, name, spec, window)`.

Which path a window takes: MIS document lists (no auth) for recent windows, the public
API archive (token + key) when `Window.archived`, i.e. when the window ended more than
the dataset's `Chunking.archive_after` ago (MIS keeps only days). Both paths list
`ErcotDocument`s, choose those of the window by the time in their names (never MIS
`PublishDate`), let a `_retry` document replace its original, and download each zip as
a `RawResponse` whose `meta` carries the document's names and times (parsers order
documents by posting time with `documents_in_order`, so later postings win).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import ClassVar

import pyarrow as pa

from ...core.markets import Iso
from ..dataset import Dataset, Transport, Window
from ..errors import MissingCredentials, NoData, PayloadError
from ..http import HttpFetcher, RawResponse
from ..payload import read_csv, read_zip_members
from ..ratelimit import RateBudget
from .api import (
    API_AUTH,
    API_BASE,
    API_BUDGET,
    API_ENV,
    TOKEN_URL,
    ApiSession,
    api_session,
    list_api_documents,
    parse_archive_listing,
)
from .documents import ErcotDocument, name_time, posted_time, to_local, to_utc
from .mis import (
    MIS_BUDGET,
    MIS_DOWNLOAD_URL,
    MIS_LIST_URL,
    list_mis_documents,
    parse_mis_listing,
)

__all__ = [
    "API_AUTH",
    "API_BASE",
    "API_BUDGET",
    "API_ENV",
    "MIS_BUDGET",
    "MIS_DOWNLOAD_URL",
    "MIS_LIST_URL",
    "TOKEN_URL",
    "ApiSession",
    "ErcotDocument",
    "ErcotReport",
    "ReportSpec",
    "Stamp",
    "api_session",
    "documents_in_order",
    "download_document",
    "fetch_documents",
    "list_api_documents",
    "list_mis_documents",
    "name_time",
    "parse_archive_listing",
    "parse_mis_listing",
    "posted_time",
    "read_document",
    "select_documents",
    "to_local",
    "to_utc",
]


class Stamp(StrEnum):
    """Which time of a document places it in a window."""

    NAME_END = "name-end"  # name time ends the interval it holds (NP6-905: _0015 = 00:00-00:15)
    NAME_START = "name-start"  # name time is the run time (SCED: LMPSROSNODENP6788_..._000018)
    POSTED = "posted"  # no time in the name: the posting time, shifted by the report's lag


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """What a dataset fetches: the EMIL id, the MIS report type and how documents map to
    delivery time. For `Stamp.POSTED`, documents posted in `[start + post_from,
    end + post_to)` (local calendar arithmetic) belong to the window `[start, end)`;
    the API archive is queried on that posting range widened by `archive_slack`."""

    emil: str  # "NP6-905-CD"
    report_type_id: int  # 12301
    stamp: Stamp
    post_from: timedelta = timedelta(0)
    post_to: timedelta = timedelta(0)
    archive_slack: timedelta = timedelta(hours=2)

    @property
    def emil_path(self) -> str:
        return self.emil.lower()


def _posting_range(spec: ReportSpec, window: Window) -> tuple[datetime, datetime]:
    return to_local(window.start) + spec.post_from, to_local(window.end) + spec.post_to


def select_documents(
    docs: Iterable[ErcotDocument], spec: ReportSpec, window: Window
) -> list[ErcotDocument]:
    """The CSV documents that hold `window`, ordered by posting time.

    A `_retry` document replaces its original (same report, name time and pass; the
    latest retry wins). Other documents sharing a name are all kept: they may be two
    intervals that only the rows' DST flags tell apart (the fall-back hour), and where
    they do restate the same rows the parser lets the later posting win.
    """
    groups: dict[tuple[str, datetime | None, bool], list[ErcotDocument]] = {}
    if spec.stamp is Stamp.POSTED:
        low, high = _posting_range(spec, window)
        low_utc, high_utc = to_utc(low), to_utc(high)
    for doc in docs:
        if doc.is_xml:
            continue
        if spec.stamp is Stamp.POSTED:
            at = doc.posted_utc
            if at is None or not (low_utc <= at < high_utc):
                continue
            key = (doc.stem, doc.posted_local.replace(hour=0, minute=0, second=0), False)
        else:
            at = doc.name_utc
            if at is None:
                continue
            if spec.stamp is Stamp.NAME_END:
                inside = window.start < at <= window.end
            else:
                inside = window.start <= at < window.end
            if not inside:
                continue
            key = (doc.stem, doc.name_local, doc.repeated)
        groups.setdefault(key, []).append(doc)
    chosen: list[ErcotDocument] = []
    for members in groups.values():
        retries = [doc for doc in members if doc.retry]
        chosen.extend([max(retries, key=_order)] if retries else members)
    return sorted(chosen, key=_order)


def _order(doc: ErcotDocument) -> tuple[datetime, bool, int, str]:
    number = int(doc.doc_id) if doc.doc_id.isdigit() else -1
    return (doc.posted_utc or datetime.min.replace(tzinfo=UTC), doc.retry, number, doc.doc_id)


def download_document(
    http: HttpFetcher,
    dataset: str,
    spec: ReportSpec,
    doc: ErcotDocument,
    *,
    session: ApiSession | None = None,
    budget: RateBudget | str | None = "default",
) -> RawResponse:
    """The zip of one document; `meta` carries the document's names and times.
    `budget` defaults to the budget of the document's host; None sends unpaced."""
    meta = doc.meta(spec.emil)
    if doc.source == "api":
        if session is None:
            raise MissingCredentials(dataset, "an API archive document needs an ApiSession")
        url = f"{API_BASE}/archive/{spec.emil_path}"
        return session.get(
            http,
            dataset,
            url,
            params={"download": doc.doc_id},
            budget=API_BUDGET if budget == "default" else budget,
            meta=meta,
        )
    return http.get(
        dataset,
        f"{MIS_DOWNLOAD_URL}?doclookupId={doc.doc_id}",
        budget=MIS_BUDGET if budget == "default" else budget,
        meta=meta,
    )


def fetch_documents(
    http: HttpFetcher,
    dataset: str,
    spec: ReportSpec,
    window: Window,
    *,
    session: ApiSession | None = None,
    mis_budget: RateBudget | None = MIS_BUDGET,
    api_budget: RateBudget | None = API_BUDGET,
) -> list[RawResponse]:
    """Every document of `spec` for `window`: from MIS for recent windows, from the API
    archive when `window.archived` (MIS keeps only days). Raises `NoData` when none."""
    if window.archived:
        session = session or api_session(dataset)
        low, high = _posting_range(spec, window)
        listed = list_api_documents(
            http,
            dataset,
            spec.emil,
            low - spec.archive_slack,
            high + spec.archive_slack,
            session=session,
            budget=api_budget,
        )
    else:
        listed = list_mis_documents(http, dataset, spec.report_type_id, budget=mis_budget)
    chosen = select_documents(listed, spec, window)
    if not chosen:
        where = "API archive" if window.archived else "MIS"
        raise NoData(
            dataset,
            f"{where} lists no {spec.emil} document for {window.start:%Y-%m-%d %H:%M}Z"
            f"..{window.end:%Y-%m-%d %H:%M}Z",
        )
    budget = api_budget if window.archived else mis_budget
    return [
        download_document(http, dataset, spec, doc, session=session, budget=budget)
        for doc in chosen
    ]


def documents_in_order(raws: Sequence[RawResponse]) -> list[RawResponse]:
    """Raw documents ordered by posting time (retries after originals): later rows win."""

    def key(raw: RawResponse) -> tuple[str, bool, int]:
        meta = raw.meta or {}
        doc_id = str(meta.get("doc_id") or "")
        number = int(doc_id) if doc_id.isdigit() else -1
        return (str(meta.get("posted_utc") or ""), bool(meta.get("retry")), number)

    return sorted(raws, key=key)


def read_document(
    raw: RawResponse,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    strings: Sequence[str] = (),
) -> pa.Table:
    """The CSV rows of one downloaded document (every `.csv` member of its zip, the XML
    twin ignored), after the column check; `PayloadError` on HTML, empty or truncated
    bodies and on unknown or missing columns."""
    tables = []
    for name, content in read_zip_members(raw, suffix=".csv"):
        where = f"{name} ({raw.meta.get('friendly_name') or raw.url})"
        tables.append(
            read_csv(raw.dataset, content, required, optional, where=where, strings=strings)
        )
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise PayloadError(raw.dataset, f"CSV members of {raw.url} disagree: {exc}") from None


class ErcotReport(Dataset):
    """An ERCOT report published as documents: what every ERCOT dataset shares.

    Recent windows come from MIS document lists (no auth), older ones from the public
    API archive (all three `ERCOT_API_*` variables); `spec` says which report and how a
    document is placed in a window. Subclasses declare the rest and write `parse`.
    """

    iso = Iso.ERCOT
    transport = Transport.DOC_LIST
    auth = API_AUTH  # MIS needs none; the API archive path (older windows) needs all three
    budget = MIS_BUDGET  # the archive path paces itself with API_BUDGET
    spec: ClassVar[ReportSpec]

    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        return fetch_documents(http, self.name, self.spec, window)
