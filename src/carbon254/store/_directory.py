"""Writes to the location directory: versions keyed by (iso, location, effective_date)."""

from __future__ import annotations

import pyarrow as pa

from ..core import check_no_overlap, validate_locations
from ..core.schema import LOCATION_SCHEMA
from ._backend import SqlBackend
from ._sql import now_utc
from .base import LocationResult


class SqlDirectory(SqlBackend):
    def upsert_locations(self, table: pa.Table) -> LocationResult:
        table = validate_locations(table)
        key = "l.iso = s.iso AND l.location = s.location AND l.effective_date = s.effective_date"
        differs = " OR ".join(
            f"l.{c} IS DISTINCT FROM s.{c}"
            for c in ("name", "location_type", "zone", "termination_date")
        )
        now = self._literal(now_utc())
        with self._writing():
            self._begin()
            try:
                self._put_relation("_loc", table)
                updated = int(
                    self._scalar(
                        f"SELECT count(*) FROM _loc s JOIN locations l ON {key} WHERE {differs}"
                    )
                )  # type: ignore[arg-type]
                existing = int(
                    self._scalar(f"SELECT count(*) FROM _loc s JOIN locations l ON {key}")
                )  # type: ignore[arg-type]
                self._execute(
                    "UPDATE locations SET name = s.name, location_type = s.location_type, "
                    f"zone = s.zone, termination_date = s.termination_date, updated_at = {now} "
                    f"FROM _loc s WHERE {key.replace('l.', 'locations.')} "
                    f"AND ({differs.replace('l.', 'locations.')})"
                )
                self._execute(
                    "INSERT INTO locations SELECT s.iso, s.location, s.name, s.location_type, "
                    f"s.zone, s.effective_date, s.termination_date, {now} FROM _loc s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM locations l WHERE {key})"
                )
                # Versions already stored plus these must still not overlap.
                touched = self._fetch(
                    "SELECT l.iso, l.location, l.name, l.location_type, l.zone, "
                    "l.effective_date, l.termination_date FROM locations l WHERE EXISTS "
                    "(SELECT 1 FROM _loc s WHERE s.iso = l.iso AND s.location = l.location)",
                    LOCATION_SCHEMA,
                )
                check_no_overlap(touched)
                self._drop_relation("_loc")
                self._commit()
            except BaseException:
                self._rollback()
                raise
        return LocationResult(table.num_rows - existing, updated, existing - updated)
