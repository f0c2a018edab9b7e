"""NP3-965-ER: 60-day SCED disclosure, generation resource telemetry; runs around the
2024-11-03 repeated hour, the declared wide header, bad payloads, gridstatus alike."""

from __future__ import annotations

import importlib.util
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pytest

from carbon254.connectors.ercot import sced_disclosure
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import RawResponse
from carbon254.connectors.registry import get_dataset
from carbon254.core.records import TELEMETRY_SCHEMA

FIXTURES = Path(__file__).parents[2] / "fixtures" / "ercot"
ZIP = FIXTURES / "sced60_disclosure_20241103_dst_end.zip"
NAME = sced_disclosure.NAME
_spec = importlib.util.spec_from_file_location("sced60_make", FIXTURES / "sced60_make.py")
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

# the six runs of the fixture, in UTC: 00:55 CDT, 01:00 and 01:30 CDT, 01:00 and 01:30 CST,
# 02:00 CST
RUNS_UTC = [
    datetime(2024, 11, 3, 5, 55, 13, tzinfo=UTC),
    datetime(2024, 11, 3, 6, 0, 12, tzinfo=UTC),
    datetime(2024, 11, 3, 6, 30, 14, tzinfo=UTC),
    datetime(2024, 11, 3, 7, 0, 15, tzinfo=UTC),
    datetime(2024, 11, 3, 7, 30, 13, tzinfo=UTC),
    datetime(2024, 11, 3, 8, 0, 11, tzinfo=UTC),
]


def raw_of(content: bytes, *, url: str = "mis://sced60", meta=None) -> RawResponse:
    return RawResponse(NAME, url, datetime.now(UTC), content, "application/zip", 200, meta or {})


def zipped(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def gen_only(text: bytes | str) -> bytes:
    return zipped({f"60d_SCED_Gen_Resource_Data-{make.POSTED}.csv": text})


def test_fixture_gives_every_resource_at_every_run_around_the_repeated_hour():
    table = sced_disclosure.parse_sced_disclosure(NAME, [raw_of(ZIP.read_bytes())])
    assert table.schema.names == TELEMETRY_SCHEMA.names
    assert table.num_rows == 3 * 6
    for resource, (name, kind, _, _, hsl, lsl, status) in enumerate(make.RESOURCES):
        rows = table.filter(pc.equal(table["resource"], name)).to_pylist()
        assert [r["interval_start"] for r in rows] == RUNS_UTC  # file order, distinct passes
        for run, row in enumerate(rows):
            assert row["dataset"] == NAME and row["iso"] == "ERCOT"
            assert row["resource_type"] == kind
            assert row["status"] == status
            assert row["hsl"] == hsl and row["lsl"] == lsl
            assert row["base_point"] == make.base_point(resource, run)
            assert row["telemetered_output"] == make.output(resource, run)


def test_values_match_the_csv_text():
    table = sced_disclosure.parse_sced_disclosure(NAME, [raw_of(ZIP.read_bytes())])
    text = make.gen_csv().decode()
    assert '"CHARLIE_ESR1","PWRSTR"' in text
    row = table.filter(
        pc.and_(
            pc.equal(table["resource"], "CHARLIE_ESR1"),
            pc.equal(table["interval_start"], RUNS_UTC[3]),
        )
    ).to_pylist()[0]
    assert f'"{row["base_point"]:g}","{row["telemetered_output"]:g}"' in text
    assert (row["base_point"], row["telemetered_output"], row["lsl"]) == (130.25, 128.75, -100.0)


def test_declared_header_is_the_188_column_2024_file_and_rtcb_columns_are_known():
    known = set(sced_disclosure.REQUIRED_COLUMNS) | set(sced_disclosure.OPTIONAL_COLUMNS)
    assert {c.strip() for c in make.GEN_HEADER} <= known
    assert len(make.GEN_HEADER) == 188
    # an RTC+B-era file with ramp rates and AS capabilities/awards is read too
    header = [*make.GEN_HEADER, "Ramp Rate Up", "Ramp Rate Down", "AS Awards REGUP"]
    rows = [header, [*make.gen_row(0, 0), "5", "5", "0"]]
    table = sced_disclosure.parse_sced_disclosure(NAME, [raw_of(gen_only(make.quoted(rows)))])
    assert table.num_rows == 1


def test_later_document_restates_a_resource_run():
    original = make.gen_csv()
    restated = original.replace(b'"50.25","48.75"', b'"51","49"')
    assert restated != original
    raws = [
        raw_of(gen_only(restated), meta={"posted_utc": "2025-01-03T10:00:00+00:00"}),
        raw_of(gen_only(original), meta={"posted_utc": "2025-01-02T10:00:00+00:00"}),
    ]
    table = sced_disclosure.parse_sced_disclosure(NAME, raws)
    assert table.num_rows == 18
    assert 51.0 in table["base_point"].to_pylist()
    assert 50.25 not in table["base_point"].to_pylist()


def header_variant(old: str, new: str) -> bytes:
    return gen_only(make.gen_csv().replace(old.encode(), new.encode(), 1))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty response body"),
        (b"<!doctype html><title>Service Unavailable</title>", "HTML page"),
        (ZIP.read_bytes()[:200], "truncated or corrupt zip"),
        (zipped({"60d_Load_Resource_Data_in_SCED-02-JAN-25.csv": "a\n1\n"}), "no 60d_SCED_Gen"),
        (header_variant('"Proxy Extension"', '"Proxy Extension2"'), "unknown column.*Extension2"),
        (header_variant('"Base Point",', ""), "missing column.*Base Point"),
        (header_variant("11/03/2024 00:55:13", "11/03/2024 0055"), "unparseable SCED"),
        (header_variant('"11/03/2024 01:00:12","N"', '"11/03/2024 01:00:12","?"'), "Y or N"),
        (
            header_variant('"11/03/2024 02:00:11","N"', '"11/03/2024 02:00:11","Y"'),
            "not a repeated",
        ),
        (gen_only(b""), "empty CSV"),
    ],
)
def test_bad_payloads(content, message):
    with pytest.raises(PayloadError, match=message) as info:
        sced_disclosure.parse_sced_disclosure(NAME, [raw_of(content)])
    assert info.value.dataset == NAME


def test_duplicate_resource_run_in_one_file_fails_validation():
    text = make.gen_csv()
    lines = text.split(b"\r\n")
    doubled = b"\r\n".join([*lines[:2], lines[1], *lines[2:]])
    with pytest.raises(Exception, match="duplicate"):
        sced_disclosure.parse_sced_disclosure(NAME, [raw_of(gen_only(doubled))])


def test_header_only_and_registration():
    header = make.quoted([make.GEN_HEADER])
    assert sced_disclosure.parse_sced_disclosure(NAME, [raw_of(gen_only(header))]).num_rows == 0
    dataset = get_dataset(NAME)
    assert isinstance(dataset, sced_disclosure.Np3965ScedDisclosure)
    assert dataset.target == "telemetry"


def test_gridstatus_reads_the_same_runs(monkeypatch):
    gridstatus = pytest.importorskip("gridstatus")
    with zipfile.ZipFile(ZIP) as archive:
        theirs = gridstatus.Ercot()._handle_60_day_sced_disclosure(archive, process=False)
    gen = theirs["sced_gen_resource"]
    gen.columns = [c.strip() for c in gen.columns]
    ours = sced_disclosure.parse_sced_disclosure(NAME, [raw_of(ZIP.read_bytes())]).to_pandas()
    assert len(gen) == len(ours)
    gen = gen.assign(start=gen["SCED Timestamp"].dt.tz_convert("UTC"))
    merged = ours.merge(
        gen, left_on=["resource", "interval_start"], right_on=["Resource Name", "start"]
    )
    assert len(merged) == len(ours)
    assert (merged["base_point"] == merged["Base Point"]).all()
    assert (merged["telemetered_output"] == merged["Telemetered Net Output"]).all()
    assert (merged["hsl"] == merged["HSL"]).all() and (merged["lsl"] == merged["LSL"]).all()
    assert (merged["status"] == merged["Telemetered Resource Status"]).all()
    assert sorted(pd.unique(merged["interval_start"])) == RUNS_UTC
