-- Staged rollouts and flags (docs/operations.md, "Staged rollout", "Flags").
--
-- rollouts: one row per rollout, immutable: the candidate and the baseline it runs beside, the plan
-- (JSON, as GET /v1/rollout shows it), the bucketing salt, who started it, and each partition's
-- ledger size at the start (8-byte big-endian sizes; what a "reverse" rollback compensates lies after).
-- rollout_changes: the rollout's history, append-only: start, step (advanced to step N), hold,
-- rollback, complete. The current state is the last change.
-- rollout_assignments: players the candidate evaluated during the rollout, written in the same
-- transaction as the first action it evaluated for them: a player stays with the candidate for the
-- rest of the rollout even if the percentage is lowered.
-- flags: kill switches, append-only: each flip is a row; the latest row per (kind, target) is in force.
-- An event flag is decided at an ingest stamp ("at"), like a pause: replay and reconcile apply it.
CREATE TABLE rollouts (
    id               INTEGER PRIMARY KEY,
    candidate_ref    INTEGER NOT NULL REFERENCES releases (ref),
    baseline_ref     INTEGER NOT NULL REFERENCES releases (ref),
    register_version INTEGER NOT NULL,
    plan             TEXT    NOT NULL,
    salt             TEXT    NOT NULL,
    created_at       INTEGER NOT NULL, -- UTC ticks
    created_by       TEXT    NOT NULL,
    ledger_frontier  BLOB    NOT NULL
);

CREATE TABLE rollout_changes (
    rollout_id INTEGER NOT NULL REFERENCES rollouts (id),
    sequence   INTEGER NOT NULL, -- 0, 1, 2, …
    kind       TEXT    NOT NULL, -- start | step | hold | rollback | complete
    step       INTEGER NOT NULL, -- the step in force after the change (0-based)
    at         INTEGER NOT NULL, -- UTC ticks
    actor      TEXT    NOT NULL,
    reason     TEXT,
    PRIMARY KEY (rollout_id, sequence)
) WITHOUT ROWID;

CREATE TABLE rollout_assignments (
    rollout_id INTEGER NOT NULL,
    player     TEXT    NOT NULL,
    partition  INTEGER NOT NULL,
    seq        INTEGER NOT NULL, -- the first action the candidate evaluated for the player
    PRIMARY KEY (rollout_id, player)
) WITHOUT ROWID;

CREATE TABLE flags (
    sequence INTEGER PRIMARY KEY, -- 1, 2, 3, …
    kind     TEXT    NOT NULL,    -- event | config
    target   TEXT    NOT NULL,    -- event id or config key
    enabled  INTEGER NOT NULL,    -- 0: killed
    at       INTEGER NOT NULL,    -- UTC ticks; for event flags the ingest stamp it is in force from
    actor    TEXT    NOT NULL,
    reason   TEXT
);

CREATE TRIGGER rollouts_append_only_update BEFORE UPDATE ON rollouts BEGIN SELECT RAISE(ABORT, 'rollouts are immutable'); END;
CREATE TRIGGER rollouts_append_only_delete BEFORE DELETE ON rollouts BEGIN SELECT RAISE(ABORT, 'rollouts are immutable'); END;
CREATE TRIGGER rollout_changes_append_only_update BEFORE UPDATE ON rollout_changes BEGIN SELECT RAISE(ABORT, 'rollout changes are append-only'); END;
CREATE TRIGGER rollout_changes_append_only_delete BEFORE DELETE ON rollout_changes BEGIN SELECT RAISE(ABORT, 'rollout changes are append-only'); END;
CREATE TRIGGER flags_append_only_update BEFORE UPDATE ON flags BEGIN SELECT RAISE(ABORT, 'flags are append-only'); END;
CREATE TRIGGER flags_append_only_delete BEFORE DELETE ON flags BEGIN SELECT RAISE(ABORT, 'flags are append-only'); END;
