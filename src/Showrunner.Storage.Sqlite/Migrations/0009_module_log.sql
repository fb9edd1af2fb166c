-- The partition modules' own logs and snapshots (docs/internals/runtime.md, "The module seam").
--
-- module_log: each module's partition log, (module, partition, seq) with seq 1, 2, 3, … per
-- (module, partition), written through the group commit in the same transaction as everything
-- else of the commit. The payload is the module's own encoding. Append-only.
-- module_snapshots: a module's state of one partition as of seq; a restart restores it and replays
-- module_log after seq (a per-partition position). Upserted (derived state; the log is the truth).
-- Live events keep their own tables (actions, partition_snapshots, player_states).
CREATE TABLE module_log (
    module    TEXT    NOT NULL,
    partition INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    payload   BLOB    NOT NULL,
    PRIMARY KEY (module, partition, seq)
) WITHOUT ROWID;

CREATE TABLE module_snapshots (
    module    TEXT    NOT NULL,
    partition INTEGER NOT NULL,
    seq       INTEGER NOT NULL, -- the state includes the module's records 1..seq of the partition
    taken_at  INTEGER NOT NULL, -- UTC ticks
    data      BLOB    NOT NULL,
    PRIMARY KEY (module, partition)
) WITHOUT ROWID;

CREATE TRIGGER module_log_append_only_update BEFORE UPDATE ON module_log BEGIN SELECT RAISE(ABORT, 'module_log is append-only'); END;
CREATE TRIGGER module_log_append_only_delete BEFORE DELETE ON module_log BEGIN SELECT RAISE(ABORT, 'module_log is append-only'); END;
