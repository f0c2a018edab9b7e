"""The one factory behind carbon254's Airflow DAGs: one DAG per ingestion job.

Each DAG file in this folder is `dag = make_dag("<job name>")`. The DAG has one task that
calls `carbon254.ingest.jobs.run_job`, the same function the CLI and the embedded
scheduler call, so Airflow adds scheduling, retries and a UI and nothing else.

Which market days a run ingests (`run_days`):

- `start`/`end` in the run's conf (ISO dates, local market days, inclusive) win: that is
  how an operator backfills a range in one run;
- a scheduled run passes nothing, so the job does its normal tick: its hot days ending
  today on the ISO's clock plus catch-up of settled windows (with `catchup=False` and
  one active run, a scheduled run always runs "now", and the tick covers its interval);
- any other run with a data interval (a backfill, a manual run with a logical date)
  ingests the ISO's local market days that interval touches.

Parsing stays cheap: only `carbon254.ingest.jobs` (for the job table) is imported at
parse time; the store and the connectors are imported when the task runs. The carbon254
environment variables (`CARBON254_DATABASE_URL`, `PJM_API_KEY`, ...) are read by the
task, from the worker's environment. See docs/airflow.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, BaseOperator, CronTriggerTimetable, DeltaTriggerTimetable, Param

from carbon254.ingest.jobs import JOBS, Job

__all__ = ["DEFAULT_ARGS", "IngestJobOperator", "make_dag", "run_days", "timetable_for"]

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# Airflow's retries come on top of the job's own (per request and per window), so they
# are for what outlasts those: an upstream outage, a locked store, a restarted worker.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "carbon254",
    "retries": 3,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": 2.0,  # 1, 2, 4 minutes (with Airflow's jitter)
    "max_retry_delay": timedelta(minutes=15),
    # With one active run per DAG a hung task would hold back every later tick. A tick
    # takes minutes; a conf range that needs longer should be split into several runs.
    "execution_timeout": timedelta(hours=3),
}


def timetable_for(job: Job) -> CronTriggerTimetable | DeltaTriggerTimetable:
    """The job's ticks as Airflow sees them: aligned to the clock like the embedded
    scheduler (:00, :05, ... in UTC; daily at local midnight plus `offset` in the ISO's
    time zone), or every `every` from the first run when no cron can say it."""
    every, offset = job.every, job.offset
    if offset % MINUTE or not timedelta(0) <= offset < every:
        raise ValueError(f"{job.name}: offset {offset} must be whole minutes within {every}")
    off_min = int(offset / MINUTE)
    if every == DAY:
        cron = f"{off_min % 60} {off_min // 60} * * *"
        return CronTriggerTimetable(cron, timezone=job.iso.tz_name)
    if every < HOUR and not every % MINUTE and not HOUR % every:
        step = int(every / MINUTE)
        minutes = f"*/{step}" if off_min == 0 else f"{off_min}-59/{step}"
        return CronTriggerTimetable(f"{minutes} * * * *", timezone="UTC")
    if every < DAY and not every % HOUR and not DAY % every:
        step = int(every / HOUR)
        hours = "*" if step == 1 else f"{off_min // 60}-23/{step}"
        return CronTriggerTimetable(f"{off_min % 60} {hours} * * *", timezone="UTC")
    return DeltaTriggerTimetable(every)


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def run_days(
    job: Job,
    *,
    run_type: str | None,
    conf: dict[str, Any] | None,
    interval_start: datetime | None,
    interval_end: datetime | None,
) -> tuple[date | None, date | None]:
    """The `(start, end)` market days (inclusive) to pass to `run_job`; `(None, None)`
    lets the job run its normal tick. Rules in the module docstring."""
    conf = conf or {}
    start, end = _day(conf.get("start")), _day(conf.get("end"))
    if start is not None or end is not None:
        return start, end
    if run_type == "scheduled" or interval_start is None:
        return None, None
    if interval_end is None or interval_end < interval_start:
        interval_end = interval_start
    # The interval is [start, end): its last instant is just before `end`, unless empty.
    last = max(interval_start, interval_end - timedelta(microseconds=1))
    tz = job.iso.tz
    return interval_start.astimezone(tz).date(), last.astimezone(tz).date()


class IngestJobOperator(BaseOperator):
    """Runs carbon254 job `job` once over the run's market days (see `run_days`).

    Fails (so Airflow retries) when any window failed; the XCom value counts the
    windows by status and the rows fetched.
    """

    ui_color = "#d9ead3"

    def __init__(self, *, job: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job

    def execute(self, context: Any) -> dict[str, Any]:
        from carbon254.ingest.jobs import get_job, run_job

        run_type = getattr(context["dag_run"], "run_type", None)
        run_type = getattr(run_type, "value", run_type)  # an enum: str() is "DagRunType.X"
        start, end = run_days(
            get_job(self.job),
            run_type=run_type,
            conf=dict(context["params"]),  # the run's conf, over the DAG's defaults
            interval_start=context.get("data_interval_start"),
            interval_end=context.get("data_interval_end"),
        )
        self.log.info("carbon254 job %s: days %s .. %s", self.job, start or "tick", end or "")
        results = run_job(self.job, start=start, end=end, raise_on_failure=True)
        statuses: dict[str, int] = {}
        for result in results:
            statuses[result.status] = statuses.get(result.status, 0) + 1
        summary = {
            "job": self.job,
            "run_type": run_type,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "windows": statuses,
            "rows": sum(result.rows for result in results),
            "finished_at": datetime.now(UTC).isoformat(),
        }
        self.log.info("carbon254 job %s: %s", self.job, summary)
        return summary


def _day_param(description: str) -> Param:
    return Param(None, type=["null", "string"], format="date", description=description)


def make_dag(name: str) -> DAG:
    """The DAG of job `name`: its ticks, no catchup, one run at a time, one task."""
    job = JOBS[name]
    with DAG(
        dag_id=job.name,
        description=job.description,
        schedule=timetable_for(job),
        # Early: Airflow creates no task for a run dated before `start_date`, and a backfill
        # or a manual run may be for any past market day. No catchup: the scheduler only
        # ever starts the latest tick, never the past.
        start_date=datetime(2000, 1, 1, tzinfo=UTC),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        params={
            "start": _day_param("first local market day of a range; empty: the usual tick"),
            "end": _day_param("last local market day of the range, inclusive"),
        },
        tags=["carbon254", "ingestion", job.iso.value.lower()],
        doc_md=f"carbon254 job `{job.name}` ({', '.join(job.datasets)}): {job.description}. "
        "Conf `start`/`end` (local market days) ingest a range instead of the tick.",
    ) as dag:
        IngestJobOperator(task_id="ingest", job=job.name)
    return dag
