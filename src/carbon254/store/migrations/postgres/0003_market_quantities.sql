-- carbon254 store, PostgreSQL backend: market quantities that are not prices (ERCOT 2-day
-- AS disclosure: cleared and self-arranged MW). Latest value per key, batch_id = who wrote it.
CREATE TABLE market_quantities (
    dataset         TEXT NOT NULL,
    iso             TEXT NOT NULL,
    series          TEXT NOT NULL,
    interval_start  TIMESTAMPTZ NOT NULL,
    interval_end    TIMESTAMPTZ NOT NULL,
    value           DOUBLE PRECISION,
    batch_id        BIGINT NOT NULL,
    PRIMARY KEY (dataset, series, interval_start)
);
CREATE INDEX market_quantities_time_brin ON market_quantities USING brin (interval_start);
