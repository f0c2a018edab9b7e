"""ERCOT NP3-965-ER: the 60-day SCED disclosure, generation resource telemetry.

One zip per operating day, posted 60 days later (RTID 13052), holding a dozen CSVs; this
dataset reads `60d_SCED_Gen_Resource_Data-<DD-MON-YY>.csv` and writes, per resource and
SCED run, the base point, telemetered net output, HSL, LSL and telemetered status
(`TELEMETRY_SCHEMA`). The other members (load resources, SMNE, ESR, ...) belong to other
datasets and are not read.

`SCED Time Stamp` is local prevailing time with `Repeated Hour Flag`; the run time itself
is stored (UTC), not floored, because SCED runs are not on a fixed grid.

The file is wide (188 columns in 2024: 35-point SCED1/SCED2 offer curves, the 10-point
submitted three-part offer, AS responsibilities, start-up costs; RTC+B added ramp rates
and AS capabilities and awards). Only nine columns are stored, but every column the
report is known to carry is declared, and any other column still fails: a renamed or new
column is how a silent change of meaning gets in, while declared-but-unused columns
cost nothing (only the stored nine are parsed).
"""

from __future__ import annotations

import csv
import io
import posixpath
import zipfile
import zlib
from collections.abc import Sequence
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ...core.markets import Iso
from ...core.records import TELEMETRY_SCHEMA, validate_telemetry
from ..dataset import (
    Chunking,
    Components,
    RevisionPolicy,
    Target,
    TimeRule,
)
from ..errors import PayloadError
from ..http import RawResponse
from ..payload import check_columns, check_payload
from ..registry import register
from .timing import last_run_rows, repeated_flags, sced_instants
from .transport import (
    ErcotReport,
    ReportSpec,
    Stamp,
    documents_in_order,
)

__all__ = [
    "GEN_RESOURCE_MEMBER",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Np3965ScedDisclosure",
    "parse_gen_resource_csv",
    "parse_sced_disclosure",
]

NAME = "ercot.np3-965-er"
GEN_RESOURCE_MEMBER = "60d_SCED_Gen_Resource_Data"

# stored column -> upstream column
_STORED = {
    "resource": "Resource Name",
    "resource_type": "Resource Type",
    "status": "Telemetered Resource Status",
    "base_point": "Base Point",
    "telemetered_output": "Telemetered Net Output",
    "hsl": "HSL",
    "lsl": "LSL",
}
_TIME = ("SCED Time Stamp", "Repeated Hour Flag")
REQUIRED_COLUMNS = (*_TIME, *_STORED.values())
_TEXT = (*_TIME, "Resource Name", "Resource Type", "Telemetered Resource Status")


def _curve(name: str, points: int) -> tuple[str, ...]:
    return tuple(f"{name}-{part}{i}" for i in range(1, points + 1) for part in ("MW", "Price"))


OPTIONAL_COLUMNS = (
    "QSE",
    "DME",
    *_curve("SCED1 Curve", 35),
    *_curve("SCED2 Curve", 35),
    "Output Schedule",
    "HASL",
    "HDL",
    "LASL",
    "LDL",
    "Ancillary Service REGUP",
    "Ancillary Service REGDN",
    "Ancillary Service RRS",
    "Ancillary Service RRSFFR",
    "Ancillary Service NSRS",
    "Ancillary Service ECRS",  # from ECRS launch (June 2023)
    "Bid_Type",
    "Start Up Cold Offer",
    "Start Up Hot Offer",
    "Start Up Inter Offer",
    "Min Gen Cost",
    *_curve("Submitted TPO", 10),
    "Proxy Extension",
    # from RTC+B go-live (2025-12-05)
    "Ramp Rate Up",
    "Ramp Rate Down",
    "AS Capability REGUP",
    "AS Capability REGDN",
    "AS Capability ECRS",
    "AS Capability NSPIN",
    "AS Capability RRSPF",
    "AS Capability RRSFF",
    "AS Awards NSPIN",
    "AS Awards RRSFFR",
    "AS Awards RRSPFR",
    "AS Awards RRSUFR",
    "AS Awards ECRS",
    "AS Awards REGUP",
    "AS Awards REGDN",
)


def _header(dataset: str, content: bytes, where: str) -> list[str]:
    end = content.find(b"\n")
    line = content[: end if end >= 0 else len(content)].decode("utf-8-sig", "replace").rstrip("\r")
    try:
        return next(csv.reader([line]))
    except (csv.Error, StopIteration):
        raise PayloadError(dataset, f"no CSV header in {where}") from None


def parse_gen_resource_csv(dataset: str, content: bytes, *, where: str) -> pa.Table:
    """`TELEMETRY_SCHEMA` rows of one `60d_SCED_Gen_Resource_Data` CSV (unvalidated)."""
    if not content[:4096].strip():  # (a blank head means no header: never a data file)
        raise PayloadError(dataset, f"empty CSV in {where}")
    header = _header(dataset, content, where)
    names = [name.strip() for name in header]  # "Telemetered Net Output " has a trailing space
    check_columns(dataset, names, REQUIRED_COLUMNS, OPTIONAL_COLUMNS, where=where)
    if len(set(names)) != len(names):
        raise PayloadError(dataset, f"repeated column name in {where}")
    raw_name = dict(zip(names, header, strict=True))
    wanted = [raw_name[name] for name in REQUIRED_COLUMNS]
    try:
        table = pacsv.read_csv(
            io.BytesIO(content),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted,
                column_types={raw_name[n]: pa.string() for n in _TEXT}
                | {raw_name[n]: pa.float64() for n in ("Base Point", "Telemetered Net Output")}
                | {raw_name[n]: pa.float64() for n in ("HSL", "LSL")},
                strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise PayloadError(dataset, f"unreadable CSV in {where}: {exc}") from None
    table = table.rename_columns([name.strip() for name in table.column_names])
    if table.num_rows == 0:
        return TELEMETRY_SCHEMA.empty_table()
    resource = table.column("Resource Name")
    if resource.null_count:
        raise PayloadError(dataset, f"row without Resource Name in {where}")
    repeated = repeated_flags(dataset, table.column(_TIME[1]), column=_TIME[1])
    runs = sced_instants(dataset, table.column(_TIME[0]), repeated)
    n = table.num_rows
    columns = {
        "dataset": pa.array(np.full(n, dataset, dtype=object), type=pa.string()),
        "iso": pa.array(np.full(n, str(Iso.ERCOT), dtype=object), type=pa.string()),
        "interval_start": runs,
    }
    for stored, upstream in _STORED.items():
        columns[stored] = table.column(upstream)
    return pa.table({field.name: columns[field.name] for field in TELEMETRY_SCHEMA})


def _gen_members(dataset: str, raw: RawResponse) -> list[tuple[str, bytes]]:
    """The generation-resource CSV(s) of one disclosure zip, read without inflating the
    other (large) members; nested zips (archive bundles) are opened."""
    body = check_payload(raw)
    found: list[tuple[str, bytes]] = []

    def walk(data: bytes, depth: int) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                base = posixpath.basename(info.filename.replace("\\", "/"))
                if base.lower().endswith(".zip") and depth < 2:
                    walk(archive.read(info), depth + 1)
                elif base.replace(" ", "_").startswith(
                    GEN_RESOURCE_MEMBER
                ) and base.lower().endswith(".csv"):
                    found.append((base, archive.read(info)))

    try:
        walk(body, 0)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise PayloadError(dataset, f"truncated or corrupt zip from {raw.url}: {exc}") from None
    if not found:
        raise PayloadError(dataset, f"no {GEN_RESOURCE_MEMBER} CSV in the zip from {raw.url}")
    return found


def parse_sced_disclosure(dataset: str, raws: Sequence[RawResponse]) -> pa.Table:
    """Validated `TELEMETRY_SCHEMA` rows of every disclosure zip in `raws`; a resource's
    run restated by a later document replaces the earlier one."""
    tables = [
        parse_gen_resource_csv(dataset, content, where=f"{member} from {raw.url}")
        for raw in documents_in_order(raws)
        for member, content in _gen_members(dataset, raw)
    ]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return TELEMETRY_SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    if len(tables) > 1:
        codes = table.column("resource").combine_chunks().dictionary_encode().indices
        runs = table.column("interval_start").cast(pa.int64()).to_numpy()
        document = np.repeat(np.arange(len(tables)), [t.num_rows for t in tables])
        table = table.take(pa.array(last_run_rows([codes.to_numpy(), runs], document)))
    return validate_telemetry(table)


SPEC = ReportSpec(
    emil="NP3-965-ER",
    report_type_id=13052,
    stamp=Stamp.POSTED,
    post_from=timedelta(days=60),  # operating day D is disclosed on D+60
    post_to=timedelta(days=60),
)


@register
class Np3965ScedDisclosure(ErcotReport):
    name = NAME
    spec = SPEC
    description = "60-day SCED disclosure: generation resource base point, output, HSL, LSL"
    target = Target.TELEMETRY
    # Posted 60 days after the operating day; MIS keeps it about a week after that.
    chunking = Chunking(max_days=1, archive_after=timedelta(days=67))
    raw_columns = REQUIRED_COLUMNS
    time_rule = TimeRule.LOCAL_DST_FLAG
    components = Components.NONE
    revisions = RevisionPolicy.LATEST_WINS

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        return parse_sced_disclosure(self.name, raws)
