"""PJM capacity: RPM Base Residual Auction clearing prices by LDA and delivery year.

`pjm.rpm_bra` writes `PJM.DA.CAPACITY.<LDA>` in $/MW-day, one row per LDA and delivery
year; the interval is the delivery year, June 1 to June 1, in New York local days
turned into UTC (04:00Z both ends). PJM has no Data Miner feed for these, so:

- with no report URLs the dataset "fetches" the table we maintain in
  `capacity_results` (no network; every number carries its source);
- with `report_urls`, it downloads the "Resource Clearing Prices" table of an auction
  report and parses it. The form we read is a table export, CSV or XLSX: title rows
  naming the delivery year ("2025/2026 RPM Base Residual Auction Results"), then a
  header row whose first cell is `LDA`, one price column whose header says
  "Clearing Price" (optionally `Parent LDA`), and one row per LDA until a blank row.
  XLSX needs openpyxl, imported only when an XLSX report is read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ...core.instrument import InvalidInstrumentId, check_location
from ...core.intervals import market_day
from ...core.markets import Iso, Market, Product
from ...core.schema import UTC_TS, SchemaError, validate_prices
from ..dataset import Chunking, Components, Dataset, RevisionPolicy, TimeRule, Transport, Window
from ..errors import PayloadError
from ..http import HttpFetcher, RawResponse
from ..payload import check_payload, read_csv
from ..ratelimit import RateBudget
from ..registry import register
from .capacity_results import COLUMNS, results_csv

__all__ = ["MAINTAINED_URL", "RpmBra", "delivery_year", "read_report_grid"]

MAINTAINED_URL = "carbon254:connectors/pjm/capacity_results"
_YEAR = re.compile(r"\b(20\d\d)\s*/\s*(20\d\d)\b")
_PRICE_HEADER = re.compile(r"clearing\s+price", re.IGNORECASE)
_OPTIONAL_HEADERS = {"parent lda"}
_ZIP_MAGIC = b"PK\x03\x04"


def delivery_year(first_year: int) -> tuple[datetime, datetime]:
    """UTC bounds of the delivery year June 1 `first_year` .. June 1 `first_year + 1`."""
    start = market_day(Iso.PJM, date(first_year, 6, 1))[0]
    end = market_day(Iso.PJM, date(first_year + 1, 6, 1))[0]
    return start, end


@register
class RpmBra(Dataset):
    name = "pjm.rpm_bra"
    iso = Iso.PJM
    description = (
        "PJM RPM Base Residual Auction resource clearing prices ($/MW-day, UCAP) by LDA "
        "for each delivery year (June 1 - May 31)"
    )
    transport = Transport.REPORT
    time_rule = TimeRule.PERIOD
    components = Components.NONE
    revisions = RevisionPolicy.LATEST_WINS  # a maintained row can be corrected
    # The whole table answers any window: one request covers a decade of days.
    chunking = Chunking(max_days=3660)
    budget = RateBudget(1.0, 2.0)  # pjm.com report downloads, politely
    raw_columns = COLUMNS
    produces = ((Market.DA, Product.CAPACITY),)

    def __init__(self, report_urls: Sequence[str] = ()) -> None:
        self.report_urls = tuple(report_urls)

    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        """The maintained table (no network), or each report in `report_urls`."""
        if not self.report_urls:
            return [
                RawResponse(
                    dataset=self.name,
                    url=MAINTAINED_URL,
                    fetched_at=datetime.now(UTC),
                    content=results_csv(),
                    content_type="text/csv",
                    meta={"source": "maintained"},
                )
            ]
        return [
            http.get(self.name, url, budget=self.budget, meta={"source": "report"})
            for url in self.report_urls
        ]

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        years: list[int] = []
        ldas: list[str] = []
        prices: list[float] = []
        for raw in raws:
            if _is_maintained(raw):
                rows = _maintained_rows(raw, check_payload(raw))
            else:
                rows = _report_rows(raw.dataset, read_report_grid(raw), raw.url)
            for year, lda, price in rows:
                years.append(year)
                ldas.append(lda)
                prices.append(price)
        return self._table(years, ldas, prices)

    def _table(self, years: list[int], ldas: list[str], prices: list[float]) -> pa.Table:
        seen: dict[tuple[int, str], float] = {}
        keep = []
        for i, key in enumerate(zip(years, ldas, strict=True)):
            if key in seen:
                if seen[key] != prices[i]:
                    raise PayloadError(
                        self.name,
                        f"{key[0]}/{key[0] + 1} {key[1]}: two prices, {seen[key]} and {prices[i]}",
                    )
                continue
            seen[key] = prices[i]
            keep.append(i)
        bounds = {y: delivery_year(y) for y in set(years)}
        table = pa.table(
            {
                "instrument": pa.array([f"PJM.DA.CAPACITY.{ldas[i]}" for i in keep], pa.string()),
                "interval_start": pa.array([bounds[years[i]][0] for i in keep], UTC_TS),
                "interval_end": pa.array([bounds[years[i]][1] for i in keep], UTC_TS),
                "value": pa.array([prices[i] for i in keep], pa.float64()),
            }
        )
        table = table.sort_by([("interval_start", "ascending"), ("instrument", "ascending")])
        try:
            return validate_prices(table)
        except SchemaError as exc:
            raise PayloadError(self.name, str(exc)) from None


# ---------------------------------------------------------------------- maintained table


def _is_maintained(raw: RawResponse) -> bool:
    if (raw.meta or {}).get("source") == "maintained":
        return True
    return raw.content.lstrip().startswith(f"{COLUMNS[0]},".encode())


def _maintained_rows(raw: RawResponse, body: bytes) -> list[tuple[int, str, float]]:
    table = read_csv(
        raw.dataset,
        body,
        COLUMNS,
        where=raw.url,
        strings=[c for c in COLUMNS if c != "clearing_price"],
    )
    if table.column("clearing_price").type != pa.float64():
        raise PayloadError(raw.dataset, f"clearing_price in {raw.url} is not numeric")
    missing = pc.sum(pc.equal(pc.utf8_trim_whitespace(table.column("source_url")), "")).as_py()
    if missing:
        raise PayloadError(raw.dataset, f"{missing} maintained row(s) without a source_url")
    years = [_year(raw.dataset, y, raw.url) for y in table.column("delivery_year").to_pylist()]
    ldas = [_lda(raw.dataset, v) for v in table.column("lda").to_pylist()]
    return list(zip(years, ldas, table.column("clearing_price").to_pylist(), strict=True))


# ------------------------------------------------------------------------- auction report


def read_report_grid(raw: RawResponse) -> list[list[Any]]:
    """The cells of a report (CSV, or the first XLSX sheet with an `LDA` header)."""
    body = raw.content
    if body.startswith(_ZIP_MAGIC):
        return _xlsx_grid(raw)
    body = check_payload(raw)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode("cp1252")
    return [list(row) for row in csv.reader(io.StringIO(text))]


def _xlsx_grid(raw: RawResponse) -> list[list[Any]]:
    try:
        import openpyxl  # optional: only XLSX reports need it
    except ImportError:
        raise PayloadError(
            raw.dataset, f"{raw.url} is an XLSX report; reading it needs openpyxl installed"
        ) from None
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw.content), read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise many types for a damaged file
        raise PayloadError(raw.dataset, f"unreadable XLSX report {raw.url}: {exc}") from None
    try:
        for sheet in book.worksheets:
            grid = [list(row) for row in sheet.iter_rows(values_only=True)]
            if _header_index(grid) is not None:
                return grid
    finally:
        book.close()
    raise PayloadError(raw.dataset, f"no sheet of {raw.url} has a table headed 'LDA'")


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _header_index(grid: list[list[Any]]) -> int | None:
    for i, row in enumerate(grid):
        if row and _cell(row[0]).lower() == "lda":
            return i
    return None


def _report_rows(dataset: str, grid: list[list[Any]], where: str) -> list[tuple[int, str, float]]:
    head = _header_index(grid)
    if head is None:
        raise PayloadError(dataset, f"no clearing-price table (a header row 'LDA') in {where}")
    years = {m.groups() for row in grid[:head] for c in row for m in _YEAR.finditer(_cell(c))}
    if len(years) != 1:
        raise PayloadError(
            dataset, f"the title rows of {where} must name one delivery year, found {years or 0}"
        )
    year = _year(dataset, "/".join(years.pop()), where)
    header = [_cell(c) for c in grid[head]]
    while header and not header[-1]:
        header.pop()
    price_cols = [i for i, h in enumerate(header) if _PRICE_HEADER.search(h)]
    unknown = [
        h
        for i, h in enumerate(header[1:], 1)
        if i not in price_cols and h.lower() not in _OPTIONAL_HEADERS
    ]
    if len(price_cols) != 1 or unknown:
        raise PayloadError(
            dataset,
            f"clearing-price table in {where} must have one 'Clearing Price' column and no "
            f"unknown column; header is {header}",
        )
    col = price_cols[0]
    rows = []
    for row in grid[head + 1 :]:
        cells = [_cell(c) for c in row]
        if not any(cells):
            break
        lda = _lda(dataset, cells[0])
        price = _price(dataset, row[col] if col < len(row) else None, lda, where)
        rows.append((year, lda, price))
    if not rows:
        raise PayloadError(dataset, f"clearing-price table in {where} has no LDA rows")
    return rows


def _price(dataset: str, value: Any, lda: str, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = _cell(value).replace("$", "").replace(",", "")
    try:
        return float(text)
    except ValueError:
        raise PayloadError(dataset, f"{lda} in {where}: price {value!r} is not a number") from None


def _year(dataset: str, text: str, where: str) -> int:
    match = _YEAR.fullmatch(_cell(text))
    if match is None or int(match[2]) != int(match[1]) + 1:
        raise PayloadError(dataset, f"delivery year {text!r} in {where} is not 'YYYY/YYYY+1'")
    return int(match[1])


def _lda(dataset: str, text: str) -> str:
    """PJM's LDA name as an instrument location: upper case, spaces as '_'."""
    name = re.sub(r"[^A-Z0-9_-]+", "_", _cell(text).upper()).strip("_")
    try:
        return check_location(name)
    except InvalidInstrumentId as exc:
        raise PayloadError(dataset, f"LDA {text!r} cannot name an instrument: {exc}") from None
