-- The lifecycle of event runs: every phase change of every run, append-only.
--
-- A run is (event_id, run); its transitions are numbered 0, 1, 2, … (sequence) and each starts
-- from the previous one's phase. The primary key refuses a second writer of the same step, so a
-- phase is reached exactly once even if two coordinators (or a retry after a crash) try.
CREATE TABLE run_transitions (
    event_id    TEXT    NOT NULL,
    run         INTEGER NOT NULL,
    sequence    INTEGER NOT NULL,
    from_phase  TEXT    NOT NULL,
    to_phase    TEXT    NOT NULL,
    at          INTEGER NOT NULL, -- UTC ticks: when the transition was due (schedule) or made (operator)
    cause       TEXT    NOT NULL, -- schedule | operator | finalization
    recorded_at INTEGER NOT NULL, -- UTC ticks: when it was written
    release_ref INTEGER NOT NULL REFERENCES releases (ref), -- the release whose schedule it followed
    PRIMARY KEY (event_id, run, sequence)
) WITHOUT ROWID;

CREATE TRIGGER run_transitions_append_only_update BEFORE UPDATE ON run_transitions
BEGIN
    SELECT RAISE(ABORT, 'run transitions are append-only');
END;

CREATE TRIGGER run_transitions_append_only_delete BEFORE DELETE ON run_transitions
BEGIN
    SELECT RAISE(ABORT, 'run transitions are append-only');
END;
