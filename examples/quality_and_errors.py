"""Data quality and lineage, and the SDK's typed errors.

CARBON254_BASE_URL=http://localhost:8000 python examples/quality_and_errors.py
"""

from __future__ import annotations

import carbon254


def main() -> None:
    with carbon254.Client() as client:
        for batch in client.batches(limit=3):
            print(f"batch {batch.batch_id}: {batch.source} {batch.rows_received} rows "
                  f"sha256 {(batch.content_sha256 or '')[:12]}…")  # fmt: skip

        # Completeness of every dataset on the last day the latest batch touched.
        latest = max(
            (i.last_interval for i in client.instruments() if i.last_interval), default=None
        )
        if latest is not None:
            day = latest.date()
            quality = client.completeness(start=day, end=day)
            print(f"completeness on {day}: target {quality.report.target:.0%}, "
                  f"passed={quality.report.passed}")  # fmt: skip
            for dataset in quality.report.datasets:
                if dataset.status in ("ok", "incomplete"):
                    print(f"  {dataset.dataset}: {dataset.status} ({dataset.completeness:.1%})")
            days = quality.to_pandas()
            expected = days.loc[days["expected_rows"] > 0]
            if expected.empty:  # e.g. the demo market, or data loaded by hand
                print("  no registered dataset expected rows that day")
            else:
                print(expected[["dataset", "day", "rows", "expected_rows"]])

        # Errors carry the server's RFC 9457 problem: what was wrong, parameter by parameter.
        try:
            client.prices("PJM.DA.LMP.NO_SUCH_NODE", "2024-11-03", "2024-11-04")
        except carbon254.NotFound as error:
            print("NotFound:", error.detail, error.instruments)
        try:
            client.prices("PJM.XX.LMP.1", "2024-11-05", "2024-11-03")
        except carbon254.ValidationError as error:
            for problem in error.errors:
                print(f"ValidationError: {problem['param']}: {problem['detail']}")


if __name__ == "__main__":
    main()
