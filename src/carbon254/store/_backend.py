"""What both SQL backends share: the primitives each provides, migrations, the key cache.

A backend supplies a handful of primitives (run SQL, fetch Arrow, put an Arrow table in
front of SQL as a relation, begin/commit/rollback, key allocation) and its physical
layout; everything with meaning — what a revision is, what `as_of` returns, how a day is
bucketed — lives here once.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from importlib import resources

import numpy as np
import pyarrow as pa

from ..core import InstrumentId, Iso
from ._sql import now_utc
from .base import (
    InstrumentsArg,
    PriceStore,
    StoreError,
    UnknownInstrument,
)


class SqlBackend(PriceStore):
    dialect: str
    stage_timestamp: pa.DataType
    cluster_order: Callable[[np.ndarray, np.ndarray], np.ndarray | None]

    def __init__(self) -> None:
        self._write_lock = threading.RLock()
        self._writer: int | None = None  # thread id holding the write lock
        self._keys: dict[str, int] = {}
        self._isos: dict[int, Iso] = {}

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the write lock; reads on this thread then use the write connection."""
        with self._write_lock:
            outer = self._writer
            self._writer = threading.get_ident()
            try:
                yield
            finally:
                self._writer = outer

    def _in_write(self) -> bool:
        return self._writer == threading.get_ident()

    # -- primitives a backend provides ------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str) -> None:
        """Run SQL on the write connection (inside the current transaction)."""

    @abstractmethod
    def _scalar(self, sql: str) -> object: ...

    @abstractmethod
    def _fetch(self, sql: str, schema: pa.Schema) -> pa.Table:
        """Run a read query; return it as Arrow with `schema`'s names and types."""

    @abstractmethod
    def _put_relation(self, name: str, table: pa.Table) -> None:
        """Make `table` queryable as `name` inside the current transaction."""

    @abstractmethod
    def _drop_relation(self, name: str) -> None: ...

    @abstractmethod
    def _autocommit(self, sql: str) -> list[tuple]:
        """Run one statement in a transaction of its own, outside any batch, and return
        its rows (use RETURNING). For job-run bookkeeping: it must commit at once, and
        must not wait behind (or be rolled back with) a long price batch."""

    @abstractmethod
    def _insert_new_prices(self, stage: pa.Table, batch_id: int) -> None:
        """Append staged rows that are known not to exist yet (the fast path)."""

    @abstractmethod
    def _create_instruments(self, ids: list[InstrumentId]) -> dict[str, int]: ...

    @abstractmethod
    def _next_batch_id(self) -> int: ...

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _rollback(self) -> None: ...

    @abstractmethod
    def _literal(self, value: datetime) -> str:
        """A UTC timestamp literal in this dialect."""

    @abstractmethod
    def _bucket_15min(self, column: str) -> str: ...

    def _before_merge(self, days: list[date]) -> None:
        """Hook: e.g. create the partitions for the UTC days the chunk lands in."""

    def _ts_out(self, column: str) -> str:
        """Hook: how a timestamp column leaves SQL on its way to `_fetch`."""
        return column

    # -- migrations ----------------------------------------------------------------------
    def _migrations(self) -> list[tuple[int, str, str]]:
        folder = resources.files("carbon254.store") / "migrations" / self.dialect
        found = []
        for entry in folder.iterdir():
            if entry.name.endswith(".sql"):
                version = int(entry.name.split("_", 1)[0])
                found.append((version, entry.name, entry.read_text()))
        return sorted(found)

    def _applied_versions(self) -> set[int]:
        self._execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        table = self._fetch(
            "SELECT version FROM schema_migrations", pa.schema([("version", pa.int64())])
        )
        return set(table.column("version").to_pylist())

    def migrate(self, target: int | None = None) -> list[int]:
        with self._writing():
            applied = self._applied_versions()
            done = []
            for version, name, script in self._migrations():
                if version in applied or (target is not None and version > target):
                    continue
                self._begin()
                try:
                    self._execute(script)
                    self._execute(
                        "INSERT INTO schema_migrations VALUES "
                        f"({version}, '{name}', {self._literal(now_utc())})"
                    )
                    self._commit()
                except BaseException:
                    self._rollback()
                    raise
                done.append(version)
            self._load_instrument_cache()
            return done

    def schema_version(self) -> int:
        # Probes call this beside ingestion: a plain read on this thread's reader, never
        # a statement on the write connection (which may be inside, or stuck in, a batch).
        exists = self._scalar(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_name = 'schema_migrations' AND table_schema = current_schema()"
        )
        if not exists:
            return 0
        return int(self._scalar("SELECT coalesce(max(version), 0) FROM schema_migrations"))  # type: ignore[arg-type]

    def latest_schema_version(self) -> int:
        return max((v for v, _, _ in self._migrations()), default=0)

    def check_schema(self) -> None:
        current = self.schema_version()
        latest = self.latest_schema_version()
        if current > latest:
            raise StoreError(
                f"store schema version {current} is newer than this carbon254 ({latest})"
            )
        if current < latest:
            raise StoreError(
                f"store schema version {current} is behind {latest}: run `carbon254 db init`"
            )
        self._load_instrument_cache()

    def _catalogue(self) -> tuple[dict[str, int], dict[int, Iso]]:
        """The instruments table as (id -> key, key -> ISO), as this connection sees it."""
        table = self._fetch(
            "SELECT instrument_key, instrument, iso FROM instruments",
            pa.schema(
                [("instrument_key", pa.int64()), ("instrument", pa.string()), ("iso", pa.string())]
            ),
        )
        rows = table.to_pydict()
        keys = dict(zip(rows["instrument"], rows["instrument_key"], strict=True))
        isos = {k: Iso(i) for k, i in zip(rows["instrument_key"], rows["iso"], strict=True)}
        return keys, isos

    def _load_instrument_cache(self) -> None:
        """Refresh the committed catalogue. Never call inside a write transaction: the
        cache must only ever hold instruments that are committed."""
        self._keys, self._isos = self._catalogue()

    @abstractmethod
    def _cluster_sql(self, alias: str) -> str:
        """ORDER BY expression list giving the backend's physical order."""

    # -- instrument keys --------------------------------------------------------------
    def _keys_for(self, instruments: InstrumentsArg) -> list[int] | None:
        if instruments is None:
            return None
        ids = [str(InstrumentId.coerce(i)) for i in instruments]
        unknown = [i for i in ids if i not in self._keys]
        if unknown:
            self._load_instrument_cache()
            unknown = [i for i in ids if i not in self._keys]
            if unknown:
                raise UnknownInstrument(unknown)
        return sorted({self._keys[i] for i in ids})

    @staticmethod
    def _key_filter(keys: Sequence[int] | None, alias: str = "p") -> str:
        if keys is None:
            return "TRUE"
        if not keys:
            return "FALSE"
        if len(keys) == 1:
            return f"{alias}.instrument_key = {keys[0]}"
        return f"{alias}.instrument_key IN ({', '.join(map(str, keys))})"
