"""PJM Data Miner 2: the transport every PJM dataset uses.

`https://api.pjm.com/api/v1/<feed>` answers paged JSON envelopes
`{"links": [...], "items": [...], "searchSpecification": {...}, "totalRows": N}`.
Three rules of the upstream shape everything here:

- The time filter is in local prevailing time (EPT) and its end is *inclusive*, so a
  window `[start, end)` is asked as `start .. end - 1 minute` (interval starts are whole
  minutes, so nothing of the next day comes back and nothing of this one is lost).
- Data older than the archive horizon (186 days for 5-minute feeds, 731 for hourly)
  cannot be filtered by node or type: for an archived window those filters are dropped
  from the request and applied to the rows on our side (recorded in each page's meta).
- A request may not span a year boundary or the archive horizon (`chunking`).

Pages are asked by explicit `startRow`, every page must report the same `totalRows`,
and the pages together must hold exactly that many rows; anything else is a
`PayloadError` rather than a silently short day.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from ...core.markets import Iso
from ..dataset import Auth, Chunking, Window
from ..errors import PayloadError
from ..http import HttpFetcher, RawResponse
from ..ratelimit import RateBudget
from ._pages import _envelope, apply_filters, read_items, read_page, read_pages

__all__ = [
    "API_KEY_ENV",
    "ARCHIVE_FIVE_MIN",
    "ARCHIVE_HOURLY",
    "AUTH",
    "BASE_URL",
    "BUDGET",
    "NODE_FILTERS",
    "PAGE_ROWS",
    "REQUESTS_PER_MINUTE",
    "apply_filters",
    "budget",
    "chunking",
    "ept_filter",
    "fetch_pages",
    "read_items",
    "read_page",
    "read_pages",
]

log = logging.getLogger("carbon254.connectors.pjm")

BASE_URL = "https://api.pjm.com/api/v1"
API_KEY_ENV = "PJM_API_KEY"
API_KEY_HEADER = "Ocp-Apim-Subscription-Key"
AUTH = Auth(env=(API_KEY_ENV,))

# Non-members get 6 data requests a minute (members 600), per a third-party guide; PJM's
# own terms were not checked. `PJM_REQUESTS_PER_MINUTE` overrides it (members: 600).
REQUESTS_PER_MINUTE = 6.0
PAGE_ROWS = 50_000

# Older than this, a feed is "archived": no node/type filters, download all and filter here.
ARCHIVE_FIVE_MIN = timedelta(days=186)
ARCHIVE_HOURLY = timedelta(days=731)
# Filters the archive refuses; they are applied client-side on archived windows.
NODE_FILTERS = frozenset({"pnode_id", "pnode_name", "type", "zone"})
EPT_FORMAT = "%m/%d/%Y %H:%M"


def budget() -> RateBudget:
    """The request budget for api.pjm.com, from `PJM_REQUESTS_PER_MINUTE` if set."""
    text = os.environ.get("PJM_REQUESTS_PER_MINUTE", "").strip()
    rate = REQUESTS_PER_MINUTE
    if text:
        try:
            rate = float(text)
            if rate <= 0:
                raise ValueError(text)
        except ValueError:
            log.warning("PJM_REQUESTS_PER_MINUTE=%r is not a positive number; using 6", text)
            rate = REQUESTS_PER_MINUTE
    return RateBudget(rate, 60.0)


BUDGET = budget()


def chunking(archive_after: timedelta | None, *, max_days: int = 1) -> Chunking:
    """Windows of whole local days that never cross New Year or the archive horizon."""
    return Chunking(max_days=max_days, split_years=True, archive_after=archive_after)


def ept_filter(window: Window) -> str:
    """`datetime_beginning_ept` value for `window`: local wall times, end inclusive.

    The window's bounds are local midnights (never ambiguous, even on DST days); the end
    is asked as the minute before, because the upstream includes rows that start exactly
    at the end. A fall-back day's repeated 01:00-01:59 lies inside the range both times.
    """
    start = window.start.astimezone(Iso.PJM.tz)
    last = (window.end - timedelta(minutes=1)).astimezone(Iso.PJM.tz)
    return f"{start.strftime(EPT_FORMAT)}to{last.strftime(EPT_FORMAT)}"


def fetch_pages(
    http: HttpFetcher,
    dataset: str,
    feed: str,
    window: Window | None,
    *,
    fields: Sequence[str] = (),
    filters: Mapping[str, str] | None = None,
    time_filter: str | None = "datetime_beginning_ept",
    row_count: int = PAGE_ROWS,
    rate: RateBudget | None = None,
    client_filters: Mapping[str, str] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> list[RawResponse]:
    """Every page of one Data Miner query, each a `RawResponse`.

    `filters` are query parameters (`pnode_id="1;2"`, `type="*HUB*"`,
    `row_is_current="TRUE"`). On an archived window the node filters in `NODE_FILTERS`
    and the `fields` selection are not sent (the archive serves whole rows, unfiltered);
    the node filters travel in each page's `meta["client_filters"]`, with any
    `client_filters` the feed never supports, and `read_items` applies them. A query that
    matches nothing returns one page with `totalRows` 0.
    """
    key = AUTH.values(dataset)[API_KEY_ENV]
    headers = {API_KEY_HEADER: key, "Accept": "application/json"}
    archived = window is not None and window.archived
    params: dict[str, Any] = {}
    client: dict[str, str] = dict(client_filters or {})
    for name, value in (filters or {}).items():
        if archived and name in NODE_FILTERS:
            client[name] = value
        else:
            params[name] = value
    wanted = list(fields)
    if wanted and client:
        wanted += [name for name in client if name not in wanted]
    if wanted and not archived:
        params["fields"] = ",".join(wanted)
    if window is not None and time_filter:
        params[time_filter] = ept_filter(window)
    url = f"{BASE_URL}/{feed}"
    base_meta: dict[str, Any] = {"feed": feed, "row_count": row_count}
    if window is not None:
        base_meta |= {
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "archived": window.archived,
        }
    if client:
        base_meta["client_filters"] = client
    base_meta |= dict(extra_meta or {})

    # Pages by explicit startRow rather than the `next` links: the query stays ours (the
    # links repeat it with the server's spelling), and every page can be checked against
    # the first one's totalRows: Data Miner can serve a query from a cached result set
    # while the feed loads new rows, and mixed pages would silently drop or repeat rows.
    pages: list[RawResponse] = []
    total: int | None = None
    received = 0
    start_row = 1
    while True:
        page_number = len(pages) + 1
        raw = http.get(
            dataset,
            url,
            params=params | {"startRow": start_row, "rowCount": row_count},
            headers=headers,
            budget=rate or budget(),
            meta=base_meta | {"page": page_number, "start_row": start_row},
        )
        envelope, count = _envelope(raw)
        page_total = envelope["totalRows"]
        if total is None:
            total = page_total
        elif page_total != total:
            raise PayloadError(
                dataset,
                f"{feed}: page {page_number} reports {page_total} total rows, page 1 "
                f"reported {total} (the feed changed while paging; fetch again)",
            )
        raw = _with_meta(raw, {"total_rows": total, "rows": count})
        pages.append(raw)
        received += count
        if count == 0 or received >= total:
            break
        start_row += row_count
    if received != total:
        raise PayloadError(
            dataset, f"{feed}: pages returned {received} rows but totalRows is {total}"
        )
    return pages


def _with_meta(raw: RawResponse, extra: Mapping[str, Any]) -> RawResponse:
    return RawResponse(
        dataset=raw.dataset,
        url=raw.url,
        fetched_at=raw.fetched_at,
        content=raw.content,
        content_type=raw.content_type,
        status=raw.status,
        meta=dict(raw.meta) | dict(extra),
        sha256=raw.sha256,  # same bytes: no second hash of a 20 MB page
    )
