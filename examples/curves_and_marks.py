"""Forward curves: the catalogue, a hub's monthly on/off-peak curve, and your own marks.

    CARBON254_BASE_URL=http://localhost:8000 python examples/curves_and_marks.py

Uploading marks needs the `trade` scope (any request works when the server runs with
auth off, as `make run` does).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

import carbon254


def main() -> None:
    with carbon254.Client() as client:
        # Hubs with the longest history first; a hub without enough recent prices has
        # no curve, and the server says why (a 422 with a `reason` code).
        hubs = sorted(
            (c for c in client.curves() if c.hub and c.first_interval and c.last_interval),
            key=lambda c: c.last_interval - c.first_interval,  # type: ignore[operator]
            reverse=True,
        )
        for info in hubs:
            try:
                curve = client.curve(info.instrument, months=6)
                break
            except carbon254.ValidationError as error:
                print(f"{info.instrument}: no curve ({error.problem.get('reason')})")
        else:
            print("no hub with a forward curve on this server")
            return
        hub = info.instrument
        print(f"{hub}: {curve.method} curve")
        print(curve.to_pandas(wide=True).round(2))

        # Marks for the first two months of the curve, versioned like prices.
        months = sorted(set(curve.to_pandas()["month"]))[:2]
        marks = pd.DataFrame({"month": months, "peak": ["on", "on"], "price": [61.25, 58.5]})
        upload = client.upload_marks(hub, marks, source="examples/curves_and_marks.py")
        print(f"marks version {upload.version}: {upload.rows_received} received, "
              f"changed={upload.changed}")  # fmt: skip
        held = client.marks(hub, as_of=datetime.now(UTC))
        print(held.to_pandas()[["month", "peak", "price", "version"]])
        marked = client.curve(hub, months=6).to_pandas(wide=True)
        print("curve with the marks laid over:")
        print(marked.round(2))


if __name__ == "__main__":
    main()
