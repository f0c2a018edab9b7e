"""Real PJM Data Miner 2 bytes (../shared/data) through validation and the store.

Not a connector test (that is the connectors' job): this proves the canonical schema and
both backends hold a year of real day-ahead LMPs with both DST days intact.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from carbon254.core import market_day, validate_prices

from .helpers import utc

FILE = "iso/pjm/dataminer_da_hrl_lmps_pnode48592_ALDENE_2025-06-16_2026-06-15.csv"
ID = "PJM.DA.LMP.48592"


@pytest.fixture(scope="module")
def aldene(shared_data: Path) -> pa.Table:
    raw = pd.read_csv(shared_data / FILE)
    start = pd.to_datetime(raw["datetime_beginning_utc"], format="%m/%d/%Y %I:%M:%S %p", utc=True)
    return pa.table(
        {
            "instrument": [ID] * len(raw),
            "interval_start": pa.array(start, pa.timestamp("us", tz="UTC")),
            "interval_end": pa.array(start + pd.Timedelta(hours=1), pa.timestamp("us", tz="UTC")),
            "value": raw["total_lmp_da"],
            "energy": raw["system_energy_price_da"],
            "congestion": raw["congestion_price_da"],
            "loss": raw["marginal_loss_price_da"],
        }
    )


def test_a_year_of_real_prices_is_valid_canonical_data(aldene: pa.Table) -> None:
    assert validate_prices(aldene).num_rows == 8737


@pytest.mark.parametrize(("day", "hours"), [(date(2025, 11, 2), 25), (date(2026, 3, 8), 23)])
def test_dst_days_survive_the_store(store, aldene: pa.Table, day: date, hours: int) -> None:
    result = store.upsert_prices(aldene, source=f"file:{FILE}")
    assert result.rows_inserted == 8737
    start, end = market_day("PJM", day)
    rows = store.read_prices([ID], start, end)
    assert rows.num_rows == hours
    daily = store.resample([ID], start, end, freq="daily").to_pylist()
    assert daily[0]["count"] == hours
    # the repeated 01:00 EPT hour on 2025-11-02 is two distinct UTC hours (05:00Z and 06:00Z)
    if hours == 25:
        starts = [t.hour for t in rows["interval_start"].to_pylist()[:4]]
        assert starts == [4, 5, 6, 7]


def test_real_first_rows_read_back_exactly(store, aldene: pa.Table) -> None:
    store.upsert_prices(aldene, source=f"file:{FILE}")
    first = store.read_prices([ID], utc(2025, 6, 16, 4), utc(2025, 6, 16, 5)).to_pylist()[0]
    # 6/16/2025 4:00:00 AM UTC: system energy 19.28, total 14.37, congestion -4.39, loss -0.52
    assert (first["energy"], first["value"], first["congestion"], first["loss"]) == (
        19.28,
        14.37,
        -4.39,
        -0.52,
    )
