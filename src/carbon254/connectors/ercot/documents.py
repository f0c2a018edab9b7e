"""ERCOT documents as both transports list them, with times read from their names.

Names carry local prevailing wall times: the posting time in the constructed name
(`cdr.00012301.0000000000000000.20241103.001502.SPPHLZNP6905_20241103_0015_csv.zip`) and,
for interval reports, the interval time in the friendly name (`SPPHLZNP6905_20241103_0015`).
MIS `PublishDate` is not used for times: its UTC offset is wrong during DST (gridstatus
#468). ERCOT marks files of the repeated fall-back hour with "xhr", which picks the
second (standard-time) pass; `_retry` marks a re-publication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ...core.markets import Iso

__all__ = [
    "TZ",
    "ErcotDocument",
    "make_document",
    "name_time",
    "posted_time",
    "to_local",
    "to_utc",
    "wall_time",
]

TZ = ZoneInfo(Iso.ERCOT.tz_name)

# cdr.<rtid>.<16 zeros>.YYYYMMDD.HHMMSS[fff].<name>
_POSTED = re.compile(r"\.(\d{8})\.(\d{6})\d*\.(?=[A-Za-z])")
_NAMED = re.compile(r"_(\d{8})_(\d{6}|\d{4})(?=_|$)")  # _YYYYMMDD_HHMM[SS]
_XML = re.compile(r"(_xml\b|\.xml(\.zip)?$|_xml\.zip$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ErcotDocument:
    """One listed document, from either transport, with its times as local wall times."""

    doc_id: str
    friendly_name: str
    constructed_name: str = ""
    posted_local: datetime | None = None  # naive local wall time of posting
    name_local: datetime | None = None  # naive local wall time in the friendly name
    repeated: bool = False  # "xhr": the second pass of the fall-back hour
    retry: bool = False
    source: str = "mis"  # "mis" or "api"
    url: str = ""

    @property
    def is_xml(self) -> bool:
        return bool(_XML.search(self.friendly_name) or _XML.search(self.constructed_name))

    @property
    def stem(self) -> str:
        """The report's name without retry/xhr markers and times: groups re-publications."""
        text = self.friendly_name.replace("_retry", "")
        text = re.sub(r"_?xhr", "", text, flags=re.IGNORECASE)
        return _NAMED.sub("", text)

    @property
    def posted_utc(self) -> datetime | None:
        return None if self.posted_local is None else to_utc(self.posted_local, self.repeated)

    @property
    def name_utc(self) -> datetime | None:
        return None if self.name_local is None else to_utc(self.name_local, self.repeated)

    def meta(self, emil: str) -> dict[str, Any]:
        """What parsers need about the document, carried in `RawResponse.meta`."""
        return {
            "emil": emil,
            "doc_id": self.doc_id,
            "friendly_name": self.friendly_name,
            "constructed_name": self.constructed_name,
            "posted_local": self.posted_local.isoformat() if self.posted_local else None,
            "posted_utc": self.posted_utc.isoformat() if self.posted_utc else None,
            "name_utc": self.name_utc.isoformat() if self.name_utc else None,
            "repeated": self.repeated,
            "retry": self.retry,
            "source": self.source,
        }


def to_utc(local: datetime, repeated: bool = False) -> datetime:
    """A naive ERCOT wall time as UTC; `repeated` picks the second pass of the fall-back
    hour. A skipped (spring-forward) wall time is read with the pre-transition offset."""
    aware = local.replace(tzinfo=TZ, fold=1 if repeated else 0)
    return aware.astimezone(UTC)


def to_local(instant: datetime) -> datetime:
    """A UTC instant as a naive ERCOT wall time."""
    return instant.astimezone(TZ).replace(tzinfo=None)


def _stamp(day: str, hhmm: str) -> datetime | None:
    try:
        base = datetime.strptime(day, "%Y%m%d")
    except ValueError:
        return None
    hour, minute = int(hhmm[:2]), int(hhmm[2:4])
    second = int(hhmm[4:6]) if len(hhmm) >= 6 else 0
    if hour > 24 or minute > 59 or second > 59:
        return None
    return base + timedelta(hours=hour, minutes=minute, seconds=second)  # "2400" = next day


def name_time(friendly_name: str) -> datetime | None:
    """Local wall time in a friendly name (SPPHLZNP6905_20241103_0015_csv), if any."""
    text = re.sub(r"_?xhr", "", friendly_name.replace("_retry", ""), flags=re.IGNORECASE)
    match = _NAMED.search(text)
    return _stamp(*match.groups()) if match else None


def posted_time(constructed_name: str) -> datetime | None:
    """Local posting time in a constructed name (cdr.00012301.0…0.20241103.001502.…)."""
    match = _POSTED.search(constructed_name)
    return _stamp(*match.groups()) if match else None


def make_document(
    doc_id: Any, friendly: str, constructed: str, posted: datetime | None, source: str, url: str
) -> ErcotDocument:
    both = f"{friendly} {constructed}".lower()
    return ErcotDocument(
        doc_id=str(doc_id),
        friendly_name=friendly,
        constructed_name=constructed,
        posted_local=posted,
        name_local=name_time(friendly),
        repeated="xhr" in both,
        retry="_retry" in both,
        source=source,
        url=url,
    )


def wall_time(value: Any) -> datetime | None:
    """The wall-clock part of an ISO timestamp; any offset is dropped."""
    # Only the wall-clock part: ERCOT's offset is wrong during DST (gridstatus #468).
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)[:19])
    except ValueError:
        return None
