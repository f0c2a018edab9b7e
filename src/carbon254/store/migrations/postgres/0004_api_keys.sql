-- carbon254 store, PostgreSQL backend: API keys for the service (`carbon254 apikey ...`).
-- A key is `c254_<key_id>_<secret>`; only the SHA-256 of the whole key is stored, never
-- the secret. key_id is public (it names the key in logs, listings and rate limits).
-- Scopes are a comma-separated list (read, trade, admin).
CREATE TABLE api_keys (
    key_id                 TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    secret_sha256          TEXT NOT NULL,
    scopes                 TEXT NOT NULL,
    rate_limit_per_minute  BIGINT,            -- NULL: the service's default limit
    created_at             TIMESTAMPTZ NOT NULL,
    expires_at             TIMESTAMPTZ,       -- NULL: never
    revoked_at             TIMESTAMPTZ,
    last_used_at           TIMESTAMPTZ        -- updated at most once a minute per key
);
