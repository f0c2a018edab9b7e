"""The SQL store: the shared writes and reads over a backend's primitives.

A backend (DuckDB, PostgreSQL) supplies a handful of primitives (run SQL, fetch Arrow,
put an Arrow table in front of SQL as a relation, begin/commit/rollback, key allocation)
and its physical layout; everything with meaning — what a revision is, what `as_of`
returns, how a market day is bucketed — lives once in `_writes` (with `_lineage`),
`_records`, `_jobs`, `_quality`, `_directory`, `_reads` and `_inventory`.
"""

from __future__ import annotations

from ._apikeys import SqlApiKeys
from ._curves import SqlCurves
from ._directory import SqlDirectory
from ._inventory import SqlInventory
from ._jobs import SqlJobs
from ._quality import SqlQuality
from ._reads import SqlReads
from ._records import SqlRecords
from ._writes import SqlWrites

__all__ = ["SqlStore"]


class SqlStore(
    SqlWrites,
    SqlRecords,
    SqlJobs,
    SqlQuality,
    SqlDirectory,
    SqlReads,
    SqlInventory,
    SqlApiKeys,
    SqlCurves,
):
    """A complete `PriceStore` once a backend fills in the primitives."""
