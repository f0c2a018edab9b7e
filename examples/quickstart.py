"""Quick start: find an instrument, fetch a day of its prices as a DataFrame, resample.

    CARBON254_BASE_URL=http://localhost:8000 python examples/quickstart.py

Credentials, when the server asks for them: CARBON254_API_KEY (or OIDC client
credentials, see docs/sdk.md).
"""

from __future__ import annotations

from datetime import timedelta

import carbon254


def main() -> None:
    with carbon254.Client() as client:  # base URL and API key from the environment
        print("server:", client.health())

        # The catalogue: typed models when iterated, a DataFrame on request.
        catalogue = client.instruments(market="DA")
        print(f"{len(catalogue)} day-ahead instruments, e.g. {catalogue[0].instrument}")
        pick = max(catalogue, key=lambda i: i.last_interval or i.first_interval)

        # The last stored day of it: Arrow on the wire, pandas out, UTC timestamps.
        assert pick.last_interval is not None
        end = pick.last_interval + timedelta(hours=1)
        frame = client.prices(pick.instrument, end - timedelta(days=1), end, tz="market")
        df = frame.to_pandas()
        print(df[["interval_start", "interval_start_local", "value"]].head())
        print(f"{len(df)} rows, {df['interval_start'].dtype}, mean {df['value'].mean():.2f} $/MWh")

        # Bucketed in the market's clock: on-peak daily maximum.
        daily = client.prices(
            pick.instrument, end - timedelta(days=7), end, resample="daily", agg="max", peak="on"
        )
        print(daily.to_pandas()[["interval_start", "value", "count"]])


if __name__ == "__main__":
    main()
