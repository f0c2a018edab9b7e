-- carbon254 store, DuckDB backend: initial schema.
-- Times are TIMESTAMP holding UTC (DuckDB's TIMESTAMPTZ would depend on the session zone).
-- prices has no index on purpose: DuckDB prunes by per-row-group min/max, so physical
-- order (day, instrument_key, interval_start) is the lever; the store writes in that order.

-- Time travel (`as_of`) goes through batches, not wall clocks on rows: batch ids are
-- allocated under the writer lock, so they follow commit order, and each committed batch
-- carries committed_at. "As of T" = every batch with committed_at <= T, i.e. batch_id <= N.
-- A row of prices was written by batch_id; a revision row was written by batch_id and
-- superseded by superseded_by.

CREATE TABLE instruments (
    instrument_key  INTEGER PRIMARY KEY,
    instrument      VARCHAR NOT NULL UNIQUE,
    iso             VARCHAR NOT NULL,
    market          VARCHAR NOT NULL,
    product         VARCHAR NOT NULL,
    location        VARCHAR NOT NULL,
    first_interval  TIMESTAMP,
    last_interval   TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE locations (
    iso               VARCHAR NOT NULL,
    location          VARCHAR NOT NULL,
    name              VARCHAR,
    location_type     VARCHAR NOT NULL,
    zone              VARCHAR,
    effective_date    DATE NOT NULL,
    termination_date  DATE,
    updated_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (iso, location, effective_date)
);

CREATE TABLE ingest_batches (
    batch_id             BIGINT PRIMARY KEY,
    source               VARCHAR NOT NULL,
    fetched_at           TIMESTAMP,
    content_sha256       VARCHAR,
    rows_received        BIGINT NOT NULL DEFAULT 0,
    rows_inserted        BIGINT NOT NULL DEFAULT 0,
    rows_revised         BIGINT NOT NULL DEFAULT 0,
    rows_unchanged       BIGINT NOT NULL DEFAULT 0,
    instruments_created  INTEGER NOT NULL DEFAULT 0,
    status               VARCHAR NOT NULL,
    error                VARCHAR,
    started_at           TIMESTAMP NOT NULL,
    finished_at          TIMESTAMP,
    committed_at         TIMESTAMP
);

CREATE TABLE prices (
    instrument_key  INTEGER NOT NULL,
    interval_start  TIMESTAMP NOT NULL,
    interval_end    TIMESTAMP NOT NULL,
    value           DOUBLE NOT NULL,
    energy          DOUBLE,
    congestion      DOUBLE,
    loss            DOUBLE,
    ghg             DOUBLE,
    batch_id        BIGINT NOT NULL
);

CREATE TABLE price_revisions (
    instrument_key  INTEGER NOT NULL,
    interval_start  TIMESTAMP NOT NULL,
    interval_end    TIMESTAMP NOT NULL,
    value           DOUBLE NOT NULL,
    energy          DOUBLE,
    congestion      DOUBLE,
    loss            DOUBLE,
    ghg             DOUBLE,
    batch_id        BIGINT NOT NULL,
    superseded_by   BIGINT NOT NULL
);
