"""Every other resource through the SDK against the real server: probes, catalogue,
latest, spreads, curves and marks, completeness, lineage; typed models and frames."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest

import carbon254
from carbon254.core import Iso, market_day
from carbon254.core.api_models import (
    Batch,
    CompletenessDay,
    CurveInfo,
    CurveMark,
    Instrument,
    LatestPrice,
    Location,
)

from ..service.service_helpers import CAISO_DA, ERCOT_RT15, FALL_BACK, PJM_DA
from .sdk_helpers import HUB, PJM_RT5


def test_probes(client: carbon254.Client) -> None:
    health = client.health()
    assert (health.status, health.store) == ("ok", "duckdb") and health.schema_version >= 1
    ready = client.ready()
    assert ready.ready and ready.store == "ok"


def test_instruments_search(client: carbon254.Client) -> None:
    everything = client.instruments()
    assert {i.instrument for i in everything} >= {PJM_DA, CAISO_DA, ERCOT_RT15, PJM_RT5, HUB}
    pjm_da = client.instruments(iso="PJM", market="DA")
    assert all(isinstance(i, Instrument) and i.iso == Iso.PJM for i in pjm_da)
    assert {i.instrument for i in pjm_da} >= {PJM_DA, HUB}
    hubs = client.instruments(location_type="HUB")
    assert {i.instrument for i in hubs} == {HUB, ERCOT_RT15}
    assert [i.instrument for i in client.instruments(name="western")] == [HUB]
    first = client.instruments(iso="PJM", market="DA", name="51288")[0]
    assert first.first_interval is not None and first.first_interval.tzinfo is not None
    df = everything.to_pandas()
    assert str(df["first_interval"].dtype) == "datetime64[us, UTC]" and len(df) == len(everything)


def test_locations(client: carbon254.Client) -> None:
    rows = client.locations(iso="PJM")
    assert all(isinstance(r, Location) for r in rows)
    assert {r.location for r in rows} == {"51288", "WESTERN HUB"}
    hub = client.locations(location_type="HUB", name="north")
    assert [(r.iso, r.location, r.effective_date) for r in hub] == [
        ("ERCOT", "HB_NORTH", date(2010, 12, 1))
    ]
    assert len(client.locations(on=date(2000, 1, 1))) == 0  # nothing in effect yet


def test_latest(client: carbon254.Client, sdk_store) -> None:
    rows = client.latest([PJM_DA, ERCOT_RT15])
    assert all(isinstance(r, LatestPrice) for r in rows)
    by_id = {r.instrument: r for r in rows}
    stored = sdk_store.latest([PJM_DA, ERCOT_RT15]).to_pylist()
    for row in stored:
        got = by_id[row["instrument"]]
        assert got.interval_start == row["interval_start"] and got.value == row["value"]
    pjm = client.latest(iso="PJM", market="DA", tz="market")
    assert {r.instrument for r in pjm} >= {PJM_DA, HUB}
    local = pjm.to_pandas()["interval_start_local"]
    assert str(local.dtype) == "datetime64[us, America/New_York]"


def test_spreads(client: carbon254.Client, sdk_store) -> None:
    start, end = market_day(Iso.PJM, FALL_BACK)
    for wire in ("arrow", "json"):
        frame = client.spreads(HUB, [PJM_DA], start, end, wire=wire)
        df = frame.to_pandas()
        assert len(df) == 25 and set(df["instrument"]) == {PJM_DA}
        assert df["hub_value"].eq(25.0).all()
        assert (df["spread"] - (df["node_value"] - df["hub_value"])).abs().max() < 1e-9
    daily = client.spreads(HUB, PJM_DA, start, end, resample="daily", agg="max")
    assert daily.to_pandas()["count"].tolist() == [25]


def test_curve_catalogue_curve_and_marks(client: carbon254.Client) -> None:
    catalogue = client.curves(iso="PJM")
    assert all(isinstance(c, CurveInfo) for c in catalogue)
    assert [c.instrument for c in catalogue if c.hub] == [HUB]
    curve = client.curve(HUB, months=3)  # as_of: now (a revision time, not a market time)
    df = curve.to_pandas()
    assert len(df) == 6 and set(df["peak"]) == {"on", "off"}
    assert df["price"].round(6).eq(25.0).all()  # a flat history gives a flat curve
    assert curve.instrument == HUB and curve.method == "flat"
    wide = curve.to_pandas(wide=True)
    assert list(wide.columns) == ["off", "on"] and len(wide) == 3

    first = pd.DataFrame({"month": ["2027-01", "2027-02"], "peak": ["on", "on"],
                          "price": [55.5, 51.25]})  # fmt: skip
    upload = client.upload_marks(HUB, first, source="sdk-test")
    assert upload.changed and upload.rows_inserted == 2 and upload.source == "sdk-test"
    again = client.upload_marks(HUB, first, source="sdk-test")
    assert not again.changed and again.version == upload.version
    revised = client.upload_marks(
        HUB, [{"month": date(2027, 2, 1), "peak": "on", "price": 49}], source="sdk-test"
    )
    assert revised.rows_superseded == 1 and revised.version > upload.version
    held = client.marks(HUB)
    assert all(isinstance(m, CurveMark) for m in held)
    assert {(m.month, m.price) for m in held} == {
        (date(2027, 1, 1), 55.5),
        (date(2027, 2, 1), 49.0),
    }
    before = client.marks(HUB, as_of=upload.committed_at)
    assert {m.price for m in before} == {55.5, 51.25}
    history = client.marks(HUB, revisions=True)
    assert len(history) == 3 and any(m.superseded_by == revised.version for m in history)
    marked = client.curve(HUB, as_of=datetime.now(UTC), start="2027-01", months=2).to_pandas()
    assert marked.loc[marked["peak"] == "on", "price"].tolist() == [55.5, 49.0]


def test_curve_errors_are_typed(client: carbon254.Client) -> None:
    with pytest.raises(carbon254.ValidationError) as caught:
        client.curve(PJM_DA)  # a node, not a hub
    assert caught.value.problem.get("reason") == "not-a-hub"
    with pytest.raises(carbon254.NotFound):
        client.marks("PJM.DA.LMP.NOWHERE HUB")
    with pytest.raises(carbon254.ValidationError) as caught:
        client.upload_marks(HUB, [{"month": "2027-13", "peak": "on", "price": 1.0}])
    assert caught.value.errors
    # A gap in a desk's DataFrame (NaN) is the server's per-row refusal, not a JSON error.
    gappy = pd.DataFrame({"month": ["2027-01", "2027-02"], "peak": "on", "price": [50.0, None]})
    with pytest.raises(carbon254.ValidationError) as caught:
        client.upload_marks(HUB, gappy)
    assert [(e["row"], e["field"]) for e in caught.value.errors] == [(2, "price")]


def test_completeness(client: carbon254.Client, base_url: str) -> None:
    report = client.completeness(dataset="pjm.da_hrl_lmps", start=FALL_BACK, end=FALL_BACK)
    rows = list(report)
    assert all(isinstance(r, CompletenessDay) for r in rows)
    assert [(r.dataset, r.day) for r in rows] == [("pjm.da_hrl_lmps", FALL_BACK)]
    assert rows[0].expected_intervals == 25  # a fall-back day
    summary = report.report
    assert summary.start == summary.end == FALL_BACK and summary.datasets[0].iso == "PJM"
    with carbon254.Client(base_url, wire="json") as over_json:
        json = over_json.completeness(
            dataset=["pjm.da_hrl_lmps"], start="2024-11-03", end="2024-11-03"
        )
    pdt.assert_frame_equal(json.to_pandas(), report.to_pandas())
    assert (json.report.datasets, json.report.passed) == (summary.datasets, summary.passed)
    with pytest.raises(carbon254.NotFound):
        client.completeness(dataset="no.such_dataset")


def test_batches_and_jobs(client: carbon254.Client) -> None:
    batches = client.batches(source="test")
    assert batches and all(isinstance(b, Batch) for b in batches)
    assert batches[0].source == "test" and len(batches[0].content_sha256 or "") == 64
    assert len(client.batches(limit=1)) == 1
    assert len(client.jobs(status="failed")) == 0
    with pytest.raises(carbon254.ValidationError):
        client.batches(limit=0)


def test_async_client_covers_the_same_resources(base_url: str) -> None:
    import asyncio

    async def main() -> tuple:
        async with carbon254.AsyncClient(base_url) as client:
            return await asyncio.gather(
                client.health(),
                client.instruments(iso="PJM"),
                client.latest(PJM_DA),
                client.prices([PJM_DA, ERCOT_RT15], "2024-11-03", "2024-11-05"),
                client.prices(PJM_RT5, "2024-11-02", "2024-11-06", page_size=300, wire="json"),
                client.curves(),
                client.batches(limit=5),
            )

    health, instruments, latest, prices, paged, curves, batches = asyncio.run(main())
    assert health.status == "ok" and len(latest) == 1 and len(instruments) >= 3
    assert paged.pages == 3 and len(paged) == 288 * 3 + 12
    with carbon254.Client(base_url) as sync:
        pdt.assert_frame_equal(
            prices.to_pandas(),
            sync.prices([PJM_DA, ERCOT_RT15], "2024-11-03", "2024-11-05").to_pandas(),
        )
    assert isinstance(prices.to_arrow(), pa.Table) and curves and batches


def test_async_iter_pages(base_url: str) -> None:
    import asyncio

    async def main() -> list[int]:
        async with carbon254.AsyncClient(base_url) as client:
            return [len(p) async for p in client.iter_pages(
                PJM_RT5, "2024-11-02", "2024-11-06", page_size=400)]  # fmt: skip

    assert asyncio.run(main()) == [400, 400, 288 * 3 + 12 - 800]


def test_graphql(client: carbon254.Client) -> None:
    query = "query($iso: Iso) { instruments(iso: $iso, first: 10) { id locationCode } }"
    data = client.graphql(query, {"iso": "PJM"})
    ids = [row["id"] for row in data["instruments"]]
    assert PJM_DA in ids and all(i.startswith("PJM.") for i in ids)
    with pytest.raises(carbon254.GraphQLError) as caught:
        client.graphql('{ instrument(id: "PJM.DA.LMP.404404") { id } }')
    assert caught.value.errors and "PJM.DA.LMP.404404" in str(caught.value)
    with pytest.raises(carbon254.GraphQLError):
        client.graphql("{ noSuchField }")
