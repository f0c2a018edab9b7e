"""Quality: DST-aware completeness per local day, missing nodes and gaps, retired nodes
excused by the directory, duplicate keys before storing, the components invariant."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

from carbon254.core import Iso, Market, market_day
from carbon254.ingest.quality import (
    DuplicateKeys,
    duplicate_keys,
    expected_intervals,
    quality_report,
    raise_on_duplicates,
)
from carbon254.ingest.runner import ingest_windows
from carbon254.store import PriceStore

from .fakes import (
    NODES,
    FakeConstraints,
    FakeNoTable,
    FakePrices,
    FakeRtPrices,
    Upstream,
    day_payload,
)

START, END = date(2025, 10, 31), date(2025, 11, 2)  # ends on the fall-back day
DAYS = [START + timedelta(days=i) for i in range(3)]


@pytest.mark.parametrize(
    ("iso", "market", "day", "count"),
    [
        (Iso.PJM, Market.DA, date(2026, 3, 8), 23),
        (Iso.PJM, Market.DA, date(2026, 3, 9), 24),
        (Iso.PJM, Market.RTH, date(2025, 11, 2), 25),
        (Iso.PJM, Market.RT5, date(2026, 3, 8), 276),
        (Iso.PJM, Market.RT5, date(2025, 6, 1), 288),
        (Iso.PJM, Market.RT5, date(2025, 11, 2), 300),
        (Iso.ERCOT, Market.RT15, date(2026, 3, 8), 92),
        (Iso.ERCOT, Market.RT15, date(2025, 6, 1), 96),
        (Iso.ERCOT, Market.RT15, date(2025, 11, 2), 100),
        (Iso.MISO, Market.DA, date(2025, 11, 2), 24),
    ],
)
def test_expected_intervals_follow_the_market_clock(iso, market, day, count) -> None:
    assert expected_intervals(iso, market, day) == count


def load(store: PriceStore, upstream: Upstream, dataset, days) -> None:
    windows = [w for d in days for w in dataset.windows(d, d)]
    results = ingest_windows(dataset, windows, store=store, http=upstream.fetcher(), job="t")
    assert all(r.status == "succeeded" for r in results), results


def test_a_complete_period_with_a_dst_day_passes(store: PriceStore, upstream: Upstream) -> None:
    for day in DAYS:
        upstream.put("test.da_prices", day, day_payload(Iso.PJM, day))
    load(store, upstream, FakePrices(), DAYS)
    report = quality_report(store, [FakePrices()], START, END)
    [quality] = report.datasets
    assert quality.status == "ok" and quality.completeness == 1.0 and report.passed
    assert [(d.day, d.expected_intervals, d.locations, d.rows) for d in quality.days] == [
        (date(2025, 10, 31), 24, 3, 72),
        (date(2025, 11, 1), 24, 3, 72),
        (date(2025, 11, 2), 25, 3, 75),
    ]
    assert quality.gaps == [] and report.component_violations == {"PJM": 0}
    json.dumps(report.to_dict())  # plain data, ready for the API


def test_a_node_missing_for_a_day_and_a_gap_show_up(store: PriceStore, upstream: Upstream):
    upstream.put("test.da_prices", DAYS[0], day_payload(Iso.PJM, DAYS[0]))
    upstream.put("test.da_prices", DAYS[1], day_payload(Iso.PJM, DAYS[1], NODES[:2]))
    # Fall-back day: node 51289 misses the two 01:00 EST/EDT hours (index 1 and 2).
    upstream.put("test.da_prices", DAYS[2],
                 day_payload(Iso.PJM, DAYS[2], drop=[("51289", 1), ("51289", 2)]))  # fmt: skip
    load(store, upstream, FakePrices(), DAYS)
    report = quality_report(store, [FakePrices()], START, END)
    [quality] = report.datasets
    assert quality.status == "incomplete" and not report.passed
    assert quality.rows == 72 + 48 + 73 and quality.expected_rows == 72 * 2 + 75
    day2 = quality.days[1]
    assert day2.missing_locations == ["PJM.DA.LMP.51290"] and day2.completeness == 2 / 3
    gaps = [(g.instrument, g.start, g.end, g.intervals) for g in quality.gaps]
    one_am = market_day(Iso.PJM, DAYS[2])[0] + timedelta(hours=1)
    assert gaps == [
        ("PJM.DA.LMP.51289", one_am, one_am + timedelta(hours=2), 2),
        ("PJM.DA.LMP.51290", *market_day(Iso.PJM, DAYS[1]), 24),
    ]
    assert report.to_dict()["datasets"][0]["gaps"][0]["start"] == one_am.isoformat()


def test_whole_missing_days_merge_into_one_gap(store: PriceStore, upstream: Upstream) -> None:
    upstream.put("test.da_prices", DAYS[0], day_payload(Iso.PJM, DAYS[0]))
    for day in DAYS[1:]:
        upstream.put("test.da_prices", day, day_payload(Iso.PJM, day, NODES[:1]))
    load(store, upstream, FakePrices(), DAYS)
    [quality] = quality_report(store, [FakePrices()], START, END).datasets
    spans = {(g.instrument, g.start, g.end, g.intervals) for g in quality.gaps}
    lo, hi = market_day(Iso.PJM, DAYS[1])[0], market_day(Iso.PJM, DAYS[2])[1]
    assert spans == {(f"PJM.DA.LMP.{n}", lo, hi, 49) for n in NODES[1:]}


def test_a_retired_node_is_not_missing(store: PriceStore, upstream: Upstream) -> None:
    upstream.put("test.da_prices", DAYS[0], day_payload(Iso.PJM, DAYS[0]))
    for day in DAYS[1:]:
        upstream.put("test.da_prices", day, day_payload(Iso.PJM, day, NODES[:2]))
    load(store, upstream, FakePrices(), DAYS)
    store.upsert_locations(
        pa.table(
            {
                "iso": ["PJM"] * 3,
                "location": list(NODES),
                "name": ["A", "B", "C"],
                "location_type": ["NODE"] * 3,
                "zone": [None] * 3,
                "effective_date": pa.array([date(2020, 1, 1)] * 3, pa.date32()),
                "termination_date": pa.array([None, None, DAYS[1]], pa.date32()),
            }
        )
    )
    report = quality_report(store, [FakePrices()], START, END)
    assert report.datasets[0].completeness == 1.0 and report.passed


def test_five_minute_fall_back_day_expects_300_intervals(store: PriceStore, upstream: Upstream):
    day = DAYS[2]
    payload = day_payload(Iso.PJM, day, NODES[:1], step=timedelta(minutes=5), drop=[("51288", 7)])
    upstream.put("test.rt_prices", day, payload)
    load(store, upstream, FakeRtPrices(), [day])
    [quality] = quality_report(store, [FakeRtPrices()], day, day).datasets
    assert (quality.rows, quality.expected_rows) == (299, 300)
    [gap] = quality.gaps
    seven = market_day(Iso.PJM, day)[0] + timedelta(minutes=35)
    assert (gap.start, gap.end, gap.intervals) == (seven, seven + timedelta(minutes=5), 1)


def test_no_data_passes_unless_asked_for_by_name(store: PriceStore) -> None:
    datasets = [FakePrices(), FakeConstraints(), FakeNoTable()]
    report = quality_report(store, datasets, START, END)
    assert [d.status for d in report.datasets] == ["no data", "n/a", "n/a"]
    assert report.passed
    assert not quality_report(store, [FakePrices()], START, END, required=True).passed


def test_component_violations_fail_the_report(store: PriceStore) -> None:
    class Violating:
        """The store as it would answer if bad LMP rows had slipped in."""

        def __getattr__(self, name):
            return getattr(store, name)

        def component_violations(self, iso, start, end, tolerance=0.01):
            assert (start, end) == (market_day(Iso.PJM, START)[0], market_day(Iso.PJM, END)[1])
            return 3

    report = quality_report(Violating(), [FakePrices()], START, END)  # type: ignore[arg-type]
    assert report.component_violations == {"PJM": 3} and not report.passed


def test_bad_arguments_are_refused(store: PriceStore) -> None:
    with pytest.raises(ValueError, match="before start day"):
        quality_report(store, [FakePrices()], END, START)
    with pytest.raises(ValueError, match="target"):
        quality_report(store, [FakePrices()], START, END, target=99.9)


@pytest.mark.parametrize("path", ["dense", "packed sort", "column sort"])
def test_duplicate_keys_are_counted_and_named(path: str, monkeypatch: pytest.MonkeyPatch):
    from carbon254.ingest import quality

    if path != "dense":
        monkeypatch.setattr(quality, "_DENSE_LIMIT", 0)
    if path == "column sort":
        monkeypatch.setattr(quality, "_PACK_LIMIT", 2)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "instrument": ["A", "A", "B", "A", "B"],
            "interval_start": [at, at, at, at + timedelta(hours=1), at],
        }
    )
    assert duplicate_keys(table.slice(2, 2), ("instrument", "interval_start")).num_rows == 0
    dups = duplicate_keys(table, ("instrument", "interval_start")).sort_by("instrument")
    assert dups.to_pylist() == [
        {"instrument": "A", "interval_start": at, "count": 2},
        {"instrument": "B", "interval_start": at, "count": 2},
    ]
    with pytest.raises(DuplicateKeys, match=r"x: 2 duplicate key\(s\)"):
        raise_on_duplicates("x", table, ("instrument", "interval_start"))
    raise_on_duplicates("x", table.slice(2, 2), ("instrument", "interval_start"))
    assert duplicate_keys(table.slice(0, 0), ("instrument",)).num_rows == 0


def test_products_that_change_on_a_date_are_expected_only_on_their_days(store) -> None:
    """ERCOT ORDC adders: RTORPA/RTORDPA until RTC+B go-live (2025-12-05), the RTRDPA
    family from then on. A period spanning the switch is complete, not half missing."""
    import pyarrow as pa

    from carbon254.connectors.ercot.ordc import LEGACY, RTCB, RTCB_GO_LIVE
    from carbon254.connectors.registry import get_dataset
    from carbon254.core import market_day
    from carbon254.core.markets import Iso
    from carbon254.core.schema import UTC_TS
    from carbon254.ingest.quality import quality_report

    before = RTCB_GO_LIVE - timedelta(days=1)
    rows: dict[str, list] = {"instrument": [], "interval_start": [], "interval_end": [],
                             "value": []}  # fmt: skip
    for day, schema in ((before, LEGACY), (RTCB_GO_LIVE, RTCB)):
        start, end = market_day(Iso.ERCOT, day)
        n = int((end - start) / timedelta(minutes=5))
        for product in schema.products:
            for i in range(n):
                t = start + i * timedelta(minutes=5)
                rows["instrument"].append(f"ERCOT.RT5.{product.value}.SYSTEM")
                rows["interval_start"].append(t)
                rows["interval_end"].append(t + timedelta(minutes=5))
                rows["value"].append(0.0)
    table = pa.table(rows).cast(
        pa.schema(
            [
                ("instrument", pa.string()),
                ("interval_start", UTC_TS),
                ("interval_end", UTC_TS),
                ("value", pa.float64()),
            ]
        )
    )
    store.upsert_prices(table, source="test")
    report = quality_report(store, [get_dataset("ercot.np6-323-cd")], before, RTCB_GO_LIVE)
    [quality] = report.datasets
    assert quality.completeness == 1.0 and report.passed
    assert [d.locations for d in quality.days] == [len(LEGACY.products), len(RTCB.products)]
