-- carbon254 store, DuckDB backend: market quantities that are not prices (ERCOT 2-day AS
-- disclosure: cleared and self-arranged MW). Latest value per key, batch_id = who wrote it.
-- Key: (dataset, series, interval_start); no index, as for the other record tables.
CREATE TABLE market_quantities (
    dataset         VARCHAR NOT NULL,
    iso             VARCHAR NOT NULL,
    series          VARCHAR NOT NULL,
    interval_start  TIMESTAMP NOT NULL,
    interval_end    TIMESTAMP NOT NULL,
    value           DOUBLE,
    batch_id        BIGINT NOT NULL
);
