"""NP6-905-CD real-time 15-minute SPP: DST days, naming, precedence, bad payloads."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pandas as pd
import pyarrow.compute as pc
import pytest

from carbon254.connectors import registry
from carbon254.connectors.ercot.settlement_points import NODAL_MARKET_START
from carbon254.connectors.ercot.spp_rt import Np6905RtSpp
from carbon254.connectors.errors import PayloadError
from carbon254.core.directory import validate_locations
from carbon254.core.schema import validate_prices

from ._prices import FALL, NORMAL, SPRING, doc_of, members, raw_of, raws, zip_csv

NAME = "ercot.np6-905-cd"
DATASET = registry._DATASETS[NAME]  # registered on import of the module
HEADER = (
    '"DeliveryDate","DeliveryHour","DeliveryInterval","SettlementPointName",'
    '"SettlementPointType","SettlementPointPrice","DSTFlag"\r\n'
)
POINTS = ["AMISTAD_ALL", "HB_HOUSTON", "HB_NORTH", "LZ_NORTH", "LZ_NORTH_EW"]


def frame(table) -> pd.DataFrame:
    df = table.to_pandas()
    df["instrument"] = df["instrument"].astype(str)
    return df


def one_doc(friendly: str, rows: str, *, posted: str = "20240310.031602", n: int = 1):
    name = f"cdr.00012301.0000000000000000.{posted}.{friendly}.zip"
    content = zip_csv(name.removesuffix("_csv.zip") + ".csv", HEADER + rows)
    return raw_of(NAME, "NP6-905-CD", doc_of(name, n), content)


@pytest.mark.parametrize(("day", "count"), [(SPRING, 92), (FALL, 100), (NORMAL, 96)])
def test_dst_days_have_exact_interval_counts(day, count):
    table = DATASET.parse(raws(NAME, "np6905", day))
    validate_prices(table)
    df = frame(table)
    per_point = df.groupby("instrument").size()
    assert sorted(per_point.index) == [f"ERCOT.RT15.SPP.{p}" for p in POINTS]
    assert (per_point == count).all()
    # the intervals tile the local day exactly
    local = df["interval_start"].dt.tz_convert("America/Chicago")
    assert local.dt.date.eq(day).all()
    starts = df[df.instrument == "ERCOT.RT15.SPP.HB_NORTH"]["interval_start"].sort_values()
    assert starts.diff().dropna().eq(pd.Timedelta(minutes=15)).all()
    assert (df.interval_end - df.interval_start).eq(pd.Timedelta(minutes=15)).all()
    assert df[["energy", "congestion", "loss", "ghg"]].isna().all().all()


def _csv_rows(day) -> pd.DataFrame:
    frames = []
    for _, content in members("np6905", day):
        with zipfile.ZipFile(io.BytesIO(content)) as inner:
            frames.append(pd.read_csv(inner.open(inner.namelist()[0])))
    return pd.concat(frames, ignore_index=True)


def test_fall_back_repeated_hour_follows_dst_flag():
    df = frame(DATASET.parse(raws(NAME, "np6905", FALL)))
    north = df[df.instrument == "ERCOT.RT15.SPP.HB_NORTH"].set_index("interval_start")["value"]
    raw = _csv_rows(FALL)
    raw = raw[raw.SettlementPointName.eq("HB_NORTH") & raw.DeliveryHour.eq(2)]
    first = raw[raw.DSTFlag == "N"].sort_values("DeliveryInterval")["SettlementPointPrice"]
    second = raw[raw.DSTFlag == "Y"].sort_values("DeliveryInterval")["SettlementPointPrice"]
    # 01:00-02:00 CDT is 06:00-07:00Z, the repeated 01:00-02:00 CST is 07:00-08:00Z
    cdt = pd.date_range("2024-11-03 06:00", periods=4, freq="15min", tz="UTC")
    cst = pd.date_range("2024-11-03 07:00", periods=4, freq="15min", tz="UTC")
    assert north.loc[cdt].tolist() == first.tolist()
    assert north.loc[cst].tolist() == second.tolist()


def test_spring_forward_skips_the_missing_hour():
    df = frame(DATASET.parse(raws(NAME, "np6905", SPRING)))
    starts = df[df.instrument == "ERCOT.RT15.SPP.HB_NORTH"]["interval_start"].sort_values()
    local = starts.dt.tz_convert("America/Chicago").dt.strftime("%H:%M%z").tolist()
    at = local.index("01:45-0600")
    assert local[at + 1] == "03:00-0500"
    assert not any(t.startswith("02:") for t in local)


def test_every_value_matches_its_csv_row():
    df = frame(DATASET.parse(raws(NAME, "np6905", NORMAL)))
    raw = _csv_rows(NORMAL)
    assert len(df) == len(raw)
    assert sorted(df["value"].round(2)) == sorted(raw["SettlementPointPrice"].round(2))
    row = raw[
        raw.SettlementPointName.eq("LZ_NORTH")
        & raw.SettlementPointType.eq("LZEW")
        & raw.DeliveryHour.eq(24)
        & raw.DeliveryInterval.eq(4)
    ].iloc[0]
    # HE24 interval 4 = 23:45-24:00 CDT = 04:45Z the next day
    got = df[
        df.instrument.eq("ERCOT.RT15.SPP.LZ_NORTH_EW")
        & df.interval_start.eq(pd.Timestamp("2024-07-16 04:45", tz="UTC"))
    ]
    assert got["value"].tolist() == [row.SettlementPointPrice]


def test_energy_weighted_zone_is_its_own_location():
    df = frame(DATASET.parse(raws(NAME, "np6905", NORMAL)))
    plain = df[df.instrument == "ERCOT.RT15.SPP.LZ_NORTH"].set_index("interval_start")["value"]
    weighted = df[df.instrument == "ERCOT.RT15.SPP.LZ_NORTH_EW"].set_index("interval_start")
    assert len(plain) == len(weighted) == 96
    assert not plain.equals(weighted["value"])


def test_locations_are_typed_and_valid():
    table = validate_locations(DATASET.locations(raws(NAME, "np6905", FALL, NORMAL)))
    rows = {r["location"]: r for r in table.to_pylist()}
    assert {k: v["location_type"] for k, v in rows.items()} == {
        "AMISTAD_ALL": "RESOURCE_NODE",
        "HB_HOUSTON": "HUB",
        "HB_NORTH": "HUB",
        "LZ_NORTH": "LOAD_ZONE",
        "LZ_NORTH_EW": "LOAD_ZONE",
    }
    assert rows["LZ_NORTH_EW"]["name"] == "LZ_NORTH"
    assert {r["effective_date"] for r in rows.values()} == {NODAL_MARKET_START}
    assert all(r["iso"] == "ERCOT" and r["termination_date"] is None for r in rows.values())


def test_all_hub_names_are_hubs_and_dc_ties_are_zones():
    rows = "".join(
        f'"07/15/2024","1","1","{name}","{kind}","1.5","N"\r\n'
        for name, kind in [
            ("HB_BUSAVG", "SH"),
            ("HB_HUBAVG", "SH"),
            ("HB_PAN", "HU"),
            ("HB_SOUTH", "HU"),
            ("HB_WEST", "HU"),
            ("DC_E", "LZ_DC"),
            ("DC_E", "LZ_DCEW"),
            ("UNKNOWN_PT", "ZZ"),
        ]
    )
    raw = one_doc("SPPHLZNP6905_20240715_0015_csv", rows, posted="20240715.001602")
    kinds = {r["location"]: r["location_type"] for r in DATASET.locations([raw]).to_pylist()}
    assert kinds == {
        "HB_BUSAVG": "HUB",
        "HB_HUBAVG": "HUB",
        "HB_PAN": "HUB",
        "HB_SOUTH": "HUB",
        "HB_WEST": "HUB",
        "DC_E": "LOAD_ZONE",
        "DC_E_EW": "LOAD_ZONE",
        "UNKNOWN_PT": "RESOURCE_NODE",
    }
    assert DATASET.parse([raw]).num_rows == 8


def test_retry_document_replaces_its_original():
    original = one_doc(
        "SPPHLZNP6905_20240715_0015_csv",
        '"07/15/2024","1","1","HB_NORTH","HU","10.00","N"\r\n',
        posted="20240715.001602",
        n=1,
    )
    retry = one_doc(
        "SPPHLZNP6905_retry_20240715_0015_csv",
        '"07/15/2024","1","1","HB_NORTH","HU","12.34","N"\r\n',
        posted="20240715.002205",
        n=2,
    )
    for order in ([original, retry], [retry, original]):
        assert DATASET.parse(order).column("value").to_pylist() == [12.34]


def test_duplicate_row_inside_one_document_raises():
    raw = one_doc(
        "SPPHLZNP6905_20240715_0015_csv",
        '"07/15/2024","1","1","HB_NORTH","HU","10.00","N"\r\n' * 2,
        posted="20240715.001602",
    )
    with pytest.raises(PayloadError, match="in one document"):
        DATASET.parse([raw])


def test_fall_back_without_flags_raises_instead_of_merging():
    docs = raws(NAME, "np6905", FALL)
    broken = []
    for raw in docs:
        with zipfile.ZipFile(io.BytesIO(raw.content)) as inner:
            name = inner.namelist()[0]
            text = inner.read(name).decode().replace('"Y"', '"N"')
        broken.append(type(raw)(**{**_fields(raw), "content": zip_csv(name, text)}))
    with pytest.raises(PayloadError, match="two documents"):
        DATASET.parse(broken)


def _fields(raw) -> dict:
    return {f: getattr(raw, f) for f in raw.__dataclass_fields__}


def test_spring_forward_file_with_nonexistent_hour_raises():
    # A spring-forward day labelled 1, 2, 3, 4, ...: hour ending 03 starts at 02:00, which
    # the clock skips; read as the hour ending 03:00 CDT it collides with hour ending 02.
    docs = raws(NAME, "np6905", SPRING)
    extra = one_doc(
        "SPPHLZNP6905_20240310_0215_csv",
        '"03/10/2024","3","1","HB_NORTH","HU","31.00","N"\r\n',
        posted="20240310.031602",
        n=7,
    )
    with pytest.raises(PayloadError, match="HB_NORTH at 2024-03-10 07:00Z"):
        DATASET.parse([*docs, extra])


def test_spring_forward_labelled_by_its_end_is_read_as_that_hour():
    # Documented rule (timing.hour_ending_starts): ERCOT's 2015/2016 files labelled the
    # hour 01:00 CST-03:00 CDT "3"; alone, it is that hour, not an error.
    raw = one_doc(
        "SPPHLZNP6905_20240310_0315_csv",
        '"03/10/2024","3","1","HB_NORTH","HU","31.00","N"\r\n',
        posted="20240310.031602",
    )
    table = DATASET.parse([raw])
    assert table.column("interval_start").to_pylist() == [datetime(2024, 3, 10, 7, tzinfo=UTC)]


def test_unquoted_csv_parses_the_same():
    quoted = one_doc(
        "SPPHLZNP6905_20240715_0015_csv",
        '"07/15/2024","1","1","HB_NORTH","HU","-3.25","N"\r\n',
        posted="20240715.001602",
    )
    plain_text = HEADER.replace('"', "") + "07/15/2024,1,1,HB_NORTH,HU,-3.25,N\n"
    plain = type(quoted)(**{**_fields(quoted), "content": zip_csv("x.csv", plain_text)})
    assert DATASET.parse([quoted]).equals(DATASET.parse([plain]))


GOOD = '"07/15/2024","1","1","HB_NORTH","HU","10.00","N"\r\n'


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><title>Maintenance</title></html>", "HTML"),
        (zip_csv("a.csv", HEADER + GOOD)[:-30], "truncated or corrupt zip"),
        (
            zip_csv("a.csv", HEADER.replace(',"DSTFlag"', "") + GOOD.replace(',"N"', "")),
            "missing column.*DSTFlag",
        ),
        (
            zip_csv("a.csv", HEADER.replace("\r\n", ',"Extra"\r\n') + GOOD.replace("\r", ',"1"\r')),
            "unknown column.*Extra",
        ),
        (zip_csv("a.csv", HEADER + GOOD.replace('"N"', '"X"')), "DSTFlag must be Y or N"),
        (zip_csv("a.csv", HEADER + GOOD.replace('"N"', '"Y"')), "not a repeated hour"),
        (zip_csv("a.csv", HEADER + GOOD.replace("07/15/2024", "2024/15/07")), "dates"),
        (zip_csv("a.csv", HEADER + GOOD.replace('"1","1"', '"1","5"')), "DeliveryInterval"),
        (zip_csv("a.csv", HEADER + GOOD.replace('"1","1"', '"25","1"')), "DeliveryHour"),
        (zip_csv("a.csv", HEADER + GOOD.replace("10.00", "")), "price|bad values"),
        (zip_csv("a.csv", HEADER + GOOD.replace("10.00", "abc")), "bad values|unreadable"),
        (zip_csv("a.xml", "<xml/>"), "no .csv"),
    ],
)
def test_bad_payloads_raise_payload_error_naming_the_dataset(content, match):
    raw = one_doc("SPPHLZNP6905_20240715_0015_csv", GOOD, posted="20240715.001602")
    bad = type(raw)(**{**_fields(raw), "content": content})
    with pytest.raises(PayloadError, match=match) as info:
        DATASET.parse([bad])
    assert info.value.dataset == NAME


def test_no_documents_is_a_payload_error():
    with pytest.raises(PayloadError):
        DATASET.parse([])


def test_declarations():
    assert isinstance(DATASET, Np6905RtSpp)
    assert DATASET.produces == (("RT15", "SPP"),)
    assert DATASET.components == "none"
    assert DATASET.target == "prices"
    assert DATASET.raw_columns[0] == "DeliveryDate"
    assert pc.all(pc.is_valid(DATASET.parse(raws(NAME, "np6905", NORMAL)).column("value")))


def test_documents_with_different_headers_or_blank_lines_read_the_same():
    # one CSV read for documents sharing a header; mixed shapes are read one by one
    docs = raws(NAME, "np6905", NORMAL)
    expected = DATASET.parse(docs)
    mixed = []
    for n, raw in enumerate(docs):
        with zipfile.ZipFile(io.BytesIO(raw.content)) as inner:
            name = inner.namelist()[0]
            text = inner.read(name).decode()
        if n % 3 == 0:
            text = text.replace('"', "")
        elif n % 3 == 1:
            text = text.replace("\r\n", "\r\n\r\n", 2)
        mixed.append(type(raw)(**{**_fields(raw), "content": zip_csv(name, text)}))
    assert DATASET.parse(mixed).equals(expected)
