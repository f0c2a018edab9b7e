"""PJM RPM Base Residual Auction prices: the maintained table and the report parser."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from carbon254.connectors.dataset import Window
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse
from carbon254.connectors.pjm.capacity import MAINTAINED_URL, RpmBra, delivery_year
from carbon254.connectors.pjm.capacity_results import COLUMNS, RESULTS, results_csv
from carbon254.connectors.registry import get_dataset
from carbon254.core.schema import validate_prices

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pjm"
REPORT_CSV = FIXTURES / "capacity_bra_2025_2026_clearing_prices.csv"
BRA = RpmBra()
WINDOW = Window(datetime(2025, 1, 1, 5, tzinfo=UTC), datetime(2025, 1, 2, 5, tzinfo=UTC))


def raw(body: bytes, url: str = "https://www.pjm.com/report.csv", **meta) -> RawResponse:
    return RawResponse(BRA.name, url, datetime.now(UTC), body, None, meta=meta)


def prices(table: pa.Table) -> dict[tuple[str, datetime], float]:
    return {(r["instrument"], r["interval_start"]): r["value"] for r in table.to_pylist()}


def test_delivery_year_is_june_to_june_in_new_york_local_days() -> None:
    start, end = delivery_year(2025)
    assert start == datetime(2025, 6, 1, 4, tzinfo=UTC)  # midnight EDT
    assert end == datetime(2026, 6, 1, 4, tzinfo=UTC)
    assert (end - start).days == 365
    start, end = delivery_year(2027)  # ends in a leap year: 366 days
    assert (end - start).days == 366


def test_fetch_without_reports_returns_the_maintained_table_offline() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"network used: {request.url}")

    http = HttpFetcher(httpx.Client(transport=httpx.MockTransport(refuse)))
    [out] = BRA.fetch(http, WINDOW)
    assert out.url == MAINTAINED_URL and out.content == results_csv()
    table = BRA.parse([out])
    validate_prices(table)
    assert table.num_rows == len(RESULTS)
    got = prices(table)
    y25, y26, y27 = delivery_year(2025)[0], delivery_year(2026)[0], delivery_year(2027)[0]
    assert got[("PJM.DA.CAPACITY.RTO", y25)] == 269.92
    assert got[("PJM.DA.CAPACITY.BGE", y25)] == 466.35
    assert got[("PJM.DA.CAPACITY.DOM", y25)] == 444.26
    assert got[("PJM.DA.CAPACITY.RTO", y26)] == 329.17
    assert got[("PJM.DA.CAPACITY.RTO", y27)] == 333.44
    ends = {r["interval_end"] - r["interval_start"] for r in table.to_pylist()}
    assert {d.days for d in ends} <= {365, 366}
    assert table.column("energy").null_count == table.num_rows


def test_every_maintained_number_names_its_source() -> None:
    rows = list(csv.DictReader(io.StringIO(results_csv().decode())))
    assert tuple(rows[0]) == COLUMNS
    for row in rows:
        assert row["source_url"].startswith("https://"), row
        assert row["source_title"] and row["verification"].startswith("checked "), row
        assert row["auction"] == "BRA"
    keys = [(r["delivery_year"], r["lda"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_report_csv_parses_to_the_same_prices_as_the_maintained_table() -> None:
    report = BRA.parse([raw(REPORT_CSV.read_bytes())])
    assert report.num_rows == 3
    maintained = prices(BRA.parse([raw(results_csv(), MAINTAINED_URL, source="maintained")]))
    for key, value in prices(report).items():
        assert maintained[key] == value
    # Both together: identical rows are one row.
    both = BRA.parse([raw(results_csv(), MAINTAINED_URL), raw(REPORT_CSV.read_bytes())])
    assert both.num_rows == len(RESULTS)


def _xlsx(grid: list[list]) -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.title = "Summary"
    book.active.append(["see the next sheet"])
    sheet = book.create_sheet("Clearing Prices")
    for row in grid:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_report_xlsx_parses_like_the_csv() -> None:
    grid = [list(r) for r in csv.reader(io.StringIO(REPORT_CSV.read_text()))]
    cells = [
        [float(c.strip("$")) if c.startswith("$") else (c or None) for c in row] for row in grid
    ]
    body = _xlsx(cells)
    assert body.startswith(b"PK")
    table = BRA.parse([raw(body, "https://www.pjm.com/report.xlsx")])
    assert prices(table) == prices(BRA.parse([raw(REPORT_CSV.read_bytes())]))


def test_fetch_with_a_report_url_downloads_it() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200, content=REPORT_CSV.read_bytes(), headers={"content-type": "text/csv"}
        )

    http = HttpFetcher(httpx.Client(transport=httpx.MockTransport(handler)))
    url = "https://www.pjm.com/-/media/markets-ops/rpm/2025-2026-bra-results.csv"
    raws = RpmBra(report_urls=[url]).fetch(http, WINDOW)
    assert seen == [url]
    assert BRA.parse(raws).num_rows == 3


def _report(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


GOOD_HEAD = (
    "2025/2026 RPM Base Residual Auction Results\n\n"
    "LDA,Parent LDA,Resource Clearing Price ($/MW-day)\n"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><title>Not found</title></html>", "HTML"),
        (b"", "empty"),
        (b"PK\x03\x04 truncated", "XLSX"),
        (_report("no table here\n"), "header row 'LDA'"),
        (_report("LDA,Resource Clearing Price\nRTO,1\n"), "one delivery year"),
        (_report("2025/2027 BRA\nLDA,Resource Clearing Price\nRTO,1\n"), "YYYY/YYYY"),
        (_report(GOOD_HEAD.replace(",Parent LDA", ",Zone Count") + "RTO,,1\n"), "unknown"),
        (_report("2025/2026 BRA\nLDA,Price\nRTO,1\n"), "Clearing Price"),
        (_report(GOOD_HEAD + "RTO,,n/a\n"), "not a number"),
        (_report(GOOD_HEAD + "\n"), "no LDA rows"),
        (_report(GOOD_HEAD + "RTO,,1\nRTO,,2\n"), "two prices"),
        (_report(GOOD_HEAD + "???,,1\n"), "cannot name an instrument"),
    ],
)
def test_bad_reports_raise_payload_error(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message) as info:
        BRA.parse([raw(body)])
    assert info.value.dataset == "pjm.rpm_bra"


def test_bad_maintained_table_raises() -> None:
    rows = list(csv.reader(results_csv().decode().splitlines()))
    rows[1][COLUMNS.index("source_url")] = ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    with pytest.raises(PayloadError, match="without a source_url"):
        BRA.parse([raw(out.getvalue().encode(), MAINTAINED_URL, source="maintained")])
    renamed = results_csv().replace(b"verification", b"checked_by")
    with pytest.raises(PayloadError, match=r"missing column.*verification"):
        BRA.parse([raw(renamed, MAINTAINED_URL)])
    extra = results_csv().replace(b"verification\n", b"verification,note\n", 1)
    with pytest.raises(PayloadError):
        BRA.parse([raw(extra, MAINTAINED_URL)])


def test_registered() -> None:
    ds = get_dataset("pjm.rpm_bra")
    assert ds.transport.value == "report" and ds.time_rule.value == "period"
    assert ds.report_urls == ()
