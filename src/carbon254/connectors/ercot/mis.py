"""ERCOT MIS document lists: no auth, recent days only (retention is days).

List: `IceDocListJsonWS?reportTypeId=<id>&_<epoch>` (JSON
`ListDocsByRptTypeRes.DocumentList[].Document{DocID, FriendlyName, ConstructedName,
PublishDate}`); download: `mirDownload?doclookupId=<DocID>`, a zip holding one CSV.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import PayloadError
from ..http import HttpFetcher, RawResponse
from ..payload import read_json
from ..ratelimit import RateBudget
from .documents import ErcotDocument, make_document, posted_time, wall_time

__all__ = [
    "MIS_BUDGET",
    "MIS_DOWNLOAD_URL",
    "MIS_LIST_URL",
    "list_mis_documents",
    "parse_mis_listing",
]

MIS_LIST_URL = "https://www.ercot.com/misapp/servlets/IceDocListJsonWS"
MIS_DOWNLOAD_URL = "https://www.ercot.com/misdownload/servlets/mirDownload"
# MIS is a static document server; gridstatus paces downloads at ~5/s without trouble.
MIS_BUDGET = RateBudget(requests=4, per_seconds=1, burst=8)


def parse_mis_listing(raw: RawResponse) -> list[ErcotDocument]:
    """Documents of an `IceDocListJsonWS` answer (an empty list when ERCOT has none)."""
    data = read_json(raw)
    try:
        listing = data["ListDocsByRptTypeRes"]
    except (KeyError, TypeError):
        raise PayloadError(
            raw.dataset, f"MIS listing from {raw.url} has no ListDocsByRptTypeRes"
        ) from None
    entries = (listing or {}).get("DocumentList") or []
    if isinstance(entries, dict):  # a single document is not wrapped in a list
        entries = [entries]
    docs = []
    for entry in entries:
        doc = entry.get("Document", entry) if isinstance(entry, dict) else None
        if not isinstance(doc, dict) or "DocID" not in doc or "FriendlyName" not in doc:
            raise PayloadError(raw.dataset, f"MIS listing entry without DocID/FriendlyName: {doc}")
        constructed = str(doc.get("ConstructedName") or "")
        docs.append(
            make_document(
                doc["DocID"],
                str(doc["FriendlyName"]),
                constructed,
                posted_time(constructed) or wall_time(doc.get("PublishDate")),
                "mis",
                f"{MIS_DOWNLOAD_URL}?doclookupId={doc['DocID']}",
            )
        )
    return docs


def list_mis_documents(
    http: HttpFetcher,
    dataset: str,
    report_type_id: int,
    *,
    budget: RateBudget | None = MIS_BUDGET,
    now: Callable[[], float] = time.time,
) -> list[ErcotDocument]:
    """Every document MIS lists for a report type (it keeps only the last days)."""
    # `_<epoch>` is a cache buster; replay matching ignores `_`-prefixed parameters.
    url = f"{MIS_LIST_URL}?reportTypeId={report_type_id}&_{int(now())}"
    raw = http.get(dataset, url, budget=budget, meta={"report_type_id": report_type_id})
    return parse_mis_listing(raw)
