"""Past PJM RPM Base Residual Auction (BRA) clearing prices we maintain by hand.

PJM publishes BRA results as auction reports (PDF/XLSX on pjm.com), not as a Data
Miner feed, so `pjm.rpm_bra` serves this table when no report URL is given. Every
number here was checked against the sources named in its row (found with the
project's page search; each row says where and when), and only numbers stated in
those sources are listed: an LDA that is not named for a year is not guessed from
"the rest of the RTO". The sources are secondary (trade press, industry statements
quoting PJM's results); PJM's own report for each year is the primary source and
should replace them when read.

Prices are Resource Clearing Prices in $/MW-day of unforced capacity (UCAP) for the
delivery year June 1 - May 31. "RTO" is the price of the unconstrained rest of RTO.
"""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass, fields

__all__ = ["COLUMNS", "RESULTS", "BraResult", "results_csv"]


@dataclass(frozen=True, slots=True)
class BraResult:
    delivery_year: str  # "2025/2026": June 1 2025 .. May 31 2026
    auction: str  # "BRA"
    lda: str  # PJM's LDA name: RTO, BGE, DOM, ...
    clearing_price: float  # $/MW-day (UCAP)
    results_posted: str  # ISO date PJM posted the results, when a source states it
    source_title: str
    source_url: str
    verification: str  # how and where the number was checked


_EPSA = (
    "EPSA Statement on the PJM Interconnection 2023/2024 Base Residual Auction Results "
    "(EPSA press release, 2022-06-22)",
    "https://epsa.org/epsa-statement-on-the-pjm-interconnection-2023-2024-base-residual-auction-results/",
)
_SPGLOBAL = (
    "Advocates raise concerns about lofty PJM auction prices (S&P Global Market "
    "Intelligence, August 2024)",
    "https://spglobal.com/marketintelligence/en/news-insights/latest-news-headlines/"
    "advocates-raise-concerns-about-lofty-pjm-auction-prices-83118153",
)
_NOREVA = (
    "PJM capacity prices reveal structural grid stress (noreva.ai, July 2025)",
    "https://noreva.ai/pjm-capacity-prices-reveal-structural-grid-stress",
)
_SMCHRONICLE = (
    "PJM capacity auction signals higher electricity costs in 2026 (Southern Maryland "
    "Chronicle, 2025-12-29)",
    "https://southernmarylandchronicle.com/2025/12/29/"
    "pjm-capacity-auction-signals-higher-electricity-costs-in-2026",
)

_CHECKED = "checked 2026-11-25 (page search)"

RESULTS: tuple[BraResult, ...] = (
    BraResult(
        "2022/2023",
        "BRA",
        "RTO",
        50.00,
        "",
        *_EPSA,
        f"{_CHECKED}: EPSA gives the 2023/2024 rest-of-RTO RCP as $34.13/MW-day "
        "'compared to $50.00/MW-day a year ago' (the 2022/2023 BRA); one source only",
    ),
    BraResult(
        "2023/2024",
        "BRA",
        "RTO",
        34.13,
        "2022-06-22",
        *_EPSA,
        f"{_CHECKED}: 'Resource Clearing Prices (RCP) for the rest of RTO at "
        "$34.13/MW-day'; Ohio Manufacturers' Association rounds it to $34/MW-day",
    ),
    BraResult(
        "2024/2025",
        "BRA",
        "RTO",
        28.92,
        "",
        *_SPGLOBAL,
        f"{_CHECKED}: '$28.92/MW-day for the 2024/2025 auction'; same figure in "
        "pennbizreport.com/?p=29062 and gridbeyond.com (both quoting PJM)",
    ),
    BraResult(
        "2025/2026",
        "BRA",
        "RTO",
        269.92,
        "2024-07-30",
        *_SPGLOBAL,
        f"{_CHECKED}: '$269.92/MW-day for much of the grid operator's footprint ... "
        "according to results posted July 30'; same in energynews247.com and "
        "avalonenergy.us",
    ),
    BraResult(
        "2025/2026",
        "BRA",
        "BGE",
        466.35,
        "2024-07-30",
        *_SPGLOBAL,
        f"{_CHECKED}: '$466.35/MW-day for the ... (BGE) zone'; same in energynews247.com "
        "and paenvironmentdaily.blogspot.com",
    ),
    BraResult(
        "2025/2026",
        "BRA",
        "DOM",
        444.26,
        "2024-07-30",
        *_SPGLOBAL,
        f"{_CHECKED}: '$444.26/MW-day for the Dominion Energy Virginia (DOM) zone'; same "
        "in energynews247.com and avalonenergy.us",
    ),
    BraResult(
        "2026/2027",
        "BRA",
        "RTO",
        329.17,
        "2025-07-22",
        *_NOREVA,
        f"{_CHECKED}: cleared at the price cap of $329.17/MW-day; felpower.com: 'for all "
        "Locational Deliverability Areas', announced July 22nd, 2025; "
        "paenvironmentdaily.blogspot.com: 'for the entire PJM footprint'",
    ),
    BraResult(
        "2026/2027",
        "BRA",
        "BGE",
        329.17,
        "2025-07-22",
        *_NOREVA,
        f"{_CHECKED}: 'All zones, including previously capped ones like BGE and "
        "Dominion, cleared uniformly at $329.17'",
    ),
    BraResult(
        "2026/2027",
        "BRA",
        "DOM",
        329.17,
        "2025-07-22",
        *_NOREVA,
        f"{_CHECKED}: 'All zones, including previously capped ones like BGE and "
        "Dominion, cleared uniformly at $329.17'",
    ),
    BraResult(
        "2027/2028",
        "BRA",
        "RTO",
        333.44,
        "2025-12-17",
        *_SMCHRONICLE,
        f"{_CHECKED}: 'cleared at the FERC-approved price cap of $333.44 per "
        "megawatt-day', results announced December 17, 2025; same in "
        "camelotenergygroup.com/news/pjm-interconnection ('for the entire PJM "
        "footprint') and RTO Insider; avalonenergy.us prints $333.34 (a typo: three "
        "sources agree on $333.44)",
    ),
)

COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(BraResult))


def results_csv() -> bytes:
    """The maintained table as CSV bytes (what `pjm.rpm_bra` fetches with no report)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in RESULTS:
        values = astuple(row)
        writer.writerow([f"{v:.2f}" if isinstance(v, float) else v for v in values])
    return out.getvalue().encode()
