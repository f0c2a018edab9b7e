"""Job runs: what the scheduler did, per job and window, for retries and resumable backfill.

A run row is committed the moment the run starts, on a connection of its own (not the
batch transaction, and not behind the writer lock): a job killed mid-run must leave a
visible 'running' row, and bookkeeping must not wait for another job's long batch.
`abandon_running_jobs` is how a restarted scheduler closes the runs of a dead process.
"""

from __future__ import annotations

import operator
from datetime import datetime, timedelta

import pyarrow as pa

from ..core.records import JOB_RUN_SCHEMA, JOB_STATUSES
from ..core.schema import UTC_TS
from ._backend import SqlBackend
from ._sql import as_utc, now_utc, quote, utc_range
from .base import InvalidArgument, JobStatus

ABANDONED = "abandoned (process ended mid-run)"
_FINAL = ("succeeded", "failed", "skipped")
_MAX_ERROR = 2000


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgument(f"{what} must be a non-empty string, got {value!r}")
    return quote(value, what)


def _count(value: int | None, what: str, minimum: int) -> str:
    """An integer argument as SQL (numpy integers welcome), or `InvalidArgument`."""
    if value is None:
        return "NULL"
    try:
        number = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        number = None
    if number is None or number < minimum:
        raise InvalidArgument(f"{what} must be an integer >= {minimum}, got {value!r}")
    return str(number)


class SqlJobs(SqlBackend):
    def start_job_run(
        self, job: str, dataset: str, window_start: datetime, window_end: datetime
    ) -> int:
        start, end = utc_range(window_start, window_end)
        rows = self._autocommit(
            "INSERT INTO job_runs (job, dataset, window_start, window_end, status, attempts, "
            f"started_at) VALUES ({_name(job, 'job')}, {_name(dataset, 'dataset')}, "
            f"{self._literal(start)}, {self._literal(end)}, 'running', 1, "
            f"{self._literal(now_utc())}) RETURNING run_id"
        )
        return int(rows[0][0])

    def finish_job_run(
        self,
        run_id: int,
        *,
        status: JobStatus,
        attempts: int,
        rows: int | None = None,
        batch_id: int | None = None,
        error: str | None = None,
        window_end: datetime | None = None,
    ) -> None:
        if status not in _FINAL:
            raise InvalidArgument(f"status must be one of {', '.join(_FINAL)}; got {status!r}")
        if error is not None and not isinstance(error, str):
            raise TypeError(f"error must be a string, got {type(error).__name__}")
        message = "NULL" if error is None else quote(error[:_MAX_ERROR].replace("\x00", ""))
        narrowed = ""
        if window_end is not None:
            narrowed = f"window_end = {self._literal(as_utc(window_end, 'window_end'))}, "
        # Finishing is allowed whatever the run's state: a run wrongly marked abandoned
        # that does finish tells the truth last.
        done = self._autocommit(
            f"UPDATE job_runs SET status = '{status}', {narrowed}"
            f"attempts = {_count(attempts, 'attempts', 1)}, rows = {_count(rows, 'rows', 0)}, "
            f"batch_id = {_count(batch_id, 'batch_id', 1)}, error = {message}, "
            f"finished_at = {self._literal(now_utc())} "
            f"WHERE run_id = {_count(run_id, 'run_id', 1)} RETURNING run_id"
        )
        if not done:
            raise InvalidArgument(f"no job run {run_id}")

    def job_runs(
        self,
        *,
        job: str | None = None,
        status: JobStatus | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> pa.Table:
        where = ["TRUE"]
        if job is not None:
            where.append(f"job = {_name(job, 'job')}")
        if status is not None:
            if status not in JOB_STATUSES:
                raise InvalidArgument(
                    f"status must be one of {', '.join(JOB_STATUSES)}; got {status!r}"
                )
            where.append(f"status = '{status}'")
        if since is not None:
            where.append(f"started_at >= {self._literal(as_utc(since, 'since'))}")
        ts = self._ts_out
        columns = ", ".join(
            f"{ts(f.name)} AS {f.name}" if pa.types.is_timestamp(f.type) else f.name
            for f in JOB_RUN_SCHEMA
        )
        return self._fetch(
            f"SELECT {columns} FROM job_runs WHERE {' AND '.join(where)} "
            f"ORDER BY started_at DESC, run_id DESC LIMIT {_count(limit, 'limit', 0)}",
            JOB_RUN_SCHEMA,
        )

    def succeeded_windows(
        self, job: str, start: datetime, end: datetime, *, dataset: str | None = None
    ) -> list[tuple[datetime, datetime]]:
        start, end = utc_range(start, end)
        where = [
            f"job = {_name(job, 'job')}",
            "status = 'succeeded'",
            f"window_start < {self._literal(end)}",
            f"window_end > {self._literal(start)}",
        ]
        if dataset is not None:
            where.append(f"dataset = {_name(dataset, 'dataset')}")
        ts = self._ts_out
        table = self._fetch(
            f"SELECT DISTINCT {ts('window_start')} AS lo, {ts('window_end')} AS hi "
            f"FROM job_runs WHERE {' AND '.join(where)}",
            pa.schema([("lo", UTC_TS), ("hi", UTC_TS)]),
        )
        return sorted(
            zip(table.column("lo").to_pylist(), table.column("hi").to_pylist(), strict=True)
        )

    def abandon_running_jobs(
        self, job: str | None = None, older_than: timedelta | None = None
    ) -> int:
        now = now_utc()
        where = ["status = 'running'"]
        if job is not None:
            where.append(f"job = {_name(job, 'job')}")
        if older_than is not None:
            if not isinstance(older_than, timedelta) or older_than < timedelta(0):
                raise InvalidArgument(f"older_than must be a timedelta >= 0, got {older_than!r}")
            where.append(f"started_at < {self._literal(now - older_than)}")
        done = self._autocommit(
            f"UPDATE job_runs SET status = 'failed', error = '{ABANDONED}', "
            f"finished_at = {self._literal(now)} WHERE {' AND '.join(where)} RETURNING run_id"
        )
        return len(done)
