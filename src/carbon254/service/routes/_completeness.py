"""The completeness report as one table: a row per (dataset, local market day).

`ingest.quality.quality_report` does the counting (DST-aware expected intervals, expected
instruments from the location directory, gaps); this module flattens it for the API and
adds what the report keeps per period only: component violations per day, gap ranges
touching each day, and whether a succeeded job run has covered the day yet.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from ...connectors.dataset import Dataset
from ...core import Iso, Market, Product, market_day
from ...ingest.jobs import ADHOC_JOB, job_for_dataset
from ...ingest.quality import DatasetQuality, QualityReport, expected_intervals
from ...store import PriceStore
from ..formats import iso_z

__all__ = ["COMPLETENESS_SCHEMA", "MAX_GAPS_LISTED", "completeness_meta", "completeness_table"]

MAX_GAPS_LISTED = 1000  # gap ranges listed per dataset in the JSON body

COMPLETENESS_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("iso", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("expected_intervals", pa.int64(), nullable=False),
        pa.field("instruments", pa.int64(), nullable=False),
        pa.field("expected_rows", pa.int64(), nullable=False),
        pa.field("rows", pa.int64(), nullable=False),
        pa.field("missing_rows", pa.int64(), nullable=False),
        pa.field("completeness", pa.float64()),
        pa.field("missing_instruments", pa.list_(pa.string()), nullable=False),
        pa.field("gaps", pa.int64(), nullable=False),
        pa.field("iso_component_violations", pa.int64()),
        pa.field("provisional", pa.bool_()),
    ]
)


def completeness_table(
    store: PriceStore, report: QualityReport, datasets: Sequence[Dataset]
) -> pa.Table:
    """One row per price dataset and local market day of `report` (`COMPLETENESS_SCHEMA`)."""
    by_name = {d.name: d for d in datasets}
    violations = _daily_violations(store, report)
    columns: dict[str, list[Any]] = {name: [] for name in COMPLETENESS_SCHEMA.names}
    for quality in report.datasets:
        if not quality.days:
            continue  # not a per-interval price series ('n/a')
        dataset = by_name[quality.dataset]
        iso = Iso(quality.iso)
        bounds = [market_day(iso, d.day) for d in quality.days]
        provisional = _provisional(store, dataset, bounds, quality)
        gaps = _gaps_per_day(quality, bounds)
        lmp = any(Product(p) is Product.LMP for _, p in dataset.produces)
        for i, day in enumerate(quality.days):
            columns["dataset"].append(quality.dataset)
            columns["iso"].append(quality.iso)
            columns["day"].append(day.day)
            columns["expected_intervals"].append(
                day.expected_intervals or _clock_intervals(dataset, iso, day.day)
            )
            columns["instruments"].append(day.locations)
            columns["expected_rows"].append(day.expected_rows)
            columns["rows"].append(day.rows)
            columns["missing_rows"].append(day.expected_rows - day.rows)
            columns["completeness"].append(day.completeness)
            columns["missing_instruments"].append(list(day.missing_locations))
            columns["gaps"].append(gaps[i])
            columns["iso_component_violations"].append(
                violations[quality.iso].get(day.day, 0) if lmp else None
            )
            columns["provisional"].append(provisional[i])
    return pa.table(columns, schema=COMPLETENESS_SCHEMA)


def _clock_intervals(dataset: Dataset, iso: Iso, day: date) -> int:
    """Intervals of the dataset's finest series on the market clock that day (23/24/25
    hours…), for a day with no instrument to count them on."""
    markets = [Market(m) for m, p in dataset.produces_on(day) if not Product(p).is_period_priced]
    return max((expected_intervals(iso, m, day) for m in markets), default=0)


def completeness_meta(report: QualityReport) -> dict[str, Any]:
    """The period-wide part of the report: per dataset status, totals and gap ranges."""
    return {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "target": report.target,
        "passed": report.passed,
        "generated_at": iso_z(report.generated_at),
        "component_violations": report.component_violations,
        "datasets": [_dataset_meta(q) for q in report.datasets],
    }


def _dataset_meta(quality: DatasetQuality) -> dict[str, Any]:
    listed = quality.gaps[:MAX_GAPS_LISTED]
    return {
        "dataset": quality.dataset,
        "iso": quality.iso,
        "series": quality.series,
        "status": quality.status,
        "rows": quality.rows,
        "expected_rows": quality.expected_rows,
        "completeness": quality.completeness,
        "gaps": [
            {
                "instrument": g.instrument,
                "start": iso_z(g.start),
                "end": iso_z(g.end),
                "intervals": g.intervals,
            }
            for g in listed
        ],
        "gaps_not_listed": quality.gaps_not_listed + len(quality.gaps) - len(listed),
        "note": quality.note,
    }


def _daily_violations(store: PriceStore, report: QualityReport) -> dict[str, dict[date, int]]:
    """LMP rows breaking value = energy + congestion + loss, per ISO and local day.

    The report counted them over the whole period; only an ISO with some is counted again
    day by day (the invariant is checked on every write, so that is the rare case)."""
    out: dict[str, dict[date, int]] = {}
    days = [report.start + timedelta(days=i) for i in range((report.end - report.start).days + 1)]
    for iso_name, total in report.component_violations.items():
        out[iso_name] = {}
        if not total:
            continue
        iso = Iso(iso_name)
        for day in days:
            lo, hi = market_day(iso, day)
            out[iso_name][day] = store.component_violations(iso, lo, hi)
    return out


def _provisional(
    store: PriceStore,
    dataset: Dataset,
    bounds: list[tuple[datetime, datetime]],
    quality: DatasetQuality,
) -> list[bool | None]:
    """Per day: True until a succeeded run of the dataset's job covers the whole day (the
    day may still be filled in or restated), False once one has; None for every day when
    no succeeded run of the dataset touches the period (data stored outside the jobs)."""
    owner = job_for_dataset(dataset.name)
    job = owner.name if owner is not None else ADHOC_JOB
    spans = store.succeeded_windows(job, bounds[0][0], bounds[-1][1], dataset=dataset.name)
    if not spans:
        return [None] * len(bounds)
    merged: list[list[datetime]] = []
    for lo, hi in spans:  # sorted by start
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [not any(lo <= s and e <= hi for lo, hi in merged) for s, e in bounds]


def _gaps_per_day(quality: DatasetQuality, bounds: list[tuple[datetime, datetime]]) -> list[int]:
    """How many gap ranges touch each day (a gap merged across days counts on each)."""
    counts = [0] * len(bounds)
    ends = [e for _, e in bounds]
    for gap in quality.gaps:
        i = bisect_right(ends, gap.start)  # first day ending after the gap starts
        while i < len(bounds) and bounds[i][0] < gap.end:
            counts[i] += 1
            i += 1
    return counts
