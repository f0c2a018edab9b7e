"""`carbon254 ingest | backfill | quality | jobs`: ISO data in, and how complete it is.

Exit codes as for every command: 2 with a one-line reason for bad input (unknown dataset
or job, bad dates, end before start), 1 for operational failures (a window failed after
its retries, credentials missing: the message names the environment variable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from .cli_common import UsageError, open_store_arg, parse_date

if TYPE_CHECKING:
    from .ingest.runner import RunResult

__all__ = ["ProgressBar", "add_commands"]


class ProgressBar:
    """A plain-text progress bar on stderr: redrawn in place on a terminal, one line
    per window otherwise (logs, CI)."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()

    def __call__(self, done: int, total: int, result: RunResult) -> None:
        day = result.window_start.isoformat(timespec="minutes")
        what = f"{result.status}, {result.rows:,} rows" + (
            f": {result.error}" if result.error else ""
        )
        if not self.tty:
            print(f"{self.label} [{done}/{total}] {day} {what}", file=self.stream, flush=True)
            return
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"\r{self.label} [{bar}] {done}/{total} {day} {what}"[:200]
        end = "\n" if done == total else ""
        print(line.ljust(120), end=end, file=self.stream, flush=True)


def _range(args: argparse.Namespace) -> tuple[date, date]:
    end = args.end or args.start
    if end < args.start:
        raise UsageError(f"--end {end} is before --start {args.start}")
    return args.start, end


def _summary(results: list[RunResult]) -> str:
    counts = {s: sum(r.status == s for r in results) for s in ("succeeded", "skipped", "failed")}
    rows = sum(r.rows for r in results)
    changed = sum(r.changed for r in results)
    parts = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    return f"{len(results)} window(s): {parts or 'none'}; {rows:,} rows, {changed:,} changed"


def _report_failures(results: list[RunResult]) -> int:
    failed = [r for r in results if r.status == "failed"]
    for result in failed:
        print(
            f"  failed {result.dataset} {result.window_start.isoformat(timespec='minutes')}: "
            f"{result.error}",
            file=sys.stderr,
        )
    if failed:
        return _error(f"{len(failed)} window(s) failed; first: {failed[0].error}")
    return 0


def _error(message: str) -> int:
    """An operational failure: one line on stderr, exit code 1."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"carbon254: error: {first}", file=sys.stderr)
    return 1


def _fetch(args: argparse.Namespace, *, skip_done: bool) -> int:
    from .ingest.backfill import DatasetUnavailable, ingest_range

    start, end = _range(args)
    progress = None if args.quiet else ProgressBar(args.dataset)
    with open_store_arg(args) as store:
        try:
            result = ingest_range(
                args.dataset, start, end, store=store, skip_done=skip_done, progress=progress
            )
        except DatasetUnavailable as exc:
            if not exc.registered:
                raise UsageError(f"{exc} (`carbon254 jobs list` shows the datasets)") from None
            return _error(str(exc))  # credentials missing: the message names the variable
    done = f"{result.already_done} of {result.windows} already done; " if skip_done else ""
    print(f"{result.dataset} ({result.job}): {done}{_summary(result.results)}")
    return _report_failures(result.results)


def cmd_ingest(args: argparse.Namespace) -> int:
    return _fetch(args, skip_done=False)


def cmd_backfill(args: argparse.Namespace) -> int:
    return _fetch(args, skip_done=True)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def cmd_quality(args: argparse.Namespace) -> int:
    from .connectors.registry import all_datasets
    from .ingest.jobs import resolve_dataset
    from .ingest.quality import quality_report

    end = args.end or (date.today() - timedelta(days=1))
    start = args.start or (end - timedelta(days=6))
    if end < start:
        raise UsageError(f"--end {end} is before --start {start}")
    if not 0 < args.target <= 100:
        raise UsageError(f"--target is a percentage in (0, 100], got {args.target}")
    if args.dataset:
        try:
            datasets = [resolve_dataset(name) for name in args.dataset]
        except KeyError as exc:
            raise UsageError(str(exc.args[0])) from None
    else:
        datasets = list(all_datasets())
    with open_store_arg(args) as store:
        report = quality_report(
            store, datasets, start, end, target=args.target / 100, required=bool(args.dataset)
        )
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        _print_quality(report)
    return 0 if report.passed else 1


def _print_quality(report: Any) -> None:
    print(f"quality {report.start} .. {report.end} (local market days), target "
          f"{100 * report.target:g}%")  # fmt: skip
    header = f"{'dataset':<32} {'rows':>12} {'expected':>12} {'complete':>9} {'gaps':>5}  status"
    print(header)
    for q in report.datasets:
        print(
            f"{q.dataset:<32} {q.rows:>12,} {q.expected_rows:>12,} {_pct(q.completeness):>9} "
            f"{len(q.gaps) + q.gaps_not_listed:>5}  {q.status}"
        )
        if q.status != "incomplete":
            continue
        for day in q.days:
            if day.completeness is not None and day.completeness < report.target:
                missing = ", ".join(day.missing_locations[:5])
                print(
                    f"    {day.day}: {_pct(day.completeness)} ({day.expected_intervals} "
                    f"intervals x {day.locations} locations)"
                    + (f"; no rows: {missing}" if missing else "")
                )
        for gap in q.gaps[:10]:
            print(f"    gap {gap.instrument} {gap.start.isoformat()} .. {gap.end.isoformat()} "
                  f"({gap.intervals} intervals)")  # fmt: skip
        more = len(q.gaps) - 10 + q.gaps_not_listed
        if more > 0:
            print(f"    ... {more} more gap(s)")
    for iso, count in report.component_violations.items():
        print(f"components {iso}: {count} row(s) where value != energy + congestion + loss")
    print("passed" if report.passed else "below target")


def _every(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _readiness(name: str) -> str:
    """'ready', 'not registered' or 'needs VAR, VAR' for one dataset."""
    from .ingest.jobs import resolve_dataset

    try:
        dataset = resolve_dataset(name)
    except KeyError:
        return "not registered"
    missing = [var for var in dataset.auth.env if not os.environ.get(var)]
    return f"needs {', '.join(missing)}" if missing and not dataset.auth.optional else "ready"


def cmd_jobs_list(args: argparse.Namespace) -> int:
    from .ingest.jobs import all_jobs

    print(f"{'job':<34} {'every':>6} {'days':>5}  datasets")
    for job in all_jobs():
        days = f"{job.lookback_days}" + (f"+{job.ahead_days}" if job.ahead_days else "")
        states = []
        for name in job.datasets:
            state = _readiness(name)
            states.append(name if state == "ready" else f"{name} ({state})")
        print(f"{job.name:<34} {_every(job.every):>6} {days:>5}  {', '.join(states)}")
        if args.verbose:
            print(f"{'':<48}{job.description}")
    return 0


def cmd_jobs_runs(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    with open_store_arg(args) as store:
        runs = store.job_runs(job=args.job, status=args.status, limit=args.limit).to_pylist()
    if args.json:
        print(json.dumps(runs, default=str, indent=1))
        return 0
    print(f"{'run':>6} {'job':<32} {'dataset':<28} {'window (UTC)':<35} {'status':<9} "
          f"{'tries':>5} {'rows':>10}  started")  # fmt: skip
    for run in runs:
        window = f"{run['window_start']:%Y-%m-%d %H:%M} .. {run['window_end']:%Y-%m-%d %H:%M}"
        rows = "-" if run["rows"] is None else f"{run['rows']:,}"
        print(
            f"{run['run_id']:>6} {run['job']:<32} {run['dataset']:<28} {window:<35} "
            f"{run['status']:<9} {run['attempts']:>5} {rows:>10}  "
            f"{run['started_at']:%Y-%m-%d %H:%M:%S}"
        )
        if run["error"]:
            print(f"{'':>7}{run['error'].splitlines()[0][:160]}")
    return 0


def cmd_jobs_run(args: argparse.Namespace) -> int:
    from .ingest.jobs import UnknownJob, run_job

    if args.start and args.end and args.end < args.start:
        raise UsageError(f"--end {args.end} is before --start {args.start}")
    progress = None if args.quiet else ProgressBar(args.name)
    with open_store_arg(args) as store:
        try:
            results = run_job(
                args.name, start=args.start, end=args.end, store=store, progress=progress
            )
        except UnknownJob as exc:
            raise UsageError(str(exc)) from None
    print(f"{args.name}: {_summary(results)}")
    return _report_failures(results)


def add_commands(commands: Any) -> None:
    """Add ingest, backfill, quality and jobs to the `carbon254` subcommands."""
    for name, func, text in (
        ("ingest", cmd_ingest, "fetch a dataset's days into the store (every window)"),
        ("backfill", cmd_backfill, "fetch the days not fetched yet (resumable)"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("dataset", metavar="DATASET", help="e.g. pjm.da_hrl_lmps")
        sub.add_argument("--start", type=parse_date, required=True, help="first local day")
        sub.add_argument("--end", type=parse_date, help="last local day (default: --start)")
        sub.add_argument("--quiet", action="store_true", help="no progress on stderr")
        sub.set_defaults(func=func)

    quality = commands.add_parser("quality", help="completeness, gaps and components check")
    quality.add_argument("--dataset", action="append", metavar="NAME",
                         help="a dataset to check (repeatable; default: all)")  # fmt: skip
    quality.add_argument("--start", type=parse_date, help="first local day (default: end - 6)")
    quality.add_argument("--end", type=parse_date, help="last local day (default: yesterday)")
    quality.add_argument("--target", type=float, default=99.9, help="percent (default 99.9)")
    quality.add_argument("--json", action="store_true", help="the report as JSON")
    quality.set_defaults(func=cmd_quality)

    jobs = commands.add_parser("jobs", help="the scheduled ingestion jobs and their runs")
    actions = jobs.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="jobs, schedules, datasets and readiness")
    listing.add_argument("-v", "--verbose", action="store_true", help="with descriptions")
    listing.set_defaults(func=cmd_jobs_list)
    runs = actions.add_parser("runs", help="recent job runs, newest first")
    runs.add_argument("--job", help="only this job's runs")
    runs.add_argument("--status", choices=["running", "succeeded", "failed", "skipped"])
    runs.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    runs.add_argument("--json", action="store_true", help="as JSON")
    runs.set_defaults(func=cmd_jobs_runs)
    run = actions.add_parser("run", help="run a job once now (or over --start/--end)")
    run.add_argument("name", metavar="JOB")
    run.add_argument("--start", type=parse_date, help="first local day (default: the tick)")
    run.add_argument("--end", type=parse_date, help="last local day")
    run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    run.set_defaults(func=cmd_jobs_run)
