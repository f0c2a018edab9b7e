"""Client-side decode of a price response to pandas: JSON against Arrow IPC.

What a Python client does with each body to get a DataFrame with UTC timestamps:

- **Arrow**: read the IPC stream, `to_pandas(split_blocks=True)` (timestamps are UTC
  already). Both Arrow-to-pandas conversions skip pandas' block consolidation, as
  `carbon254.client` frames do.
- **JSON, vectorized** (the figure the ratio uses): orjson, each column to Arrow, the
  ISO-8601 strings cast to UTC timestamps by Arrow, `to_pandas(split_blocks=True)`: the way
  `carbon254.client` decodes JSON, and the cheapest JSON decode we know of.
- **JSON, pandas**: orjson, `pd.DataFrame(columns)`, `pd.to_datetime(..., utc=True,
  format="ISO8601")`: what a hand-written client typically does; printed for reference.

The three frames are checked equal before anything is timed.
"""

from __future__ import annotations

import statistics
import time

import httpx
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

__all__ = ["ARROW", "JSON", "decode_arrow", "decode_json", "decode_json_pandas", "decode_speedup"]

JSON, ARROW = "application/json", "application/vnd.apache.arrow.stream"
ROWS = 31 * 288  # one node-month of 5-minute prices


_TIMES = ("interval_start", "interval_end")
UTC_US = pa.timestamp("us", tz="UTC")


def decode_json(body: bytes) -> pd.DataFrame:
    """JSON, vectorized: columns to Arrow (times cast from their ISO strings), to pandas."""
    columns = orjson.loads(body)["columns"]
    arrays = [
        pa.array(values, pa.string()).cast(UTC_US) if name in _TIMES else pa.array(values)
        for name, values in columns.items()
    ]
    return pa.Table.from_arrays(arrays, names=list(columns)).to_pandas(split_blocks=True)


def decode_json_pandas(body: bytes) -> pd.DataFrame:
    """JSON the way a hand-written client does it: a frame, then pandas parses the times."""
    frame = pd.DataFrame(orjson.loads(body)["columns"])
    for name in _TIMES:
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    return frame


def decode_arrow(body: bytes) -> pd.DataFrame:
    """What an Arrow client does: read the IPC stream, convert (timestamps are UTC already)."""
    return pa.ipc.open_stream(body).read_all().to_pandas(split_blocks=True)


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> str | None:
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return f"columns/rows differ: {list(a.columns)} x {len(a)} vs {list(b.columns)} x {len(b)}"
    for name in a.columns:
        x, y = a[name], b[name]
        if isinstance(x.dtype, pd.DatetimeTZDtype):
            same = str(y.dtype.tz) == "UTC" and x.dt.as_unit("us").equals(y.dt.as_unit("us"))
        elif pd.api.types.is_float_dtype(x.dtype) or pd.api.types.is_float_dtype(y.dtype):
            # an all-null column is None objects from JSON, NaN floats from Arrow
            fx, fy = (
                x.to_numpy(dtype=float, na_value=np.nan),
                y.to_numpy(dtype=float, na_value=np.nan),
            )
            same = np.array_equal(fx, fy, equal_nan=True)
        else:
            same = x.astype(str).tolist() == y.astype(str).tolist()
        if not same:
            return f"column {name} differs ({x.dtype} vs {y.dtype})"
    return None


def decode_speedup(url: str, path: str, headers: dict[str, str], runs: int) -> dict[str, float]:
    """Fetch `path` (one node-month) as JSON and as Arrow, check the decodes agree, then
    time three rounds of `runs` back-to-back decodes per format. `arrow_decode_speedup` =
    vectorized JSON / Arrow (medians)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        bodies = {}
        for media in (JSON, ARROW):
            response = client.get(path, headers={**headers, "Accept": media})
            response.raise_for_status()
            bodies[media] = response.content
    decoders = {  # label: (decode, body)
        "Arrow": (decode_arrow, bodies[ARROW]),
        "JSON, vectorized": (decode_json, bodies[JSON]),
        "JSON, pandas": (decode_json_pandas, bodies[JSON]),
    }
    frames = {label: decode(body) for label, (decode, body) in decoders.items()}
    for label, frame in frames.items():
        if len(frame) != ROWS or (why := _same_frames(frames["Arrow"], frame)):
            raise SystemExit(f"node-month: {label} gave {len(frame)} rows; {why}")
    times: dict[str, list[float]] = {label: [] for label in decoders}
    for _ in range(3):  # rounds; within one, `runs` decodes of each format back to back
        for label, (decode, body) in decoders.items():
            decode(body)  # the first after another format's decode is not timed
            for _ in range(runs):
                t0 = time.perf_counter()
                decode(body)
                times[label].append((time.perf_counter() - t0) * 1000)
    med = {label: statistics.median(values) for label, values in times.items()}
    print(f"\n== decode one node-month ({ROWS:,} rows) to pandas, UTC ==")
    for label, (_, body) in decoders.items():
        values = times[label]
        ratio = f"{med[label] / med['Arrow']:6.1f}x Arrow" if label != "Arrow" else ""
        print(
            f"  {label:17} {len(body):>9,} bytes {med[label]:8.2f} ms "
            f"({min(values):.2f}..{max(values):.2f}, median of {len(values)}) {ratio}"
        )
    return {
        "arrow_decode_speedup": med["JSON, vectorized"] / med["Arrow"],
        "pandas_json_vs_arrow": med["JSON, pandas"] / med["Arrow"],
    }
