"""ISO connectors: fetch raw bytes, parse them into canonical Arrow tables.

`dataset.Dataset` is the contract; `http.HttpFetcher` does the network with retries and
rate budgets; `payload` and `clock` hold the checks and time rules every ISO shares.
"""
