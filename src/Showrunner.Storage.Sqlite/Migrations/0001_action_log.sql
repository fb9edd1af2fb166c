-- The append-only action log.
--
-- One row per accepted action. The rowid (position) is the global append order; each action also
-- has its partition's own sequence number (seq: 1, 2, 3, … without gaps per partition). A unique
-- index on id enforces "applied at most once" in the store itself, whatever the runtime does.
-- Partition heads (the last seq of each partition) are kept in their own small table, written in
-- the same transaction as the actions, so that opening a data directory never scans the log.
-- Why a rowid table and not one clustered by (partition, seq): measured 2.8x faster appends on
-- this workload (docs/internals/ingest.md, "Storage layout").
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE actions (
    position    INTEGER PRIMARY KEY, -- global append order
    partition   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    player      TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    at          INTEGER NOT NULL, -- sender time, UTC ticks (100 ns since 0001-01-01)
    ingested_at INTEGER NOT NULL, -- server time at ingest, UTC ticks
    data        BLOB    NOT NULL  -- compact UTF-8 JSON object
);

CREATE UNIQUE INDEX actions_by_id ON actions (id);

CREATE TABLE partition_heads (
    partition INTEGER PRIMARY KEY,
    head      INTEGER NOT NULL -- last seq committed in the partition; 0 when empty
);

CREATE TRIGGER actions_append_only_update BEFORE UPDATE ON actions
BEGIN
    SELECT RAISE(ABORT, 'the action log is append-only');
END;

CREATE TRIGGER actions_append_only_delete BEFORE DELETE ON actions
BEGIN
    SELECT RAISE(ABORT, 'the action log is append-only');
END;
