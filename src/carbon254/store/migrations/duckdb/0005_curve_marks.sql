-- carbon254 store, DuckDB backend: user marks for forward curves, versioned like prices.
-- Each upload that changes anything is one version (a row of curve_mark_versions, ids in
-- commit order, committed_at stamped under the writer lock). A mark row is written by
-- `version` and, once a later upload changes its (curve, month, peak), superseded by
-- `superseded_by`; nothing is deleted. "Marks as of T" = the rows with version <= N and
-- superseded_by NULL or > N, where N is the last version committed by T.
CREATE TABLE curve_mark_versions (
    version          BIGINT PRIMARY KEY,
    curve            VARCHAR NOT NULL,   -- the instrument id, e.g. PJM.DA.LMP.WESTERN HUB
    source           VARCHAR NOT NULL,   -- who says so, e.g. desk-x
    uploaded_by      VARCHAR,            -- the authenticated subject, when there is one
    content_sha256   VARCHAR NOT NULL,   -- of the upload's (month, peak, price) rows
    rows_received    BIGINT NOT NULL,
    rows_inserted    BIGINT NOT NULL,    -- marks for a (month, peak) with none before
    rows_superseded  BIGINT NOT NULL,    -- marks that replaced a different price
    rows_unchanged   BIGINT NOT NULL,
    committed_at     TIMESTAMP NOT NULL  -- UTC
);

CREATE TABLE curve_marks (
    curve          VARCHAR NOT NULL,
    month          DATE NOT NULL,        -- first day of the delivery month
    peak           VARCHAR NOT NULL,     -- 'on' | 'off'
    price          DOUBLE NOT NULL,
    version        BIGINT NOT NULL,
    superseded_by  BIGINT                -- NULL while current
);
