"""Cross-check with gridstatus: its own ERCOT document parsing (`Ercot.read_doc`,
`parse_doc`, `_handle_settlement_point_name_and_type`, `_handle_sced_timestamp`) run
offline on our fixture bytes must agree with ours on intervals, locations, location types
and values to the cent. Only the document lookup and the settlement point mapping (both
network calls) are replaced."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from carbon254.connectors.ercot.sced_lmp import Np6788ScedLmp
from carbon254.connectors.ercot.spp_da import Np4190DaSpp
from carbon254.connectors.ercot.spp_rt import Np6905RtSpp

from ._prices import FALL, NORMAL, SPRING, doc_of, members, raws

gridstatus = pytest.importorskip("gridstatus")
from gridstatus.base import Markets  # noqa: E402
from gridstatus.ercot import Document, Ercot  # noqa: E402

DAYS = [SPRING, FALL, NORMAL]
KINDS = {
    "Trading Hub": "HUB",
    "Load Zone": "LOAD_ZONE",
    "Load Zone Energy Weighted": "LOAD_ZONE",
    "Load Zone DC Tie": "LOAD_ZONE",
    "Load Zone DC Tie Energy Weighted": "LOAD_ZONE",
    "Resource Node": "RESOURCE_NODE",
}


@pytest.fixture
def ercot(monkeypatch, tmp_path):
    """gridstatus' Ercot reading our fixture documents from disk, no network."""
    logging.getLogger("gridstatus").setLevel(logging.WARNING)
    state: dict[str, list[Document]] = {}

    def documents(report: str, day) -> None:
        docs = []
        for name, content in members(report, day):
            path = tmp_path / name
            path.write_bytes(content)
            doc = doc_of(name, 1)
            docs.append(
                Document(
                    url=str(path),
                    publish_date=pd.Timestamp(doc.posted_utc),
                    constructed_name=name,
                    friendly_name=doc.friendly_name,
                    friendly_name_timestamp=None,
                )
            )
        state["docs"] = docs

    monkeypatch.setattr(Ercot, "_get_documents", lambda self, *a, **k: state["docs"])
    # gridstatus types names found in ERCOT's NP4-160 mapping as resource nodes
    mapping = pd.DataFrame({"RESOURCE_NODE": ["AMISTAD_ALL"]})
    monkeypatch.setattr(Ercot, "_get_settlement_point_mapping", lambda self, verbose=False: mapping)
    iso = Ercot()
    iso.use_documents = documents  # type: ignore[attr-defined]
    return iso


def ours(dataset, report: str, day) -> pd.DataFrame:
    docs = raws(dataset.name, report, day)
    df = dataset.parse(docs).to_pandas()
    df["location"] = df["instrument"].astype(str).str.split(".", n=3).str[3]
    kinds = dataset.locations(docs).to_pandas().set_index("location")["location_type"]
    df["kind"] = df["location"].map(kinds)
    return df[["interval_start", "interval_end", "location", "kind", "value"]]


def theirs(df: pd.DataFrame, price: str) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "interval_start": df["Interval Start"].dt.tz_convert("UTC"),
            "interval_end": df["Interval End"].dt.tz_convert("UTC"),
            "location": df["Location"].astype(str),
            "kind": df["Location Type"].astype(str).map(KINDS),
            "value": df[price].astype(float),
        }
    )
    return out


def agree(a: pd.DataFrame, b: pd.DataFrame) -> None:
    key = ["interval_start", "location"]
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)
    assert len(a) == len(b)
    assert a[key].astype(str).equals(b[key].astype(str))
    assert (a["interval_end"] == b["interval_end"]).all()
    assert (a["kind"] == b["kind"]).all()
    assert ((a["value"] - b["value"]).abs() < 0.005).all()


@pytest.mark.parametrize("day", DAYS)
def test_rt_spp_agrees_with_gridstatus(ercot, day):
    ercot.use_documents("np6905", day)
    gs = ercot.get_spp(date=pd.Timestamp(day, tz="US/Central"), market=Markets.REAL_TIME_15_MIN)
    mine = ours(Np6905RtSpp(), "np6905", day)
    agree(mine, theirs(gs, "SPP"))
    assert mine.location.nunique() == 5  # LZ_NORTH and LZ_NORTH_EW on both sides


@pytest.mark.parametrize("day", DAYS)
def test_da_spp_agrees_with_gridstatus(ercot, day):
    ercot.use_documents("np4190", day)
    gs = ercot.get_spp(date=pd.Timestamp(day, tz="US/Central"), market=Markets.DAY_AHEAD_HOURLY)
    agree(ours(Np4190DaSpp(), "np4190", day), theirs(gs, "SPP"))


@pytest.mark.parametrize("day", DAYS)
def test_sced_lmp_agrees_with_gridstatus_last_run(ercot, day):
    ercot.use_documents("np6788", day)
    gs = ercot.get_lmp_by_settlement_point(date=pd.Timestamp(day, tz="US/Central"))
    # gridstatus keeps every SCED run; our rule keeps the last run of each 5 minutes
    gs = gs.sort_values("SCED Timestamp").groupby(["Location", "Interval Start"]).tail(1)
    agree(ours(Np6788ScedLmp(), "np6788", day), theirs(gs, "LMP"))
