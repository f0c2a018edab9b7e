"""GraphQL vs REST, in process: one node-day of 5-minute prices, and a 100-instrument
catalogue with nested location and latest price.

Both go through the whole application (middleware, routing, serialization) over httpx's
ASGI transport, on a DuckDB store of 100 PJM RT5 nodes × one June day (288 intervals).
REST is measured on a cache miss (a distinct `end` per request) and on a hit; GraphQL
has no response cache. Prints medians and 90th percentiles in milliseconds; the last
line is `SUMMARY key=value ...`. `--runs N` (default 200).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

from carbon254.core import LOCATION_SCHEMA, validate_prices
from carbon254.service import create_app
from carbon254.service.settings import Settings
from carbon254.store.duckdb_store import DuckDBStore

DAY = datetime(2025, 6, 2, 4, tzinfo=UTC)  # a PJM market day starts at 04:00Z in June
NODES = [f"PJM.RT5.LMP.{50000 + n}" for n in range(100)]
NODE = NODES[0]

PRICES = """query($id: ID!, $start: DateTime!, $end: DateTime!) { instrument(id: $id) {
  prices(start: $start, end: $end) {
    instrument intervalStart intervalEnd value energy congestion loss ghg } } }"""
CATALOGUE = """{ instruments(iso: PJM, market: RT5, first: 100) {
  id iso market product locationCode firstInterval lastInterval
  location { name type zone effectiveDate }
  latest { intervalStart value } } }"""


def _seed(path: Path) -> DuckDBStore:
    store = DuckDBStore(path)
    store.migrate()
    starts = DAY + np.arange(288) * timedelta(minutes=5)
    rng = np.random.default_rng(7)
    tables = []
    for node in NODES:
        energy = 30 + 5 * rng.standard_normal(288)
        congestion, loss = rng.standard_normal(288), 0.1 * rng.standard_normal(288)
        tables.append(
            pa.table(
                {
                    "instrument": [node] * 288,
                    "interval_start": pa.array(starts, pa.timestamp("us", "UTC")),
                    "interval_end": pa.array(
                        starts + timedelta(minutes=5), pa.timestamp("us", "UTC")
                    ),
                    "value": energy + congestion + loss,
                    "energy": energy,
                    "congestion": congestion,
                    "loss": loss,
                }
            )
        )
    store.upsert_prices(validate_prices(pa.concat_tables(tables)), source="bench")
    directory = [
        {"iso": "PJM", "location": node.rsplit(".", 1)[1], "name": f"BUS {n}",
         "location_type": "GENERATOR", "zone": "WEST", "effective_date": date(2020, 1, 1),
         "termination_date": None}
        for n, node in enumerate(NODES)
    ]  # fmt: skip
    store.upsert_locations(pa.Table.from_pylist(directory, schema=LOCATION_SCHEMA))
    return store


async def _time(runs: int, call: Callable[[int], Awaitable[httpx.Response]]) -> list[float]:
    for n in range(10):
        (await call(n)).raise_for_status()
    out = []
    for n in range(runs):
        t0 = time.perf_counter()
        response = await call(10 + n)
        out.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
    return out


def _z(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = _seed(Path(tmp) / "bench.duckdb")
        app = create_app(store, settings=Settings(auth=False))
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            end = DAY + timedelta(days=1)

            def rest(fresh: bool) -> Callable[[int], Awaitable[httpx.Response]]:
                def call(n: int) -> Awaitable[httpx.Response]:
                    stop = end + timedelta(microseconds=n) if fresh else end
                    params = {"instruments": NODE, "start": _z(DAY), "end": _z(stop)}
                    return http.get("/api/v1/prices", params=params)

                return call

            def graphql(query: str, **variables: object) -> Callable[[int], Awaitable]:
                body = {"query": query, "variables": variables}
                return lambda n: http.post("/graphql", json=body)

            one = await http.post(
                "/graphql",
                json={"query": PRICES, "variables": {"id": NODE, "start": _z(DAY), "end": _z(end)}},
            )
            rest_body = (await rest(True)(0)).json()
            series = one.json()["data"]["instrument"]["prices"]
            assert series["value"] == rest_body["columns"]["value"] and len(series["value"]) == 288
            results = {
                "rest_prices_miss": await _time(runs, rest(True)),
                "rest_prices_hit": await _time(runs, rest(False)),
                "graphql_prices": await _time(
                    runs, graphql(PRICES, id=NODE, start=_z(DAY), end=_z(end))
                ),
                "graphql_catalogue_100": await _time(runs, graphql(CATALOGUE)),
                "rest_instruments_100": await _time(
                    runs, lambda n: http.get("/api/v1/instruments", params={"iso": "PJM"})
                ),
            }
            sizes = {
                "rest_prices": len((await rest(True)(99999)).content),
                "graphql_prices": len(one.content),
            }
        store.close()
    summary = []
    for name, times in results.items():
        median = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{name:24s} median {median:7.2f} ms   p90 {p90:7.2f} ms")
        summary.append(f"{name}_ms={median:.2f}")
    ratio = statistics.median(results["graphql_prices"]) / statistics.median(
        results["rest_prices_miss"]
    )
    print(f"bytes: rest {sizes['rest_prices']:,}  graphql {sizes['graphql_prices']:,}")
    print("SUMMARY " + " ".join(summary) + f" graphql_over_rest_miss={ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(main(parser.parse_args().runs))
