"""Many instruments at once with the asyncio client, and a long range page by page.

CARBON254_BASE_URL=http://localhost:8000 python examples/async_many.py
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pandas as pd

import carbon254
from carbon254.core.api_models import Instrument


async def main() -> None:
    async with carbon254.AsyncClient() as client:
        catalogue = await client.instruments()
        picks = [i for i in catalogue if i.last_interval is not None][:4]

        # One request per instrument, concurrently, over one connection pool.
        async def last_day(instrument: Instrument) -> pd.DataFrame:
            assert instrument.last_interval is not None
            end = instrument.last_interval + timedelta(hours=1)
            frame = await client.prices(instrument.instrument, end - timedelta(days=1), end)
            return frame.to_pandas()

        frames = await asyncio.gather(*(last_day(i) for i in picks))
        for instrument, df in zip(picks, frames, strict=True):
            print(f"{instrument.instrument}: {len(df)} rows, last {df['value'].iloc[-1]:.2f}")

        # A range too large to hold at once: stream it a page at a time.
        first = picks[0]
        assert first.first_interval is not None and first.last_interval is not None
        rows = 0
        async for page in client.iter_pages(
            first.instrument, first.first_interval, first.last_interval, page_size=500
        ):
            rows += len(page)
        print(f"{first.instrument}: {rows} rows streamed in pages of 500")


if __name__ == "__main__":
    asyncio.run(main())
