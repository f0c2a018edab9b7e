-- carbon254 store, DuckDB backend: ISO records beside prices, job runs, batch source URLs.
-- As with prices, the record tables have no index: one writer (this process) checks keys
-- under the write lock, and DuckDB prunes row groups by interval_start min/max, which
-- stays tight because new rows are appended in time order. An ART index over ~100 M
-- telemetry rows would cost memory for nothing the scans need.

ALTER TABLE ingest_batches ADD COLUMN source_url VARCHAR;

-- Shadow prices of binding constraints; latest value per key, batch_id = who wrote it.
-- Key: (dataset, monitored_facility, contingency_facility, interval_start).
CREATE TABLE binding_constraints (
    dataset               VARCHAR NOT NULL,
    iso                   VARCHAR NOT NULL,
    market                VARCHAR NOT NULL,
    monitored_facility    VARCHAR NOT NULL,
    contingency_facility  VARCHAR NOT NULL,  -- '' when the source names none
    interval_start        TIMESTAMP NOT NULL,
    interval_end          TIMESTAMP NOT NULL,
    shadow_price          DOUBLE,
    penalty_factor        DOUBLE,
    limit_control_pct     DOUBLE,
    batch_id              BIGINT NOT NULL
);

-- Per-resource SCED telemetry. Key: (dataset, resource, interval_start).
CREATE TABLE resource_telemetry (
    dataset             VARCHAR NOT NULL,
    iso                 VARCHAR NOT NULL,
    resource            VARCHAR NOT NULL,
    resource_type       VARCHAR,
    interval_start      TIMESTAMP NOT NULL,
    base_point          DOUBLE,
    telemetered_output  DOUBLE,
    hsl                 DOUBLE,
    lsl                 DOUBLE,
    status              VARCHAR,
    batch_id            BIGINT NOT NULL
);

-- One row per run of a scheduled job over a window. Written outside batch transactions
-- (committed at start), so a run whose process died stays visible as 'running'.
CREATE SEQUENCE job_run_id_seq START 1;
CREATE TABLE job_runs (
    run_id        BIGINT PRIMARY KEY DEFAULT nextval('job_run_id_seq'),
    job           VARCHAR NOT NULL,
    dataset       VARCHAR NOT NULL,
    window_start  TIMESTAMP NOT NULL,
    window_end    TIMESTAMP NOT NULL,
    status        VARCHAR NOT NULL,
    attempts      BIGINT NOT NULL,
    rows          BIGINT,
    batch_id      BIGINT,
    error         VARCHAR,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP
);
