"""Fake datasets served from bytes by an in-memory upstream, for ingestion tests.

`Upstream` plays the ISO: it holds one JSON payload per local day (built by `day_payload`)
and can fail a day a number of times first. The fake datasets speak the real connector
contract (`fetch` through `HttpFetcher`, `parse` to the canonical table), so the runner,
backfill and scheduler are exercised exactly as with PJM or ERCOT, with no network.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pyarrow as pa

from carbon254.connectors.dataset import (
    Auth,
    Components,
    Dataset,
    Target,
    TimeRule,
    Transport,
    Window,
)
from carbon254.connectors.errors import PayloadError
from carbon254.connectors.http import HttpFetcher, RawResponse, RetryPolicy
from carbon254.core import PRICE_SCHEMA, Iso, Market, Product, market_day
from carbon254.core.records import CONSTRAINT_SCHEMA
from carbon254.core.schema import UTC_TS

HOST = "https://upstream.test"
NODES = ("51288", "51289", "51290")


def day_payload(
    iso: Iso,
    day: date,
    nodes: Sequence[str] = NODES,
    *,
    step: timedelta = timedelta(hours=1),
    drop: Iterable[tuple[str, int]] = (),
    price: float = 30.0,
    broken_components: bool = False,
) -> bytes:
    """One local day of prices for `nodes`: every interval of the day (23/24/25 hours
    on DST days), less the (node, interval index) pairs in `drop`."""
    start, end = market_day(iso, day)
    dropped = set(drop)
    items = []
    for node in nodes:
        t, i = start, 0
        while t < end:
            if (node, i) not in dropped:
                energy, congestion, loss = price + i * 0.25, 1.25, 0.5
                lmp = energy + congestion + loss + (5.0 if broken_components else 0.0)
                items.append(
                    {"node": node, "start": t.isoformat(), "lmp": lmp, "energy": energy,
                     "congestion": congestion, "loss": loss}
                )  # fmt: skip
            t += step
            i += 1
    return json.dumps({"items": items}).encode()


@dataclass
class Upstream:
    """An ISO in memory: `payloads[(dataset, day)]` bytes; `fail[(dataset, day)]` = how
    many requests answer HTTP 503 (or `status`) first."""

    payloads: dict[tuple[str, str], bytes] = field(default_factory=dict)
    fail: dict[tuple[str, str], int] = field(default_factory=dict)
    status: int = 503
    requests: list[str] = field(default_factory=list)

    def put(self, dataset: str, day: date, content: bytes) -> None:
        self.payloads[(dataset, day.isoformat())] = content

    def handle(self, request: httpx.Request) -> httpx.Response:
        dataset = request.url.path.strip("/")
        day = request.url.params["day"]
        self.requests.append(f"{dataset} {day}")
        key = (dataset, day)
        if self.fail.get(key, 0) > 0:
            self.fail[key] -= 1
            return httpx.Response(self.status, text="upstream trouble")
        if key not in self.payloads:
            return httpx.Response(200, json={"items": []})
        return httpx.Response(200, content=self.payloads[key])

    def fetcher(self) -> HttpFetcher:
        client = httpx.Client(transport=httpx.MockTransport(self.handle))
        return HttpFetcher(client, retry=RetryPolicy(attempts=1), sleep=lambda s: None)

    def count(self, dataset: str) -> int:
        return sum(r.startswith(f"{dataset} ") for r in self.requests)


class FakeDataset(Dataset):
    """Fetches one JSON document per local day from the `Upstream`."""

    transport = Transport.JSON_API
    time_rule = TimeRule.UTC_FIELD
    description = "a fake dataset for ingestion tests"

    def fetch(self, http: HttpFetcher, window: Window) -> list[RawResponse]:
        tz = self.iso.tz
        day = window.start.astimezone(tz).date()
        raws = []
        while market_day(self.iso, day)[0] < window.end:
            raws.append(http.get(self.name, f"{HOST}/{self.name}", params={"day": day.isoformat()}))
            day += timedelta(days=1)
        return raws

    def items(self, raws: Sequence[RawResponse]) -> list[dict]:
        items = []
        for raw in raws:
            try:
                items += json.loads(raw.content)["items"]
            except (ValueError, KeyError) as exc:
                raise PayloadError(self.name, f"not the JSON we expect: {exc}") from None
        return items


class FakePrices(FakeDataset):
    """Hourly day-ahead LMPs with components (instrument PJM.DA.LMP.<node>)."""

    name = "test.da_prices"
    iso = Iso.PJM
    target = Target.PRICES
    components = Components.PUBLISHED
    produces = ((Market.DA, Product.LMP),)
    market = Market.DA

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        items = self.items(raws)
        prefix = f"{self.iso.value}.{self.market.value}.LMP."
        starts = [datetime.fromisoformat(i["start"]).astimezone(UTC) for i in items]
        return pa.table(
            {
                "instrument": [prefix + i["node"] for i in items],
                "interval_start": pa.array(starts, UTC_TS),
                "interval_end": pa.array([s + self.market.interval for s in starts], UTC_TS),
                "value": [i["lmp"] for i in items],
                "energy": [i["energy"] for i in items],
                "congestion": [i["congestion"] for i in items],
                "loss": [i["loss"] for i in items],
                "ghg": pa.nulls(len(items), pa.float64()),
            },
            schema=PRICE_SCHEMA,
        )


class FakeRtPrices(FakePrices):
    """Five-minute real-time LMPs (PJM.RT5.LMP.<node>)."""

    name = "test.rt_prices"
    produces = ((Market.RT5, Product.LMP),)
    market = Market.RT5


class FakeKeyed(FakePrices):
    """Needs TEST_FAKE_KEY in the environment."""

    name = "test.keyed_prices"
    auth = Auth(env=("TEST_FAKE_KEY",))


class FakeConstraints(FakeDataset):
    """Binding constraints: one row per item (monitored facility = node)."""

    name = "test.constraints"
    iso = Iso.PJM
    target = Target.CONSTRAINTS

    def parse(self, raws: Sequence[RawResponse]) -> pa.Table:
        items = self.items(raws)
        starts = [datetime.fromisoformat(i["start"]).astimezone(UTC) for i in items]
        n = len(items)
        return pa.table(
            {
                "dataset": [self.name] * n,
                "iso": ["PJM"] * n,
                "market": ["DA"] * n,
                "monitored_facility": [f"LINE {i['node']}" for i in items],
                "contingency_facility": [""] * n,
                "interval_start": pa.array(starts, UTC_TS),
                "interval_end": pa.array([s + timedelta(hours=1) for s in starts], UTC_TS),
                "shadow_price": [i["congestion"] for i in items],
                "penalty_factor": pa.nulls(n, pa.float64()),
                "limit_control_pct": pa.nulls(n, pa.float64()),
            },
            schema=CONSTRAINT_SCHEMA,
        )


class FakeNoTable(FakePrices):
    """Rows of a shape the store has no table for yet (like ercot.np3-911-er)."""

    name = "test.no_table"
    target = None  # type: ignore[assignment]


FAKES: tuple[type[Dataset], ...] = (
    FakePrices,
    FakeRtPrices,
    FakeKeyed,
    FakeConstraints,
    FakeNoTable,
)


class Killed(BaseException):
    """What a SIGKILL looks like to the code after it: nothing more runs (the
    `kills_are_final` fixture keeps the runner's bookkeeping from recording it)."""
