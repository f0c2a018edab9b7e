"""The `carbon254` command: set up the store, load the demo market, serve the API, and
ingest ISO data (`ingest`, `backfill`, `quality`, `jobs`: see cli_ingest.py).

Bad input exits with code 2 and a one-line reason; an operational failure (store
unreachable, file locked) exits with code 1 and a one-line reason. Set CARBON254_DEBUG=1
to see tracebacks instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from . import __version__
from .cli_common import UsageError, open_store_arg, parse_date
from .core import InvalidInstrumentId, Iso, SchemaError

if TYPE_CHECKING:
    from .store import PriceStore

__all__ = ["UsageError", "main"]


def _store(args: argparse.Namespace) -> PriceStore:
    return open_store_arg(args)


def cmd_db_init(args: argparse.Namespace) -> int:
    with _store(args) as store:
        status = store.status()
    print(
        f"store ready: {status.backend} at {status.location}, "
        f"schema version {status.schema_version}"
    )
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    with _store(args) as store:
        status = store.status()
        batches = store.batches(limit=5).to_pylist()
    print(f"backend         {status.backend}")
    print(f"location        {status.location}")
    print(f"schema version  {status.schema_version} (latest {status.latest_schema_version})")
    for table, count in status.counts.items():
        print(f"{table:<16}{count:,}")
    first = status.first_interval.isoformat() if status.first_interval else "-"
    last = status.last_interval.isoformat() if status.last_interval else "-"
    print(f"intervals       {first} .. {last}")
    for batch in batches:
        print(
            f"batch {batch['batch_id']:>6}  {batch['status']:<9} {batch['rows_received']:>10,} rows"
            f"  {batch['source']}"
        )
    return 0


def _isos(text: str) -> tuple[Iso, ...]:
    try:
        return tuple(Iso(part.strip().upper()) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: ISOs are {', '.join(i.value for i in Iso)}"
        ) from None


_date = parse_date


def cmd_demo_load(args: argparse.Namespace) -> int:
    from .ingest.demo import load_demo

    with _store(args) as store:
        if args.if_empty and store.status().counts["prices"] > 0:
            print("store already holds prices; demo load skipped (--if-empty)")
            return 0
        kwargs = {"seed": args.seed, "start": args.start, "days": args.days}
        kwargs |= {"nodes_per_iso": args.nodes, "isos": args.isos}
        try:
            result = load_demo(store, **kwargs)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    print(
        f"demo market loaded ({result.source}): {result.price_rows:,} price rows, "
        f"{result.rows_inserted:,} inserted, {result.rows_revised:,} revised, "
        f"{result.location_rows} locations"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .service.server import serve
    except ImportError as exc:
        raise UsageError(
            f"serving needs the server extras: pip install 'carbon254[server]' ({exc})"
        ) from None
    from .service.services import DEFAULT_PORT, ServiceNotBuilt, resolve_service

    port, what, scheduler = args.port, "API", not args.no_scheduler
    if args.service is not None:
        try:
            chosen = resolve_service(args.service)
        except ServiceNotBuilt as exc:
            raise UsageError(str(exc)) from None
        port = chosen.port if port is None else port
        what, scheduler = f"{chosen.title} service", False
    port = DEFAULT_PORT if port is None else port
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    print(f"carbon254 {what} on http://{shown}:{port}  (OpenAPI docs: /docs)", flush=True)
    serve(
        args.store,
        host=args.host,
        port=port,
        log_level=args.log_level,
        scheduler=scheduler,
        service=args.service,
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carbon254",
        description="North American power-market data: store, ingestion, demo market and API.",
        epilog="Store: CARBON254_DATABASE_URL (postgresql://...) or a DuckDB file under "
        "CARBON254_DATA_DIR (default: the user's data directory).",
    )
    parser.add_argument("--version", action="version", version=f"carbon254 {__version__}")
    parser.add_argument(
        "--store",
        metavar="URL",
        help="store URL: postgresql://..., duckdb:///path/file.duckdb (overrides the environment)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    db = commands.add_parser("db", help="create, migrate and inspect the store")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser(
        "init", help="create the store or apply pending migrations"
    ).set_defaults(func=cmd_db_init)
    db_commands.add_parser(
        "status", help="schema version, row counts, recent batches"
    ).set_defaults(func=cmd_db_status)

    demo = commands.add_parser("demo", help="the generated demo market")
    demo_commands = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    load = demo_commands.add_parser("load", help="generate the demo market into the store")
    load.add_argument("--seed", type=int, default=254, help="random seed (default 254)")
    load.add_argument("--start", type=_date, default=date(2025, 10, 20), help="first local day")
    load.add_argument("--days", type=int, default=30, help="number of days (default 30)")
    load.add_argument("--nodes", type=int, default=50, help="nodes per ISO (default 50)")
    load.add_argument(
        "--isos", type=_isos, default=(Iso.PJM, Iso.MISO, Iso.CAISO), help="e.g. PJM,MISO,CAISO"
    )
    load.add_argument("--if-empty", action="store_true", help="do nothing if the store has prices")
    load.set_defaults(func=cmd_demo_load)

    serve = commands.add_parser("serve", help="serve the API (one process; see docs)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=int, default=None, help="default 8000, or the service's historical port"
    )
    serve.add_argument(
        "--service",
        metavar="NAME",
        help="serve one service alone on its historical port: ml (8006), graphql (8007), "
        "risk (8008), lmp (8009); a service whose engine is not built yet is refused; "
        "no ingestion scheduler runs in a single-service process",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run the ingestion jobs in this process (also: CARBON254_SCHEDULER=off)",
    )
    serve.set_defaults(func=cmd_serve)

    from .cli_ingest import add_commands  # ingest, backfill, quality, jobs

    add_commands(commands)
    from .cli_apikey import add_commands as add_apikey_commands  # apikey create|list|revoke

    add_apikey_commands(commands)
    return parser


def _fail(code: int, message: str) -> int:
    print(f"carbon254: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # exits 2 with a usage line on bad arguments
    func: Callable[[argparse.Namespace], int] = args.func
    if os.environ.get("CARBON254_DEBUG"):
        return func(args)
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
    except (UsageError, SchemaError, InvalidInstrumentId) as exc:
        return _fail(2, str(exc).splitlines()[0])
    except Exception as exc:  # operational: say what, in one line, no traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return _fail(1, f"{type(exc).__name__}: {first}")


if __name__ == "__main__":
    sys.exit(main())
