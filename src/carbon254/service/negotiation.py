"""Content negotiation: the response media type from `Accept`, or from `format=`."""

from __future__ import annotations

from collections.abc import Sequence

from .formats import FORMATS
from .problems import INVALID_PARAMETER, Problem

__all__ = ["FORMAT_HELP", "choose_media_type", "negotiate"]


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))
    return ranges


def _quality(offered: str, ranges: list[tuple[str, float]]) -> float:
    """q of the most specific matching range: `type/sub` beats `type/*` beats `*/*`."""
    kind = offered.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for media, q in ranges:
        if media == offered:
            rank = 2
        elif media == f"{kind}/*":
            rank = 1
        elif media == "*/*":
            rank = 0
        else:
            continue
        best = max(best, (rank, q), key=lambda pair: pair[0])
    return best[1]


def choose_media_type(accept: str | None, offered: Sequence[str]) -> str:
    """The offered type the client prefers; ties go to the first offered. 406 if none fits."""
    if not accept or not accept.strip():
        return offered[0]
    ranges = _ranges(accept)
    scored = [(_quality(media, ranges), -i, media) for i, media in enumerate(offered)]
    q, _, media = max(scored)
    if q <= 0.0:
        raise Problem(
            406,
            f"cannot produce any of {accept!r}; available: {', '.join(offered)}",
            available=list(offered),
        )
    return media


FORMAT_HELP = (
    "Response format, overriding `Accept` (for browsers and spreadsheets): `json` "
    "(default), `csv`, `arrow` (Arrow IPC stream) or `parquet`."
)


def negotiate(accept: str | None, format: str | None, offered: Sequence[str]) -> str:
    """The media type named by `format=` (422 if unknown), else the one `Accept` prefers."""
    if format is None:
        return choose_media_type(accept, offered)
    names = {name: media for name, media in FORMATS.items() if media in offered}
    media = names.get(format.strip().lower())
    if media is None:
        detail = f"format {format!r} is not one of {', '.join(names)}"
        error = {"param": "format", "in": "query", "detail": detail, "value": format}
        raise Problem(422, detail, type=INVALID_PARAMETER, errors=[error])
    return media
