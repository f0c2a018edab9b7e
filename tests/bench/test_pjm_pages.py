"""bench/_pjm_pages.py writes pages in the real Data Miner format: the envelope of the
recorded API pages, items keyed like the Data Miner CSV export, components summing to the LMP."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


@pytest.fixture(scope="module")
def pages_module() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        import _pjm_pages

        yield _pjm_pages
    finally:
        sys.path.remove(str(BENCH))


def test_pages_are_in_the_data_miner_format(pages_module: ModuleType, shared_data: Path) -> None:
    day = pages_module.generate(date(2025, 9, 16), nodes=30, page_rows=5_000)
    assert day.total_rows == 30 * 288 and len(day.pages) == 2
    recorded = json.loads(
        next((shared_data / "iso/pjm").glob("api_rt_marginal_value_*.json")).read_bytes()
    )
    export = next((shared_data / "iso/pjm").glob("dataminer_rt_hrl_lmps_*.csv"))
    with export.open(newline="") as f:
        header = next(csv.reader(f))
    items = []
    for i, page in enumerate(day.pages):
        envelope = json.loads(page)
        assert list(envelope) == list(recorded)
        assert list(envelope["searchSpecification"]) == list(recorded["searchSpecification"])
        assert envelope["totalRows"] == day.total_rows
        rels = [link["rel"] for link in envelope["links"]]
        assert rels == (["self", "metadata", "next"] if i == 0 else ["self", "metadata"])
        assert envelope["searchSpecification"]["startRow"] == 1 + i * 5_000
        items += envelope["items"]
    assert len(items) == day.total_rows
    assert all(list(item) == header for item in items)
    first = items[0]
    assert (first["datetime_beginning_utc"], first["datetime_beginning_ept"]) == (
        "2025-09-16T04:00:00",
        "2025-09-16T00:00:00",
    )
    assert items[-1]["datetime_beginning_ept"] == "2025-09-16T23:55:00"
    cents = lambda x: round(x * 100)  # noqa: E731
    for item in items:
        parts = ("system_energy_price_rt", "congestion_price_rt", "marginal_loss_price_rt")
        assert cents(item["total_lmp_rt"]) == sum(cents(item[k]) for k in parts)
    assert sum(cents(item["total_lmp_rt"]) for item in items) == day.lmp_cents
    assert any(item["total_lmp_rt"] < 0 for item in items)
    assert (
        b'"row_is_current":true' in day.pages[0] and b'"congestion_price_rt":0.00' in day.pages[0]
    )


def test_requested_fields_are_what_our_connector_asks_for(
    pages_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--fields requested` pages hold what `pjm.rt_fivemin_hrl_lmps` asks for a recent day,
    in order; for an archived day (the default bench day) it asks for every column."""
    from carbon254.connectors.http import RawResponse
    from carbon254.connectors.registry import get_dataset

    monkeypatch.setenv("PJM_API_KEY", "test-key")
    asked: list[dict[str, object]] = []

    class Http:
        def get(
            self, dataset: str, url: str, *, params: dict[str, object], **kw: object
        ) -> RawResponse:
            asked.append({"url": url} | params)
            body = b'{"links":[],"items":[],"searchSpecification":{},"totalRows":0}'
            now = datetime.now(UTC)
            return RawResponse(dataset, url, now, body, "application/json", 200, kw["meta"])

    dataset = get_dataset("pjm.rt_fivemin_hrl_lmps")
    day = date(2025, 9, 16)
    recent = dataset.windows(day, day, now=datetime(2025, 9, 18, tzinfo=UTC))[0]
    archived = dataset.windows(day, day, now=datetime(2026, 11, 25, tzinfo=UTC))[0]
    assert archived.archived and not recent.archived
    for window in (recent, archived):
        asked.clear()
        dataset.fetch(Http(), window)  # type: ignore[arg-type]
        assert str(asked[0]["url"]).endswith("/rt_fivemin_hrl_lmps")
        fields = asked[0].get("fields")
        wanted = pages_module.REQUESTED if window is recent else None
        assert (fields if fields is None else tuple(str(fields).split(","))) == wanted
    pages = pages_module.generate(day, nodes=3, fields=pages_module.REQUESTED).pages
    assert list(json.loads(pages[0])["items"][0]) == list(pages_module.REQUESTED)
