-- carbon254 store, DuckDB backend: API keys for the service (`carbon254 apikey ...`).
-- A key is `c254_<key_id>_<secret>`; only the SHA-256 of the whole key is stored, never
-- the secret. key_id is public (it names the key in logs, listings and rate limits).
-- Scopes are a comma-separated list (read, trade, admin). Timestamps are UTC.
CREATE TABLE api_keys (
    key_id                 VARCHAR PRIMARY KEY,
    name                   VARCHAR NOT NULL,
    secret_sha256          VARCHAR NOT NULL,
    scopes                 VARCHAR NOT NULL,
    rate_limit_per_minute  BIGINT,            -- NULL: the service's default limit
    created_at             TIMESTAMP NOT NULL,
    expires_at             TIMESTAMP,         -- NULL: never
    revoked_at             TIMESTAMP,
    last_used_at           TIMESTAMP          -- updated at most once a minute per key
);
