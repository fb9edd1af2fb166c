-- The append-only action log. One row per accepted action, clustered by (partition, seq) so each
-- partition's log is contiguous; a unique index on id enforces "applied at most once" in the store
-- itself, whatever the runtime does.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE actions (
    partition   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    player      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    at          INTEGER NOT NULL, -- sender time, UTC ticks (100 ns since 0001-01-01)
    ingested_at INTEGER NOT NULL, -- server time at ingest, UTC ticks
    data        BLOB    NOT NULL, -- compact UTF-8 JSON object
    PRIMARY KEY (partition, seq)
) WITHOUT ROWID;

CREATE UNIQUE INDEX actions_by_id ON actions (id);

CREATE TRIGGER actions_append_only_update BEFORE UPDATE ON actions
BEGIN
    SELECT RAISE(ABORT, 'the action log is append-only');
END;

CREATE TRIGGER actions_append_only_delete BEFORE DELETE ON actions
BEGIN
    SELECT RAISE(ABORT, 'the action log is append-only');
END;
