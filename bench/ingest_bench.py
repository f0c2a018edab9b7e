"""Ingestion benchmark: one PJM RT 5-minute day from Data Miner pages to a committed batch.

Input: every page of `rt_fivemin_hrl_lmps` for one PJM local day (default 2025-09-16,
13,000 pnodes x 288 intervals = 3,744,000 items, 50,000 per page), generated in the exact
Data Miner JSON format by `_pjm_pages.py` and cached under `bench/.data/`. Items carry
all 14 columns: a day past the 186-day archive horizon comes back whole to our fetch and
to gridstatus alike (neither may select fields there). `--fields requested`: the 7
columns our fetch selects on a recent day (gridstatus is skipped: it needs the others).

- **Ours**, end to end from the page bytes (`RawResponse`s) to a committed batch: the
  ingest runner's own `parse_and_store` (the parse, the batch hash combined from the
  pages' hashes, one validating `store.upsert_prices`) into a fresh DuckDB store (opened
  and migrated before the clock starts). Each page's sha256 is computed when the
  `RawResponse` is made, as the fetch receives it (here: before the clock); its cost is
  printed as its own line. The parse is then timed again on its own.
- **Raw floor**: the same final Arrow table, `INSERT ... SELECT` into an unindexed DuckDB
  table in a new file (`store_bench.duckdb_raw`). `vs_raw_insert` = our time / raw.
- **gridstatus** `PJM().get_lmp_real_time_5_min(day)` on the same pages, offline: its HTTP
  call is replaced by `json.loads(page bytes)` for the page it asks for (the decode is what
  `requests`' `.json()` costs it); its pnode directory (`get_pnode_ids`, one more request
  in real life) is prepared before the clock starts; merging the directory into the rows
  is timed, as part of its per-call work. `speedup_vs_gridstatus` = its time / ours.

Before timing, one run checks that both sides produced the same rows: count, intervals,
locations and the LMP/energy/congestion/loss sums to the cent. Runs are interleaved (ours,
raw floor, gridstatus) and each figure is the median of `--runs`. `--quick`: a 1,000-node
day and 3 runs. The last line is `SUMMARY rows_per_s=... vs_raw_insert=...
speedup_vs_gridstatus=...`.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import logging
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")  # gridstatus draws a progress bar per pull

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import _pjm_pages as pages_mod
from _pjm_pages import Day
from carbon254.connectors.http import RawResponse
from carbon254.store import open_store
from store_bench import HERE, duckdb_raw, fresh_duckdb, load, spread

DATASET = "pjm.rt_fivemin_hrl_lmps"
DAY = date(2025, 9, 16)  # an ordinary Tuesday, no DST change: 288 intervals
TARGETS = [("rows_per_s", ">=", 1_000_000.0), ("speedup_vs_gridstatus", ">=", 5.0)]


# -- inputs ---------------------------------------------------------------------------
def raw_responses(day: Day) -> list[RawResponse]:
    """The pages as `fetch_pages` hands them to `parse`: bytes plus paging meta."""
    fetched = datetime(day.day.year, day.day.month, day.day.day, 12, tzinfo=UTC)
    out = []
    for i, content in enumerate(day.pages):
        start = 1 + i * day.page_rows
        rows = min(day.page_rows, day.total_rows - start + 1)
        meta = {
            "feed": pages_mod.FEED,
            "row_count": day.page_rows,
            "page": i + 1,
            "start_row": start,
            "total_rows": day.total_rows,
            "rows": rows,
        }
        url = f"{pages_mod.BASE_URL}/{pages_mod.FEED}?startRow={start}"
        out.append(RawResponse(DATASET, url, fetched, content, "application/json", 200, meta))
    return out


# -- ours -----------------------------------------------------------------------------
def ours(raws: list[RawResponse], url: str) -> tuple[dict[str, float], pa.Table]:
    """The ingest runner's own code after the fetch (`runner.parse_and_store`: parse, the
    batch hash from the pages' own hashes, one `upsert_prices` that validates), timed end
    to end into the fresh store at `url`. Then, outside that timing, the parse once more
    and the pages' sha256 (which `RawResponse` computes when a page arrives, while the
    next one is on the wire: `raw_responses` built them before the clock), for the
    breakdown."""
    from carbon254.connectors.registry import get_dataset
    from carbon254.ingest.runner import parse_and_store

    dataset = get_dataset(DATASET)
    with open_store(url) as store:
        gc.collect()
        t0 = time.perf_counter()
        stored = parse_and_store(dataset, raws, store)
        t1 = time.perf_counter()
    t2 = time.perf_counter()
    table = dataset.parse(raws)
    t3 = time.perf_counter()
    for raw in raws:  # what the fetch pays per page as it arrives (`RawResponse.sha256`)
        hashlib.sha256(raw.content).hexdigest()
    t4 = time.perf_counter()
    if stored.changed != table.num_rows or stored.batch_id is None:
        raise SystemExit(f"ours: expected {table.num_rows:,} rows committed, got {stored}")
    times = {
        "end to end": t1 - t0,
        "parse (incl. its validation)": t3 - t2,
        "sha256 of the pages (at fetch)": t4 - t3,
        "upsert_prices (the rest)": (t1 - t0) - (t3 - t2),
    }
    return times, table


# -- gridstatus -----------------------------------------------------------------------
def pnode_frame(day: Day) -> pd.DataFrame:
    """What `gridstatus.PJM.get_pnode_ids(include_terminated=True)` returns, for these nodes."""
    d = day.directory
    return pd.DataFrame(
        {
            "pnode_id": d["pnode_id"].astype("int64"),
            "pnode_name": d["pnode_name"],
            "voltage_level": d["voltage"],
            "pnode_short_name": d["short"],
        }
    )


def gridstatus_run(day: Day, directory: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame]:
    """`PJM().get_lmp_real_time_5_min(day)` on the generated pages; seconds per stage."""
    import gridstatus

    logging.getLogger("gridstatus").setLevel(logging.WARNING)
    iso = gridstatus.PJM(api_key="offline-benchmark")
    by_start = {1 + i * day.page_rows: page for i, page in enumerate(day.pages)}
    spent = dict.fromkeys(("json", "fetch", "pjm_json", "merge"), 0.0)

    def api_call(url: str, method: str = "GET", **kwargs: Any) -> Any:
        params = kwargs["params"]
        if not url.endswith(pages_mod.FEED) or params["rowCount"] != day.page_rows:
            raise AssertionError(f"gridstatus asked for something else: {url} {params}")
        t0 = time.perf_counter()
        out = json.loads(by_start[params["startRow"]])
        spent["json"] += time.perf_counter() - t0
        return out

    def clocked(key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - t0

        return run

    iso._make_api_call = api_call  # type: ignore[method-assign]
    iso.get_pnode_ids = lambda include_terminated=False: directory  # type: ignore[method-assign]
    iso._fetch_data_miner_pages = clocked("fetch", iso._fetch_data_miner_pages)  # type: ignore[method-assign]
    iso._get_pjm_json = clocked("pjm_json", iso._get_pjm_json)  # type: ignore[method-assign]
    iso._add_pnode_info_to_lmp_data = clocked("merge", iso._add_pnode_info_to_lmp_data)  # type: ignore[method-assign]
    gc.collect()
    t0 = time.perf_counter()
    frame = iso.get_lmp_real_time_5_min(day.day.isoformat())
    total = time.perf_counter() - t0
    times = {
        "end to end": total,
        "json.loads of the pages": spent["json"],
        "items -> DataFrame, concat": spent["fetch"] - spent["json"],
        "timestamps, end filter": spent["pjm_json"] - spent["fetch"],
        "pnode merge": spent["merge"],
        "rename, select, sort": total - spent["pjm_json"] - spent["merge"],
    }
    return times, frame


# -- same work? -----------------------------------------------------------------------
def cents(values: np.ndarray) -> int:
    return int(np.round(np.asarray(values, dtype=np.float64) * 100).astype(np.int64).sum())


def check_same(day: Day, table: pa.Table, frame: pd.DataFrame | None) -> str:
    """Raise unless ours (and gridstatus, if given) hold the generated rows: count,
    intervals, locations, component sums to the cent. A line saying what matched."""
    problems = []
    counts = (day.total_rows, table.num_rows, day.total_rows if frame is None else len(frame))
    if len(set(counts)) > 1:
        problems.append(f"rows: generated {counts[0]:,}, ours {counts[1]:,}, gs {counts[2]:,}")
    columns = {"value": "LMP", "energy": "Energy", "congestion": "Congestion", "loss": "Loss"}
    for ours_name, gs_name in columns.items():
        a = cents(table.column(ours_name).to_numpy(zero_copy_only=False))
        b = a if frame is None else cents(frame[gs_name].to_numpy())
        if a != b or (ours_name == "value" and a != day.lmp_cents):
            problems.append(f"{ours_name} sum: ours {a / 100:,.2f}, gridstatus {b / 100:,.2f}")
    start = table.column("interval_start")
    ours_span = (pc.min(start).as_py(), pc.max(start).as_py(), pc.count_distinct(start).as_py())
    if ours_span[2] != day.total_rows // day.nodes:
        problems.append(f"intervals: ours {ours_span[2]}")
    if frame is not None:
        gs_start = frame["Interval Start"].dt.tz_convert("UTC")
        gs_span = (gs_start.min().to_pydatetime(), gs_start.max().to_pydatetime())
        if ours_span[:2] != gs_span or gs_start.nunique() != ours_span[2]:
            problems.append(f"intervals: ours {ours_span}, gridstatus {gs_span}")
    ids = pc.unique(table.column("instrument").combine_chunks().cast(pa.string()))
    ours_nodes = {int(x.rsplit(".", 1)[1]) for x in ids.to_pylist()}
    wanted = set(day.directory["pnode_id"].astype("int64").tolist())
    gs_nodes = wanted if frame is None else set(frame["Location Id"].astype("int64").unique())
    if not ours_nodes == gs_nodes == wanted:
        problems.append(
            f"locations: ours {len(ours_nodes)}, gridstatus {len(gs_nodes)}, "
            f"generated {len(wanted)}, common {len(ours_nodes & gs_nodes & wanted)}"
        )
    if problems:
        raise SystemExit("rows differ:\n  " + "\n  ".join(problems))
    who = "ours = generated" if frame is None else "same rows (ours = gridstatus = generated)"
    return (
        f"{who}: {table.num_rows:,} rows, {len(ours_nodes):,} locations, "
        f"{ours_span[2]} intervals {ours_span[0]:%Y-%m-%d %H:%M}..{ours_span[1]:%H:%M}Z, LMP sum "
        f"${day.lmp_cents / 100:,.2f} (and energy, congestion, loss sums) equal to the cent"
    )


# -- report ---------------------------------------------------------------------------
def stage_lines(title: str, runs: list[dict[str, float]], rows: int) -> dict[str, float]:
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"\n{title}")
    for key in runs[0]:
        values = [r[key] for r in runs]
        rate = f"  {rows / med[key] / 1e6:6.2f} M rows/s" if med[key] >= 1e-3 else ""
        print(f"  {key:28} {spread(values, 's')}{rate}")
    return med


def profile(what: str, day: Day, raws: list[RawResponse], work: Path) -> None:
    directory = pnode_frame(day)
    profiler = cProfile.Profile()
    with fresh_duckdb(work) as url:
        profiler.enable()
        if what == "ours":
            ours(raws, url)
        else:
            gridstatus_run(day, directory)
        profiler.disable()
    print(f"\n== cProfile: {what} (top 30 by cumulative time) ==")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="1,000 nodes, 3 runs")
    p.add_argument("--nodes", type=int, help="pnodes in the day (13,000; --quick 1,000)")
    p.add_argument("--runs", type=int, help="timed runs of each side (5; --quick 3)")
    p.add_argument("--day", type=date.fromisoformat, default=DAY, help="PJM local day")
    p.add_argument("--page-rows", type=int, default=pages_mod.PAGE_ROWS)
    p.add_argument(
        "--fields",
        choices=("all", "requested"),
        default="all",
        help="item keys: all 14 columns (default: what an archived day returns to both us "
        "and gridstatus) or the 7 our connector asks for on a recent day (gridstatus cannot "
        "read those pages: ours and the raw floor only)",
    )
    p.add_argument(
        "--corrected", type=float, default=0.0, help="share of items sent as version_nbr 2"
    )
    p.add_argument("--data-dir", type=Path, default=HERE / ".data", help="page cache")
    p.add_argument("--profile", choices=("ours", "gridstatus"), help="cProfile one run, then exit")
    args = p.parse_args()
    args.nodes = args.nodes or (1_000 if args.quick else 13_000)
    args.runs = args.runs or (3 if args.quick else 5)
    return args


def header_lines() -> list[str]:
    """Date, code revision and machine: the figures mean little without them."""
    cpuinfo = Path("/proc/cpuinfo")
    info = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((x.split(":", 1)[1].strip() for x in info if x.startswith("model name")), "?")
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    git = ["git", "describe", "--always", "--dirty"]
    rev = subprocess.run(git, cwd=HERE, capture_output=True, text=True).stdout.strip()
    return [
        f"ingest_bench  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  code {rev or '?'}",
        f"machine: {os.cpu_count()} cores, RAM {ram:.1f} GiB, CPU {cpu}, {load()}",
    ]


def versions() -> str:
    import gridstatus

    return (
        f"python {platform.python_version()}, pyarrow {pa.__version__}, duckdb "
        f"{duckdb.__version__}, pandas {pd.__version__}, numpy {np.__version__}, "
        f"gridstatus {gridstatus.__version__}"
    )


def main() -> None:
    args = parse_args()
    for line in header_lines():
        print(line)
    print(f"versions: {versions()}")
    t0 = time.perf_counter()
    fields = pages_mod.FIELDS if args.fields == "all" else pages_mod.REQUESTED
    day = pages_mod.cached(
        args.day, args.nodes, args.data_dir, args.page_rows, args.corrected, fields
    )
    print(
        f"input: PJM {pages_mod.FEED} {day.day}, {day.nodes:,} pnodes, {day.total_rows:,} items "
        f"of {len(day.fields)} keys ({args.fields} columns; {args.corrected:.2%} version 2) "
        f"in {len(day.pages)} pages of {day.page_rows:,}, {day.nbytes / 1e6:,.0f} MB of JSON "
        f"(generated or read from {args.data_dir} in {time.perf_counter() - t0:.1f} s)"
    )
    raws = raw_responses(day)
    directory = pnode_frame(day)
    compare = args.fields == "all"  # gridstatus needs every column (pnode_name, type)
    with tempfile.TemporaryDirectory(prefix="c254_ingest_") as tmp:
        work = Path(tmp)
        if args.profile:
            profile(args.profile, day, raws, work)
            return
        with fresh_duckdb(work) as url:
            _, table = ours(raws, url)
        frame = gridstatus_run(day, directory)[1] if compare else None
        print(f"check: {check_same(day, table, frame)}")
        del frame, table
        sides = "ours, raw floor, gridstatus" if compare else "ours, raw floor; no gridstatus"
        print(f"\nruns: {args.runs}, interleaved ({sides})  ({load()})")
        mine, raw, theirs = [], [], []
        for i in range(args.runs):
            with fresh_duckdb(work) as url:
                times, table = ours(raws, url)
                mine.append(times)
                del times
                gc.collect()
                raw.append({"raw INSERT ... SELECT": duckdb_raw(url, table)})
            del table
            line = f"  run {i + 1}: ours {mine[-1]['end to end']:.2f} s, raw "
            line += f"{raw[-1]['raw INSERT ... SELECT']:.2f} s"
            if compare:
                theirs.append(gridstatus_run(day, directory)[0])
                line += f", gridstatus {theirs[-1]['end to end']:.2f} s"
            print(f"{line}  ({load()})", flush=True)
    report(day, mine, raw, theirs)


def report(
    day: Day,
    mine: list[dict[str, float]],
    raw: list[dict[str, float]],
    theirs: list[dict[str, float]],
) -> None:
    rows = day.total_rows
    med = stage_lines(
        "ours: runner.parse_and_store (parse -> batch hash of the page hashes -> upsert_prices)",
        mine,
        rows,
    )
    floor = stage_lines("raw floor: the same Arrow table into an unindexed DuckDB table", raw, rows)
    results = {
        "rows_per_s": rows / med["end to end"],
        "vs_raw_insert": med["end to end"] / floor["raw INSERT ... SELECT"],
    }
    ratios = f"ours / raw insert {results['vs_raw_insert']:.2f}"
    if theirs:
        gs = stage_lines(
            "gridstatus PJM.get_lmp_real_time_5_min (pages -> DataFrame)", theirs, rows
        )
        results["speedup_vs_gridstatus"] = gs["end to end"] / med["end to end"]
        without_merge = (gs["end to end"] - gs["pnode merge"]) / med["end to end"]
        ratios += f"; gridstatus / ours {results['speedup_vs_gridstatus']:.1f}"
        ratios += f" ({without_merge:.1f} without its pnode merge)"
    parse_validate = rows / med["parse (incl. its validation)"] / 1e6
    print(f"\nratios: {ratios}; ours parse + validate alone {parse_validate:.2f} M rows/s")
    print(f"end: {load()}\ntargets:")
    for key, _, bound in TARGETS:
        if key in results:
            ok = results[key] >= bound
            verdict = f"{'PASS' if ok else 'MISS'}  {key} = {results[key]:,.2f}"
            print(f"  {verdict}  (target >= {bound:,g})")
    speedup = results.get("speedup_vs_gridstatus")
    print(
        f"SUMMARY rows_per_s={results['rows_per_s']:.0f} "
        f"vs_raw_insert={results['vs_raw_insert']:.2f} "
        f"speedup_vs_gridstatus={'n/a' if speedup is None else f'{speedup:.1f}'}"
    )


if __name__ == "__main__":
    sys.exit(main())
