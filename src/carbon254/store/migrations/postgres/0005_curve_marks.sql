-- carbon254 store, PostgreSQL backend: user marks for forward curves, versioned like prices.
-- Each upload that changes anything is one version (a row of curve_mark_versions, ids in
-- commit order: allocated under the writer's advisory lock). A mark row is written by
-- `version` and, once a later upload changes its (curve, month, peak), superseded by
-- `superseded_by`; nothing is deleted. "Marks as of T" = the rows with version <= N and
-- superseded_by NULL or > N, where N is the last version committed by T.
CREATE TABLE curve_mark_versions (
    version          BIGINT PRIMARY KEY,
    curve            TEXT NOT NULL,      -- the instrument id, e.g. PJM.DA.LMP.WESTERN HUB
    source           TEXT NOT NULL,      -- who says so, e.g. desk-x
    uploaded_by      TEXT,               -- the authenticated subject, when there is one
    content_sha256   TEXT NOT NULL,      -- of the upload's (month, peak, price) rows
    rows_received    BIGINT NOT NULL,
    rows_inserted    BIGINT NOT NULL,    -- marks for a (month, peak) with none before
    rows_superseded  BIGINT NOT NULL,    -- marks that replaced a different price
    rows_unchanged   BIGINT NOT NULL,
    committed_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX curve_mark_versions_committed ON curve_mark_versions (committed_at);

CREATE TABLE curve_marks (
    curve          TEXT NOT NULL,
    month          DATE NOT NULL,        -- first day of the delivery month
    peak           TEXT NOT NULL CHECK (peak IN ('on', 'off')),
    price          DOUBLE PRECISION NOT NULL,
    version        BIGINT NOT NULL REFERENCES curve_mark_versions (version),
    superseded_by  BIGINT REFERENCES curve_mark_versions (version)
);
CREATE INDEX curve_marks_curve ON curve_marks (curve, month, peak);
-- At most one current mark per (curve, month, peak).
CREATE UNIQUE INDEX curve_marks_current ON curve_marks (curve, month, peak)
    WHERE superseded_by IS NULL;
