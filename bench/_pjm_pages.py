"""Synthetic PJM Data Miner pages of `rt_fivemin_hrl_lmps`: one local day, every node.

The bytes are what the API returns (and what gridstatus and our connector read): JSON
envelopes `{"links": [...], "items": [...], "searchSpecification": {...}, "totalRows": N}`
of `page_rows` items each, items keyed exactly like the feed's columns (the Data Miner
CSV header), ISO-8601 timestamps without zone ("2025-09-16T04:00:00"), prices with two
decimals, `row_is_current` a JSON boolean. Prices are built in integer cents, so
energy + congestion + loss = LMP exactly; some are negative. Rows come time-major (every
node for an interval, then the next), nodes by ascending pnode_id.

Rows are assembled column-wise with Arrow string kernels (a 3.7 M-row day in seconds,
not minutes) and cached under `bench/.data/` keyed by every generation parameter.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from carbon254.core import Iso, interval_starts

FEED = "rt_fivemin_hrl_lmps"
BASE_URL = "https://api.pjm.com/api/v1"
PAGE_ROWS = 50_000
STEP = timedelta(minutes=5)
GENERATOR_VERSION = 3  # bump when the bytes change: the cache key includes it
FIELDS = (
    "datetime_beginning_utc",
    "datetime_beginning_ept",
    "pnode_id",
    "pnode_name",
    "voltage",
    "equipment",
    "type",
    "zone",
    "system_energy_price_rt",
    "total_lmp_rt",
    "congestion_price_rt",
    "marginal_loss_price_rt",
    "row_is_current",
    "version_nbr",
)
ZONES = (
    "AECO",
    "AEP",
    "APS",
    "ATSI",
    "BGE",
    "COMED",
    "DAY",
    "DEOK",
    "DOM",
    "DPL",
    "DUQ",
    "EKPC",
    "JCPL",
    "METED",
    "OVEC",
    "PECO",
    "PENELEC",
    "PEPCO",
    "PPL",
    "PSEG",
    "RECO",
)
# (type, share of nodes): most PJM pnodes are generator and load buses.
TYPES = (
    ("GEN", 0.52),
    ("LOAD", 0.40),
    ("AGGREGATE", 0.03),
    ("EHV", 0.02),
    ("ZONE", 0.0016),
    ("HUB", 0.0009),
    ("INTERFACE", 0.0015),
    ("TIE", 0.001),
    ("EXT", 0.001),
    ("RESIDUAL_METERED_EDC", 0.0010),
)
# What our connector's fetch asks for (`lmp.LmpFeed._fields`), in its order.
REQUESTED = (
    "datetime_beginning_utc",
    "pnode_id",
    "total_lmp_rt",
    "congestion_price_rt",
    "marginal_loss_price_rt",
    "system_energy_price_rt",
    "version_nbr",
)
VOLTAGES = ("13 KV", "18 KV", "26 KV", "34 KV", "69 KV", "115 KV", "138 KV", "230 KV", "345 KV")


@dataclass(frozen=True)
class Day:
    """The generated pages of one day and what the bench needs to check against."""

    day: date
    nodes: int
    page_rows: int
    pages: list[bytes]
    total_rows: int
    lmp_cents: int  # sum of total_lmp_rt over all items, in cents
    directory: pd.DataFrame  # the pnode directory (as PJM's `pnode` feed lists it)
    fields: tuple[str, ...]  # the item keys, in order

    @property
    def nbytes(self) -> int:
        return sum(len(p) for p in self.pages)


# -- nodes ----------------------------------------------------------------------------
def node_directory(nodes: int, seed: int = 7) -> pd.DataFrame:
    """`nodes` pnodes: ids (small legacy ids and large ones past 2^31, as PJM has), short
    names, voltage, equipment, type, zone; and the directory's full name."""
    rng = np.random.default_rng(seed)
    small = rng.choice(np.arange(1_000, 200_000), nodes // 10, replace=False)
    large = rng.choice(np.arange(1_000_000_000, 2_200_000_000, 97), nodes, replace=False)
    ids = np.sort(np.concatenate([small, large[: nodes - len(small)]]))
    names, probs = zip(*TYPES, strict=True)
    kinds = rng.choice(np.array(names), nodes, p=np.array(probs) / sum(probs))
    zones = rng.choice(np.array(ZONES), nodes)
    volts = rng.choice(np.array(VOLTAGES), nodes)
    rows = []
    for i, (pid, kind, zone, volt) in enumerate(zip(ids, kinds, zones, volts, strict=True)):
        bus = kind in ("GEN", "LOAD", "EHV")
        short = f"{zone[:4]}{i:05d}" if bus else f"{kind[:3]} {zone} {i}"
        equipment = (f"UNIT{i % 9 + 1}" if kind == "GEN" else f"T-{i % 40 + 1}") if bus else None
        rows.append(
            {
                "pnode_id": int(pid),
                "short": short,
                "voltage": volt if bus else None,
                "equipment": equipment,
                "type": str(kind),
                "zone": None if kind in ("TIE", "EXT", "INTERFACE") else str(zone),
            }
        )
    frame = pd.DataFrame(rows)
    full = frame["short"] + (" " + frame["voltage"] + " " + frame["equipment"]).fillna("")
    frame["pnode_name"] = full.str.strip()
    return frame


NODE_FIELDS = {  # item key -> directory column
    "pnode_id": "pnode_id",
    "pnode_name": "short",
    "voltage": "voltage",
    "equipment": "equipment",
    "type": "type",
    "zone": "zone",
}


def _node_values(frame: pd.DataFrame, key: str) -> pa.Array:
    """Per node: the JSON text of its value for item `key` (null as `null`)."""
    values = frame[NODE_FIELDS[key]].tolist()
    return pa.array([json.dumps(None if pd.isna(v) else v) for v in values], pa.string())


# -- prices ---------------------------------------------------------------------------
def _prices(nodes: int, intervals: int, seed: int) -> tuple[np.ndarray, ...]:
    """(energy, congestion, loss, lmp) in integer cents, time-major, lmp the exact sum."""
    rng = np.random.default_rng(seed)
    t = np.arange(intervals)
    hour = t / 12.0
    shape = 28 + 14 * np.exp(-(((hour - 18) / 2.5) ** 2)) + 6 * np.exp(-(((hour - 8) / 2) ** 2))
    walk = np.cumsum(rng.normal(0, 0.6, intervals))
    system = shape + walk - walk.mean() + rng.normal(0, 1.5, intervals)
    spikes = rng.random(intervals) < 0.02
    system[spikes] += rng.gamma(2.0, 60.0, spikes.sum())
    energy_t = np.round(system * 100).astype(np.int64)
    # A few binding constraints with AR(1) shadow prices; each node has a shift factor.
    k = 6
    shadow = np.zeros((intervals, k))
    bind = rng.random(k) * 0.8 + 0.1
    for j in range(k):
        noise = rng.normal(0, 8, intervals)
        for i in range(1, intervals):
            shadow[i, j] = 0.9 * shadow[i - 1, j] + noise[i]
        shadow[:, j] *= rng.random(intervals) < bind[j]
    shift = rng.normal(0, 0.35, (nodes, k)) * (rng.random((nodes, k)) < 0.6)
    congestion = np.round((shadow @ shift.T) * 100).astype(np.int64).ravel()
    loss_factor = rng.normal(0, 0.025, nodes)
    loss = np.round(np.outer(energy_t, loss_factor)).astype(np.int64).ravel()
    energy = np.repeat(energy_t, nodes)
    lmp = energy + congestion + loss
    return energy, congestion, loss, lmp


def _money(cents: np.ndarray) -> pa.Array:
    """Integer cents as JSON numbers with two decimals ("-0.08", "18.30")."""
    magnitude = np.abs(cents)
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    whole = pa.array(magnitude // 100).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(magnitude % 100).cast(pa.string()), 2, "0")
    return pc.binary_join_element_wise(sign, whole, ".", frac, "")


# -- pages ----------------------------------------------------------------------------
def _query(day: date, start_row: int, page_rows: int, fields: Sequence[str]) -> str:
    ept = f"{day:%m/%d/%Y} 00:00to{day:%m/%d/%Y} 23:59"
    params = {
        "RowCount": page_rows,
        "Order": "Asc",
        "StartRow": start_row,
        "IsActiveMetadata": "True",
        "Fields": ",".join(fields),
        "datetime_beginning_ept": ept,
        "row_is_current": "TRUE",
    }
    return f"{BASE_URL}/{FEED}?" + urlencode(params, quote_via=quote)


def _envelope(
    day: date, start_row: int, page_rows: int, total: int, fields: Sequence[str]
) -> tuple[bytes, bytes]:
    """(text before the items, text after them) of one page."""
    links = [
        {"rel": "self", "href": _query(day, start_row, page_rows, fields)},
        {"rel": "metadata", "href": f"{BASE_URL}/{FEED}/metadata"},
    ]
    if start_row + page_rows <= total:
        links.append({"rel": "next", "href": _query(day, start_row + page_rows, page_rows, fields)})
    spec = {
        "rowCount": page_rows,
        "order": "Asc",
        "startRow": start_row,
        "isActiveMetadata": True,
        "fields": list(fields),
        "filters": [
            {"datetime_beginning_ept": f"{day:%m/%d/%Y} 00:00to{day:%m/%d/%Y} 23:59"},
            {"row_is_current": "TRUE"},
        ],
    }
    head = '{"links":' + json.dumps(links, separators=(",", ":")) + ',"items":['
    tail = '],"searchSpecification":' + json.dumps(spec, separators=(",", ":"))
    tail += f',"totalRows":{total}}}'
    return head.encode(), tail.encode()


def _times(day: date) -> tuple[pa.Array, pa.Array]:
    starts = interval_starts(Iso.PJM, day, STEP)
    utc = [f"{t:%Y-%m-%dT%H:%M:%S}" for t in starts.tz_convert(UTC)]
    ept = [f"{t:%Y-%m-%dT%H:%M:%S}" for t in starts.tz_convert(Iso.PJM.tz)]
    return pa.array(utc), pa.array(ept)


def generate(
    day: date,
    nodes: int,
    page_rows: int = PAGE_ROWS,
    corrected: float = 0.0,
    fields: Sequence[str] = FIELDS,
    seed: int = 1,
) -> Day:
    """Every page of `rt_fivemin_hrl_lmps` for PJM local `day` over `nodes` pnodes.

    Items carry `fields` in that order (the API returns the `fields` asked for, in the
    order asked; gridstatus asks for all 14 columns, our connector for `REQUESTED`).
    Every item is `version_nbr` 1 (a normal day: PJM's recorded RT and DA exports have no
    other), except a `corrected` share of them, which come as version 2 (a day with
    corrections: still one current row per node and interval).
    """
    if unknown := set(fields) - set(FIELDS):
        raise ValueError(f"not columns of {FEED}: {sorted(unknown)}")
    directory = node_directory(nodes)
    node_values = {k: _node_values(directory, k) for k in fields if k in NODE_FIELDS}
    utc, ept = _times(day)
    intervals = len(utc)
    total = intervals * nodes
    energy, congestion, loss, lmp = _prices(nodes, intervals, seed)
    money = {
        "system_energy_price_rt": energy,
        "total_lmp_rt": lmp,
        "congestion_price_rt": congestion,
        "marginal_loss_price_rt": loss,
    }
    version = np.where(np.random.default_rng(seed + 1).random(total) < corrected, 2, 1)
    pages = []
    for start in range(0, total, page_rows):
        stop = min(start + page_rows, total)
        rows = np.arange(start, stop)
        t, n = pa.array(rows // nodes), pa.array(rows % nodes)
        parts: list[pa.Array | str] = []
        for k, key in enumerate(fields):
            parts.append(("{" if k == 0 else ",") + f'"{key}":')
            if key in node_values:
                parts.append(pc.take(node_values[key], n))
            elif key in money:
                parts.append(_money(money[key][start:stop]))
            elif key in ("datetime_beginning_utc", "datetime_beginning_ept"):
                times = utc if key == "datetime_beginning_utc" else ept
                parts += ['"', pc.take(times, t), '"']
            elif key == "row_is_current":
                parts.append("true")
            else:  # version_nbr
                parts.append(pa.array(version[start:stop]).cast(pa.string()))
        items = pc.binary_join_element_wise(*parts, "},", "")
        offsets = np.frombuffer(items.buffers()[1], np.int32, len(items) + 1, items.offset * 4)
        body = items.buffers()[2].to_pybytes()[offsets[0] : offsets[-1] - 1]  # drop the last ","
        head, tail = _envelope(day, start + 1, page_rows, total, fields)
        pages.append(head + body + tail)
    return Day(day, nodes, page_rows, pages, total, int(lmp.sum()), directory, tuple(fields))


# -- cache ----------------------------------------------------------------------------
def cached(
    day: date,
    nodes: int,
    cache_dir: Path,
    page_rows: int = PAGE_ROWS,
    corrected: float = 0.0,
    fields: Sequence[str] = FIELDS,
) -> Day:
    """`generate(...)`, read from `cache_dir` when the same parameters were generated before."""
    which = (
        "all"
        if tuple(fields) == FIELDS
        else hashlib.sha256(",".join(fields).encode()).hexdigest()[:8]
    )
    key = (
        f"pjm_{FEED}_{day:%Y%m%d}_{nodes}n_{page_rows}r_{corrected:g}c_{which}_v{GENERATOR_VERSION}"
    )
    folder = cache_dir / key
    manifest = folder / "manifest.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        pages = [(folder / name).read_bytes() for name in meta["pages"]]
        directory = pd.read_json(folder / "pnodes.json", orient="records", dtype=False)
        return Day(
            day,
            nodes,
            page_rows,
            pages,
            meta["total_rows"],
            meta["lmp_cents"],
            directory,
            tuple(meta["fields"]),
        )
    generated = generate(day, nodes, page_rows, corrected, fields)
    partial = folder.with_name(key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    names = []
    for i, page in enumerate(generated.pages, 1):
        names.append(f"page_{i:04d}.json")
        (partial / names[-1]).write_bytes(page)
    generated.directory.to_json(partial / "pnodes.json", orient="records")
    meta = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "total_rows": generated.total_rows,
        "lmp_cents": generated.lmp_cents,
        "fields": list(generated.fields),
        "pages": names,
    }
    (partial / "manifest.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return generated
