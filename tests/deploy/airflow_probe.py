"""Runs inside the Airflow environment (`.venv-airflow`), driven by test_airflow_dags.py.

Not a test module: the main environment has no Airflow. Reads a JSON request on stdin,
prints one line `RESULT <json>` (everything else on stdout/stderr is Airflow's logging).

- `{"cmd": "dagbag", "dags": DIR, "run_days": [case, ...]}`: parses the DAG folder like
  the DAG processor does (the folder is the bundle root, so `carbon254_dags` imports),
  and describes every DAG, the job table and `run_days` on each case.
- `{"cmd": "test", "dags": DIR, "dag_id": ID, "logical_date": ISO}`: creates the
  metadata tables in `$AIRFLOW_HOME` (SQLite) and runs `dag.test()` once.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


def _dagbag(dags: Path) -> Any:
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=dags, bundle_path=dags, bundle_name="dags-folder")


def _describe(dags: Path, cases: list[dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    bag = _dagbag(dags)
    parsed = time.perf_counter() - started
    from airflow.serialization.encoders import coerce_to_core_timetable
    from carbon254_dags import run_days

    from carbon254.ingest.jobs import JOBS

    described = {}
    for dag_id, dag in bag.dags.items():
        timetable = coerce_to_core_timetable(dag.timetable)
        described[dag_id] = {
            "file": Path(dag.fileloc).name,
            "timetable": type(timetable).__name__,
            "schedule": timetable.summary,
            "timezone": str(getattr(timetable, "_timezone", "")),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "params": sorted(dag.params),
            "tasks": [
                {
                    "task_id": task.task_id,
                    "type": type(task).__name__,
                    "job": getattr(task, "job", None),
                    "retries": task.retries,
                    "retry_exponential_backoff": task.retry_exponential_backoff,
                    "retry_delay_s": task.retry_delay.total_seconds(),
                    "max_retry_delay_s": task.max_retry_delay.total_seconds(),
                    "execution_timeout_s": task.execution_timeout.total_seconds(),
                }
                for task in dag.tasks
            ],
        }
    days = []
    for case in cases:
        job = JOBS[case["job"]]
        start, end = run_days(
            job,
            run_type=case.get("run_type"),
            conf=case.get("conf"),
            interval_start=_when(case.get("interval_start")),
            interval_end=_when(case.get("interval_end")),
        )
        days.append([start and start.isoformat(), end and end.isoformat()])
    return {
        "execute": _execute(bag.dags["pjm_da_ingestion"].get_task("ingest")),
        "import_errors": {str(k): v for k, v in bag.import_errors.items()},
        "dags": described,
        "jobs": {name: {"every_s": job.every.total_seconds()} for name, job in JOBS.items()},
        "run_days": days,
        "parse_seconds": parsed,
    }


def _execute(task: Any) -> dict[str, Any]:
    """The operator's `execute` with `run_job` replaced: what it passes, what it returns,
    and that a failed window (`JobFailed`) fails the task."""
    from types import SimpleNamespace

    from airflow.sdk.api.datamodels._generated import DagRunType

    import carbon254.ingest.jobs as jobs
    from carbon254.ingest.runner import RunResult

    calls: list[dict[str, Any]] = []
    t0 = datetime(2024, 3, 10, 5, tzinfo=UTC)
    ok = RunResult("pjm_da_ingestion", "pjm.da_hrl_lmps", t0, t0, "succeeded", rows=23)
    bad = RunResult("pjm_da_ingestion", "pjm.rt_hrl_lmps", t0, t0, "failed", error="boom")

    def fake_run_job(name: str, **kwargs: Any) -> list[RunResult]:
        calls.append({"name": name} | {k: str(v) for k, v in kwargs.items()})
        results = [ok, bad] if kwargs["start"] == date(2024, 3, 11) else [ok, ok]
        if kwargs.get("raise_on_failure") and any(r.status == "failed" for r in results):
            raise jobs.JobFailed(name, [r for r in results if r.status == "failed"])
        return results

    def context(run_type: DagRunType, start: str | None) -> dict[str, Any]:
        run = SimpleNamespace(run_type=run_type, conf={})  # as the task SDK gives it
        return {"dag_run": run, "params": {"start": start, "end": start},
                "data_interval_start": t0, "data_interval_end": t0}  # fmt: skip

    real = jobs.run_job
    jobs.run_job = fake_run_job
    try:
        tick = task.execute(context(DagRunType.SCHEDULED, None))
        summary = task.execute(context(DagRunType.MANUAL, "2024-03-10"))
        try:
            task.execute(context(DagRunType.MANUAL, "2024-03-11"))
            failed = None
        except jobs.JobFailed as exc:
            failed = str(exc)
    finally:
        jobs.run_job = real
    tick.pop("finished_at")
    summary.pop("finished_at")
    return {"calls": calls, "tick": tick, "summary": summary, "failed": failed}


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _test(dags: Path, dag_id: str, logical_date: str) -> dict[str, Any]:
    from airflow.utils.db import initdb

    started = time.perf_counter()
    initdb()  # a fresh SQLite file: tables straight from the models, then stamped
    migrated = time.perf_counter()
    dag = _dagbag(dags).dags[dag_id]
    run = dag.test(logical_date=datetime.fromisoformat(logical_date))
    finished = time.perf_counter()
    tis = run.get_task_instances()
    return {
        "state": str(run.state),
        "run_type": str(run.run_type),
        "data_interval": [str(run.data_interval_start), str(run.data_interval_end)],
        "tasks": {ti.task_id: str(ti.state) for ti in tis},
        "xcom": {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in tis},
        "initdb_seconds": migrated - started,
        "test_seconds": finished - migrated,
    }


def main() -> None:
    request = json.load(sys.stdin)
    dags = Path(request["dags"])
    if request["cmd"] == "dagbag":
        result = _describe(dags, request.get("run_days", []))
    else:
        result = _test(dags, request["dag_id"], request["logical_date"])
    print("RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
