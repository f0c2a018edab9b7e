"""The Airflow DAGs in deploy/airflow/dags, checked in their own environment.

Airflow cannot live in the main environment (it pins an older FastAPI), so these tests
drive `.venv-airflow/bin/python` through `airflow_probe.py` in a subprocess, with
`AIRFLOW_HOME` in a temporary directory. Without that environment they skip, or fail
under `CARBON254_REQUIRE_SERVICES=1` (CI builds it with `make airflow-venv`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest

from carbon254.connectors.http import HttpFetcher
from carbon254.connectors.registry import all_datasets, get_dataset
from carbon254.connectors.replay import write_cassette
from carbon254.core import Iso, market_day
from carbon254.ingest.jobs import JOBS
from carbon254.store import open_store

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "deploy" / "airflow" / "dags"
PROBE = Path(__file__).with_name("airflow_probe.py")
EPT = ZoneInfo("America/New_York")


def _probe(python: Path, home: Path, request: Mapping[str, Any], **env: str) -> dict[str, Any]:
    """Run the probe in the Airflow environment; its `RESULT` line, parsed."""
    home.mkdir(parents=True, exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CARBON254"))}
    airflow = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
    done = subprocess.run(
        [str(python), str(PROBE)],
        input=json.dumps(request), env=clean | airflow | env, cwd=home,
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"probe failed:\n{done.stdout[-6000:]}\n{done.stderr}"
    return json.loads(lines[-1].removeprefix("RESULT "))


# ------------------------------------------------------------------------ the DAG folder


def _case(job: str, run_type: str | None, interval: str = "", **conf: str | None) -> dict:
    """A `run_days` input: `interval` is "START END" (UTC ISO times) or empty."""
    start, _, end = interval.partition(" ")
    return {"job": job, "run_type": run_type, "conf": conf,
            "interval_start": start or None, "interval_end": end or start or None}  # fmt: skip


RUN_DAYS_CASES: list[tuple[dict[str, Any], list[str | None]]] = [
    # A scheduled tick passes nothing: the job runs its own hot days and catch-up.
    (_case("pjm_rt_ingestion", "scheduled", "2024-03-10T06:55Z 2024-03-10T07:00Z"), [None, None]),
    # conf wins over everything (a range backfill in one run).
    (_case("pjm_da_ingestion", "scheduled", start="2024-01-01", end="2024-01-31"),
     ["2024-01-01", "2024-01-31"]),
    (_case("pjm_da_ingestion", "manual", start="2024-02-03", end=None), ["2024-02-03", None]),
    # A point interval (trigger timetables): the ISO's local day of that instant.
    # 2023-11-05 04:30Z is 00:30 EDT (PJM) but still 23:30 CDT on the 4th (ERCOT).
    (_case("pjm_constraints_ingestion", "manual", "2023-11-05T04:30Z"),
     ["2023-11-05", "2023-11-05"]),
    (_case("ercot_rt_ingestion", "backfill", "2023-11-05T04:30Z"), ["2023-11-04", "2023-11-04"]),
    # A span: every local day it touches; the end is exclusive (a local midnight is not
    # a day of its own).
    (_case("pjm_capacity_ingestion", "backfill", "2024-03-09T05:00Z 2024-03-11T04:00Z"),
     ["2024-03-09", "2024-03-10"]),
    # A manual run without a logical date has no interval: the tick.
    (_case("ercot_da_ingestion", "manual"), [None, None]),
]  # fmt: skip


@pytest.fixture(scope="module")
def dagbag(airflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    request = {"cmd": "dagbag", "dags": str(DAGS), "run_days": [c for c, _ in RUN_DAYS_CASES]}
    return _probe(airflow_python, tmp_path_factory.mktemp("airflow_home"), request)


def test_the_dag_folder_imports_without_errors(dagbag: dict[str, Any]) -> None:
    assert dagbag["import_errors"] == {}
    assert dagbag["parse_seconds"] < 10, dagbag["parse_seconds"]


def test_exactly_one_dag_per_job_each_in_its_own_file(dagbag: dict[str, Any]) -> None:
    assert sorted(dagbag["jobs"]) == sorted(JOBS)  # the Airflow env sees the same jobs
    assert sorted(dagbag["dags"]) == sorted(JOBS)
    for name, dag in dagbag["dags"].items():
        assert dag["file"] == f"{name}.py"
        assert [(t["task_id"], t["type"], t["job"]) for t in dag["tasks"]] == [
            ("ingest", "IngestJobOperator", name)
        ]


def test_no_catchup_one_run_at_a_time_retries_with_backoff(dagbag: dict[str, Any]) -> None:
    for dag in dagbag["dags"].values():
        assert dag["catchup"] is False
        assert dag["max_active_runs"] == 1
        assert dag["params"] == ["end", "start"]
        (task,) = dag["tasks"]
        assert task["retries"] == 3
        assert task["retry_exponential_backoff"] == 2.0
        assert task["retry_delay_s"] == 60
        assert task["max_retry_delay_s"] == 900
        assert task["execution_timeout_s"] == 3 * 3600


def test_schedules_follow_the_jobs_ticks(dagbag: dict[str, Any]) -> None:
    schedules = {name: (d["schedule"], d["timezone"]) for name, d in dagbag["dags"].items()}
    for name, job in JOBS.items():
        schedule, tz = schedules[name]
        if job.every == timedelta(minutes=5):
            assert (schedule, tz) == ("*/5 * * * *", "UTC"), name
        elif job.every == timedelta(hours=1):
            assert (schedule, tz) == ("0 * * * *", "UTC"), name
        else:  # daily: local midnight plus the job's offset, on the ISO's clock
            assert job.every == timedelta(days=1), name
            hours = int(job.offset / timedelta(hours=1))
            assert (schedule, tz) == (f"0 {hours} * * *", job.iso.tz_name), name
    assert schedules["pjm_capacity_ingestion"] == ("0 6 * * *", "America/New_York")


def test_run_days(dagbag: dict[str, Any]) -> None:
    assert dagbag["run_days"] == [expected for _, expected in RUN_DAYS_CASES]


def test_the_task_calls_run_job_and_fails_when_a_window_failed(dagbag: dict[str, Any]) -> None:
    execute = dagbag["execute"]  # the operator's execute, with a stand-in run_job
    common = {"name": "pjm_da_ingestion", "raise_on_failure": "True"}
    assert execute["calls"] == [
        common | {"start": "None", "end": "None"},  # a scheduled run: the job's tick
        common | {"start": "2024-03-10", "end": "2024-03-10"},
        common | {"start": "2024-03-11", "end": "2024-03-11"},
    ]
    assert execute["tick"] == {
        "job": "pjm_da_ingestion", "run_type": "scheduled", "start": None, "end": None,
        "windows": {"succeeded": 2}, "rows": 46,
    }  # fmt: skip
    assert execute["summary"] == execute["tick"] | {
        "run_type": "manual",
        "start": "2024-03-10",
        "end": "2024-03-10",
    }
    assert execute["failed"].startswith("pjm_da_ingestion: 1 window(s) failed; first: pjm.rt_hrl")


NO_SERVER = """
import json, sys
for name in ("fastapi", "uvicorn", "starlette", "airflow"):
    sys.modules[name] = None  # any import of these now raises ImportError
import carbon254.ingest.jobs, carbon254.store
import carbon254.ingest._redis_feed  # jobs announce batches to the API's cache through Redis
from carbon254.connectors.registry import all_datasets
names = sorted(d.name for d in all_datasets())
print(json.dumps({"datasets": names, "service": "carbon254.service" in sys.modules}))
"""


def test_the_jobs_need_no_server_packages_in_the_airflow_env(airflow_python: Path) -> None:
    """carbon254 is installed there with --no-deps: the jobs, the store and every dataset
    the main environment has import without FastAPI or uvicorn (Airflow's own FastAPI
    is not ours to rely on), so requirements.txt lists all they need."""
    done = subprocess.run(
        [str(airflow_python), "-c", NO_SERVER],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout.splitlines()[-1])
    assert there == {"datasets": sorted(d.name for d in all_datasets()), "service": False}


# ------------------------------------------------------- one real run, on recorded data

DAY = date(2023, 11, 5)  # PJM's fall-back day: 25 hours
RECORDED = {
    "rt_marginal_value": "api_rt_marginal_value_2023-11-05_2023-11-07_dst_end.json",
    "da_marginal_value": "api_da_marginal_value_2023-11-05_2023-11-07_dst_end.json",
    "da_transconstraints": "api_da_transconstraints_2023-11-05_2023-11-07_dst_end.json",
}


def _ept(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %H:%M")


def _local_begin(item: Mapping[str, Any]) -> datetime:
    """An item's start on PJM's wall clock (naive), as the `datetime_beginning_ept` filter."""
    utc = datetime.fromisoformat(item["datetime_beginning_utc"]).replace(tzinfo=UTC)
    return utc.astimezone(EPT).replace(tzinfo=None)


class RecordedPjm:
    """Answers Data Miner requests from recorded responses the way PJM would: the items
    of the request's `datetime_beginning_ept` range (inclusive), paged by startRow and
    rowCount, in the recorded envelope. Every answer is written into the cassette."""

    def __init__(self, shared: Path, cassette: Path) -> None:
        self.recorded = {
            feed: json.loads((shared / "iso" / "pjm" / name).read_bytes())
            for feed, name in RECORDED.items()
        }
        self.cassette = cassette
        self.entries: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        feed = request.url.path.rsplit("/", 1)[-1]
        envelope = self.recorded[feed]
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        low, high = (_ept(part) for part in query["datetime_beginning_ept"].split("to"))
        items = [i for i in envelope["items"] if low <= _local_begin(i) <= high]
        first, count = int(query.get("startRow", 1)) - 1, int(query.get("rowCount", 50000))
        links = [link for link in envelope["links"] if link["rel"] != "next"]
        page = {
            "links": links,
            "items": items[first : first + count],
            "searchSpecification": envelope["searchSpecification"],
            "totalRows": len(items),
        }
        body = json.dumps(page, separators=(",", ":")).encode()
        name = f"{len(self.entries):03d}_{feed}.json"
        (self.cassette / name).write_bytes(body)
        headers = {"content-type": "application/json; charset=utf-8"}
        self.entries.append(
            {"method": "GET", "url": str(request.url), "status": 200, "headers": headers,
             "file": name}
        )  # fmt: skip
        return httpx.Response(200, headers=headers, content=body)


def _expected_rows(upstream: RecordedPjm, day: date) -> dict[str, int]:
    """Distinct (monitored, contingency, start) keys per feed whose start is on `day` (EPT)."""
    counts = {}
    for feed, envelope in upstream.recorded.items():
        keys = {
            (i["monitored_facility"], i["contingency_facility"] or "", i["datetime_beginning_utc"])
            for i in envelope["items"]
            if _local_begin(i).date() == day
        }
        counts[f"pjm.{feed}"] = len(keys)
    return counts


@pytest.fixture
def constraints_cassette(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, int]]:
    """A replay cassette for every request the constraints job makes for DAY, recorded
    by running the job's datasets' own `fetch` against `RecordedPjm`."""
    monkeypatch.setenv("PJM_API_KEY", "dummy-key-for-replay")
    cassette = tmp_path / "cassette"
    cassette.mkdir()
    upstream = RecordedPjm(shared_data, cassette)
    with HttpFetcher(httpx.Client(transport=httpx.MockTransport(upstream))) as http:
        for name in JOBS["pjm_constraints_ingestion"].datasets:
            dataset = get_dataset(name)
            for window in dataset.windows(DAY, DAY):
                dataset.fetch(http, window)
    write_cassette(cassette, upstream.entries)
    return cassette, _expected_rows(upstream, DAY)


def test_dag_test_runs_the_constraints_job_on_recorded_data(
    airflow_python: Path,
    constraints_cassette: tuple[Path, dict[str, int]],
    tmp_path: Path,
) -> None:
    cassette, expected = constraints_cassette
    assert expected == {
        "pjm.rt_marginal_value": 382,
        "pjm.da_marginal_value": 153,
        "pjm.da_transconstraints": 28,
    }
    data_dir = tmp_path / "data"
    # Noon UTC on the fall-back day: a manual run whose (point) data interval lies on
    # 2023-11-05 in EPT, so the task ingests exactly that market day.
    result = _probe(
        airflow_python,
        tmp_path / "airflow_home",
        {"cmd": "test", "dags": str(DAGS), "dag_id": "pjm_constraints_ingestion",
         "logical_date": "2023-11-05T12:00:00+00:00"},
        CARBON254_HTTP_REPLAY=str(cassette),
        CARBON254_DATA_DIR=str(data_dir),
        PJM_API_KEY="dummy-key-for-replay",
    )  # fmt: skip
    assert result["state"] == "success", result
    assert result["tasks"] == {"ingest": "success"}
    summary = result["xcom"]["ingest"]
    assert (summary["run_type"], summary["start"], summary["end"]) == (
        "manual",
        "2023-11-05",
        "2023-11-05",
    )
    assert summary["windows"] == {"succeeded": 3}
    assert summary["rows"] == sum(expected.values())

    start, end = market_day(Iso.PJM, DAY)
    with open_store(f"duckdb://{data_dir / 'carbon254.duckdb'}") as store:
        stored = {
            name: store.read_constraints(start=start, end=end, dataset=name).num_rows
            for name in expected
        }
        everything = store.read_constraints(
            start=start - timedelta(days=7), end=end + timedelta(days=7)
        )
    assert stored == expected
    assert everything.num_rows == sum(expected.values())  # nothing outside the day
