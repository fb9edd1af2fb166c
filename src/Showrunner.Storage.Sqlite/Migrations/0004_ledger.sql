-- The ledger, its Merkle nodes and checkpoints; community-goal records; partition snapshots; the outbox.
--
-- ledger_entries: every grant, one partition's log per partition, indexed 0, 1, 2, … (idx). entry
-- holds the canonical bytes that are hashed (docs/ledger.md); the other columns repeat fields of
-- it for lookups. grant_id (the 32 bytes of the hex id) is unique: the store itself refuses a
-- second entry for a cause, whatever the runtime does. Written in the same transaction as the
-- action that caused the grant. Append-only.
-- merkle_nodes: the hashes of the complete subtrees of each partition's Merkle log at level 4
-- and above (lower ones are recomputed from at most 8 entries' hashes; a leaf is
-- SHA-256(0x00 ‖ ledger_entries.hash)); written with the entries.
-- checkpoints: signed statements of every partition's (size, root). Append-only.
-- community_goals: the run's community goal was reached (at most once per run). Append-only.
-- partition_snapshots / player_states: the partitions' derived state (progress, profiles,
-- contribution slots) as of a seq, written through the group commit so that a restart loads them
-- and replays only the actions after position. Upserted (derived state; the action log is the truth).
-- outbox: one delivery per grant, written with the entry; the outbox worker updates its state.
CREATE TABLE ledger_entries (
    position   INTEGER PRIMARY KEY, -- append order: a commit's entries land on consecutive pages
    partition  INTEGER NOT NULL,
    idx        INTEGER NOT NULL,
    grant_id   BLOB    NOT NULL,
    player     TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    run        INTEGER NOT NULL,
    cause_kind TEXT    NOT NULL,
    time       INTEGER NOT NULL, -- UTC ticks
    entry      BLOB    NOT NULL, -- canonical entry bytes
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);

-- Why a rowid table with a narrow (partition, idx) index, not one clustered by (partition, idx):
-- entries are about 650 bytes, so a clustered leaf holds six of them and each of the 256
-- partitions' insertion points splits a page every few grants. Appended entries and 20-byte
-- index rows measured 12% more actions/s on the live benchmark (17,300 vs 15,500; the write
-- volume stayed about the same, docs/benchmarks.md "What bounds it").
CREATE UNIQUE INDEX ledger_by_partition ON ledger_entries (partition, idx);
CREATE UNIQUE INDEX ledger_by_grant_id ON ledger_entries (grant_id);
CREATE INDEX ledger_by_player ON ledger_entries (player);

CREATE TRIGGER ledger_entries_append_only_update BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;

CREATE TRIGGER ledger_entries_append_only_delete BEFORE DELETE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;

CREATE TABLE merkle_nodes (
    partition INTEGER NOT NULL,
    level     INTEGER NOT NULL, -- 4 and above (SqliteActionStore.MinStoredNodeLevel)
    idx       INTEGER NOT NULL, -- covers leaves [idx·2^level, (idx+1)·2^level)
    hash      BLOB    NOT NULL,
    PRIMARY KEY (partition, level, idx)
) WITHOUT ROWID;

CREATE TRIGGER merkle_nodes_append_only_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle nodes are append-only');
END;

CREATE TRIGGER merkle_nodes_append_only_delete BEFORE DELETE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle nodes are append-only');
END;

CREATE TABLE checkpoints (
    sequence  INTEGER PRIMARY KEY,
    time      INTEGER NOT NULL, -- UTC ticks
    key_id    TEXT    NOT NULL,
    body      BLOB    NOT NULL, -- canonical checkpoint bytes
    signature BLOB    NOT NULL  -- DER
);

CREATE TRIGGER checkpoints_append_only_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only');
END;

CREATE TRIGGER checkpoints_append_only_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only');
END;

CREATE TABLE community_goals (
    event_id    TEXT    NOT NULL,
    run         INTEGER NOT NULL,
    at          INTEGER NOT NULL, -- UTC ticks: when the coordinator saw the sum at or above the target
    sum         INTEGER NOT NULL,
    release_ref INTEGER NOT NULL REFERENCES releases (ref),
    PRIMARY KEY (event_id, run)
) WITHOUT ROWID;

CREATE TRIGGER community_goals_append_only_update BEFORE UPDATE ON community_goals
BEGIN
    SELECT RAISE(ABORT, 'community goal records are append-only');
END;

CREATE TRIGGER community_goals_append_only_delete BEFORE DELETE ON community_goals
BEGIN
    SELECT RAISE(ABORT, 'community goal records are append-only');
END;

CREATE TABLE partition_snapshots (
    partition INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL, -- the state includes the partition's actions 1..seq
    position  INTEGER NOT NULL, -- every action of the partition after seq has a larger actions.position
    taken_at  INTEGER NOT NULL, -- UTC ticks
    data      BLOB    NOT NULL  -- partition-wide state (contribution slots)
);

CREATE TABLE player_states (
    player    TEXT    PRIMARY KEY,
    partition INTEGER NOT NULL,
    data      BLOB    NOT NULL -- profile and progress per run, as of the partition's snapshot
) WITHOUT ROWID;

CREATE INDEX player_states_by_partition ON player_states (partition);

CREATE TABLE outbox (
    seq              INTEGER PRIMARY KEY, -- enqueue order
    grant_id         TEXT    NOT NULL UNIQUE,
    payload          BLOB    NOT NULL,
    status           INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)), -- 0 pending, 1 delivered, 2 dead-lettered
    attempts         INTEGER NOT NULL DEFAULT 0, -- since enqueue or the last redeliver
    total_attempts   INTEGER NOT NULL DEFAULT 0,
    enqueued_at      INTEGER NOT NULL, -- UTC ticks
    next_attempt_at  INTEGER NOT NULL, -- UTC ticks (the end of a claim while an attempt is in flight)
    last_attempt_at  INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     INTEGER,
    dead_lettered_at INTEGER
);

CREATE INDEX outbox_due ON outbox (next_attempt_at, seq) WHERE status = 0;
CREATE INDEX outbox_dead ON outbox (grant_id) WHERE status = 2;
