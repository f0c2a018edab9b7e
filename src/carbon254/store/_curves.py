"""Forward-curve marks: users' own prices per (curve, month, peak), versioned like prices.

An upload that changes anything is one version: a row of `curve_mark_versions` (ids in
commit order, `committed_at` never earlier than the previous one) plus the mark rows it
wrote. A changed (month, peak) supersedes the current row instead of deleting it, so the
marks held at any past instant can be read back; an upload that changes nothing writes
nothing and answers with the version that already holds those marks.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from ..core import InstrumentId, InvalidInstrumentId
from ..core.schema import UTC_TS
from ._backend import SqlBackend
from ._sql import as_utc, now_utc, quote
from .base import InvalidArgument, MarkResult

__all__ = ["CURVE_CATALOGUE_SCHEMA", "CURVE_MARKS_SCHEMA", "SqlCurves"]

_INPUT = pa.schema([("month", pa.date32()), ("peak", pa.string()), ("price", pa.float64())])
CURVE_MARKS_SCHEMA = pa.schema(
    [
        pa.field("curve", pa.string(), nullable=False),
        pa.field("month", pa.date32(), nullable=False),
        pa.field("peak", pa.string(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("committed_at", UTC_TS, nullable=False),
        pa.field("superseded_by", pa.int64()),  # null while current (at as_of)
        pa.field("superseded_at", UTC_TS),
    ]
)
CURVE_CATALOGUE_SCHEMA = pa.schema(
    [
        pa.field("instrument", pa.string(), nullable=False),
        pa.field("iso", pa.string(), nullable=False),
        pa.field("market", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("location", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("hub", pa.bool_(), nullable=False),
        pa.field("first_interval", UTC_TS),
        pa.field("last_interval", UTC_TS),
        pa.field("marks", pa.int64(), nullable=False),  # current marks
        pa.field("marks_committed_at", UTC_TS),  # when the latest of them was committed
    ]
)
_KNOWN = pa.schema(
    [
        f if f.name != "hub" else pa.field("hub", pa.int32())
        for f in CURVE_CATALOGUE_SCHEMA
        if f.name not in ("marks", "marks_committed_at")
    ]
)
_MARKED = pa.schema([("curve", pa.string()), ("marks", pa.int64()), ("at", UTC_TS)])
_CURRENT = pa.schema(
    [
        ("month", pa.date32()),
        ("peak", pa.string()),
        ("price", pa.float64()),
        ("version", pa.int64()),
    ]
)


def _curve_id(curve: str) -> str:
    try:
        return str(InstrumentId.parse(curve))
    except InvalidInstrumentId as exc:
        raise InvalidArgument(str(exc)) from None


def _check(marks: pa.Table) -> pa.Table:
    """The marks as `_INPUT`, or `InvalidArgument` saying what is wrong."""
    if not isinstance(marks, pa.Table):
        raise TypeError(f"expected a pyarrow Table, got {type(marks).__name__}")
    missing = [n for n in _INPUT.names if n not in marks.column_names]
    if missing:
        raise InvalidArgument(f"marks need columns month, peak, price; missing {missing}")
    try:
        table = pa.table(
            [marks[n].cast(f.type) for n, f in zip(_INPUT.names, _INPUT, strict=True)],
            schema=_INPUT,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidArgument(f"marks: {exc}") from None
    if table.num_rows == 0:
        raise InvalidArgument("marks must hold at least one row")
    if any(table[n].null_count for n in _INPUT.names):
        raise InvalidArgument("marks may not hold nulls")
    if any(d.day != 1 for d in table["month"].to_pylist()):
        raise InvalidArgument("marks: month must be the first day of the month")
    if not pc.all(pc.is_in(table["peak"], pa.array(["on", "off"]))).as_py():
        raise InvalidArgument("marks: peak must be 'on' or 'off'")
    if not all(math.isfinite(p) for p in table["price"].to_pylist()):
        raise InvalidArgument("marks: price must be finite")
    if table.group_by(["month", "peak"]).aggregate([]).num_rows != table.num_rows:
        raise InvalidArgument("marks: a (month, peak) appears twice")
    return table.sort_by([("month", "ascending"), ("peak", "ascending")])


def _sha256(table: pa.Table) -> str:
    digest = hashlib.sha256()
    for month, peak, price in zip(*(table[n].to_pylist() for n in _INPUT.names), strict=True):
        digest.update(f"{month.isoformat()}|{peak}|{price!r}\n".encode())
    return digest.hexdigest()


class SqlCurves(SqlBackend):
    def upsert_curve_marks(
        self, curve: str, marks: pa.Table, *, source: str, uploaded_by: str | None = None
    ) -> MarkResult:
        curve = _curve_id(curve)
        if not source or not isinstance(source, str):
            raise InvalidArgument("source is required: say whose marks these are")
        table = _check(marks)
        sha = _sha256(table)
        with self._writing():
            self._begin()
            try:
                result = self._write_marks(curve, table, source, uploaded_by, sha)
            except BaseException:
                self._rollback()
                raise
        return result

    def _write_marks(
        self, curve: str, table: pa.Table, source: str, uploaded_by: str | None, sha: str
    ) -> MarkResult:
        current = self._fetch(
            "SELECT month, peak, price, version FROM curve_marks "
            f"WHERE curve = {quote(curve)} AND superseded_by IS NULL",
            _CURRENT,
        ).to_pylist()
        held = {(r["month"], r["peak"]): r for r in current}
        new, changed, same = [], [], []
        for row in table.to_pylist():
            old = held.get((row["month"], row["peak"]))
            (new if old is None else same if old["price"] == row["price"] else changed).append(row)
        if not (new or changed):  # nothing to write: answer with the version holding them
            self._rollback()
            version = max(held[(r["month"], r["peak"])]["version"] for r in same)
            return MarkResult(
                curve, version, self._committed_at(version), len(same), 0, 0, len(same)
            )
        last = self._scalar("SELECT coalesce(max(version), 0) FROM curve_mark_versions")
        version = int(last) + 1  # type: ignore[arg-type]
        committed = self._commit_time()
        by = "NULL" if uploaded_by is None else quote(uploaded_by, "uploaded_by")
        self._execute(
            "INSERT INTO curve_mark_versions (version, curve, source, uploaded_by, "
            "content_sha256, rows_received, rows_inserted, rows_superseded, rows_unchanged, "
            f"committed_at) VALUES ({version}, {quote(curve)}, {quote(source, 'source')}, {by}, "
            f"'{sha}', {table.num_rows}, {len(new)}, {len(changed)}, {len(same)}, "
            f"{self._literal(committed)})"
        )
        writes = pa.Table.from_pylist(new + changed, schema=_INPUT)
        self._put_relation("_marks", writes)
        if changed:
            self._execute(
                f"UPDATE curve_marks SET superseded_by = {version} WHERE curve = {quote(curve)} "
                "AND superseded_by IS NULL AND EXISTS (SELECT 1 FROM _marks s "
                "WHERE s.month = curve_marks.month AND s.peak = curve_marks.peak)"
            )
        self._execute(
            "INSERT INTO curve_marks (curve, month, peak, price, version, superseded_by) "
            f"SELECT {quote(curve)}, month, peak, price, {version}, NULL FROM _marks"
        )
        self._drop_relation("_marks")
        self._commit()
        return MarkResult(
            curve, version, committed, table.num_rows, len(new), len(changed), len(same)
        )

    def _commit_time(self) -> datetime:
        """Now, but never earlier than the previous version's commit (clocks step back)."""
        now = now_utc()
        last = self._scalar("SELECT max(committed_at) FROM curve_mark_versions")
        if isinstance(last, datetime):
            last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
            return max(now, last + timedelta(microseconds=1))
        return now

    def _committed_at(self, version: int) -> datetime:
        table = self._fetch(
            f"SELECT {self._ts_out('committed_at')} AS t FROM curve_mark_versions "
            f"WHERE version = {int(version)}",
            pa.schema([("t", UTC_TS)]),
        )
        return table["t"][0].as_py().astimezone(UTC)

    def read_curve_marks(
        self, curve: str, *, as_of: datetime | None = None, revisions: bool = False
    ) -> pa.Table:
        curve = _curve_id(curve)
        horizon = None
        if as_of is not None:
            as_of = as_utc(as_of, "as_of")
            if as_of > now_utc():
                raise InvalidArgument(f"as_of {as_of.isoformat()} is in the future")
            horizon = int(
                self._scalar(
                    "SELECT coalesce(max(version), 0) FROM curve_mark_versions "
                    f"WHERE committed_at <= {self._literal(as_of)}"
                )  # type: ignore[arg-type]
            )
        where = [f"m.curve = {quote(curve)}"]
        superseded = "m.superseded_by"
        if horizon is not None:
            where.append(f"m.version <= {horizon}")
            superseded = f"CASE WHEN m.superseded_by <= {horizon} THEN m.superseded_by END"
        if not revisions:
            where.append(f"({superseded}) IS NULL")
        ts = self._ts_out
        sql = (
            f"SELECT m.curve, m.month, m.peak, m.price, m.version, v.source, "
            f"{ts('v.committed_at')} AS committed_at, {superseded} AS superseded_by, "
            f"CASE WHEN ({superseded}) IS NULL THEN NULL ELSE {ts('s.committed_at')} END "
            "AS superseded_at FROM curve_marks m "
            "JOIN curve_mark_versions v ON v.version = m.version "
            "LEFT JOIN curve_mark_versions s ON s.version = m.superseded_by "
            f"WHERE {' AND '.join(where)} ORDER BY m.month, m.peak DESC, m.version"
        )
        return self._fetch(sql, CURVE_MARKS_SCHEMA)

    def curve_catalogue(self, instruments: Sequence[str] | None = None) -> pa.Table:
        ids = None if instruments is None else sorted({_curve_id(i) for i in instruments})
        if ids == []:
            return CURVE_CATALOGUE_SCHEMA.empty_table()
        listed = "" if ids is None else ", ".join(quote(i) for i in ids)
        ts = self._ts_out
        is_hub = (
            "EXISTS (SELECT 1 FROM locations l WHERE l.iso = i.iso AND l.location = i.location "
            "AND l.location_type = 'HUB')"
        )
        marked = self._fetch(
            f"SELECT m.curve, count(*) AS marks, {ts('max(v.committed_at)')} AS at "
            "FROM curve_marks m JOIN curve_mark_versions v ON v.version = m.version "
            "WHERE m.superseded_by IS NULL"
            + ("" if ids is None else f" AND m.curve IN ({listed})")
            + " GROUP BY m.curve",
            _MARKED,
        )
        if ids is None:
            where = f"{is_hub} OR i.instrument IN (SELECT curve FROM curve_marks)"
        else:
            where = f"i.instrument IN ({listed})"
        known = self._fetch(
            "SELECT i.instrument, i.iso, i.market, i.product, i.location, "
            "(SELECT l.name FROM locations l WHERE l.iso = i.iso AND l.location = i.location "
            "ORDER BY l.effective_date DESC LIMIT 1) AS name, "
            f"CASE WHEN {is_hub} THEN 1 ELSE 0 END AS hub, "
            f"{ts('i.first_interval')} AS first_interval, "
            f"{ts('i.last_interval')} AS last_interval FROM instruments i WHERE {where}",
            _KNOWN,
        )
        return _catalogue(known, marked)


def _catalogue(known: pa.Table, marked: pa.Table) -> pa.Table:
    """One row per instrument: the known ones, then marked curves the store never priced."""
    rows = {
        r["instrument"]: {**r, "hub": bool(r["hub"]), "marks": 0, "marks_committed_at": None}
        for r in known.to_pylist()
    }
    for r in marked.to_pylist():
        if r["curve"] not in rows:
            iid = InstrumentId.parse(r["curve"])
            rows[r["curve"]] = {
                "instrument": r["curve"],
                "iso": iid.iso.value,
                "market": iid.market.value,
                "product": iid.product.value,
                "location": iid.location,
                "name": None,
                "hub": False,
                "first_interval": None,
                "last_interval": None,
            }
        rows[r["curve"]].update(marks=r["marks"], marks_committed_at=r["at"])
    return pa.Table.from_pylist([rows[k] for k in sorted(rows)], schema=CURVE_CATALOGUE_SCHEMA)
