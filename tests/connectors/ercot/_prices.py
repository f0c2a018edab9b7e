"""Loading the ERCOT price fixtures (tests/fixtures/ercot, written by make_fixtures.py)
as the `RawResponse`s the MIS transport returns: one per document, meta from its names."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

from carbon254.connectors.ercot.documents import ErcotDocument, make_document, posted_time
from carbon254.connectors.http import RawResponse

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ercot"
SPRING, FALL, NORMAL = date(2024, 3, 10), date(2024, 11, 3), date(2024, 7, 15)
EMIL = {"np6905": "NP6-905-CD", "np4190": "NP4-190-CD", "np6788": "NP6-788-CD"}


def doc_of(inner_name: str, doc_id: int) -> ErcotDocument:
    """The listed document an inner zip name stands for (constructed name → friendly)."""
    constructed = inner_name
    friendly = inner_name.split(".", 5)[5].removesuffix(".zip")
    return make_document(doc_id, friendly, constructed, posted_time(constructed), "mis", "")


def raw_of(dataset: str, emil: str, doc: ErcotDocument, content: bytes) -> RawResponse:
    return RawResponse(
        dataset=dataset,
        url=f"https://www.ercot.com/misdownload/servlets/mirDownload?doclookupId={doc.doc_id}",
        fetched_at=datetime(2024, 11, 5, tzinfo=UTC),
        content=content,
        content_type="application/zip",
        meta=doc.meta(emil),
    )


def members(report: str, day: date) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(FIXTURES / f"{report}_{day:%Y%m%d}.zip") as bundle:
        return [(name, bundle.read(name)) for name in bundle.namelist()]


def raws(dataset: str, report: str, *days: date) -> list[RawResponse]:
    """Every document of the fixture days, as MIS downloads."""
    out = []
    for day in days:
        for n, (name, content) in enumerate(members(report, day)):
            doc = doc_of(name, 1_000_000 * day.toordinal() % 10**9 + n)
            out.append(raw_of(dataset, EMIL[report], doc, content))
    return out


def zip_csv(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, text)
    return buffer.getvalue()
