-- Releases, the active-release register, the release that evaluated each action, and player profiles.
--
-- releases: every published bundle, immutable. ref is a small local number that actions refer to;
-- id is the release id (SHA-256 hex of the canonical bundle), unique.
-- release_register: the versioned register of the active release. Each change (activation,
-- rollback, the example release loaded on a new data directory) is a new row with the next
-- version; nothing is updated. "restores" is the register version a rollback from this row goes
-- back to (0: none), so rollbacks undo activations one at a time, like popping a stack.
-- actions.release_ref: the release whose rules were in force on the action's partition when the
-- action was sequenced; NULL when no release was active.
-- player_profiles: the merged attributes of each player's player.profile actions (RFC 7396 merge
-- patch, in log order), written in the same transaction as the actions. Derived state: it can be
-- rebuilt from the log.
CREATE TABLE releases (
    ref          INTEGER PRIMARY KEY,
    id           TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    merkle_root  TEXT    NOT NULL,
    bundle       BLOB    NOT NULL, -- canonical UTF-8 text
    published_at INTEGER NOT NULL  -- UTC ticks
);

CREATE TABLE release_register (
    version     INTEGER PRIMARY KEY, -- 1, 2, 3, … without gaps
    release_ref INTEGER NOT NULL REFERENCES releases (ref),
    restores    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,    -- activate | rollback | example
    reason      TEXT,
    at          INTEGER NOT NULL     -- UTC ticks
);

ALTER TABLE actions ADD COLUMN release_ref INTEGER;

CREATE TABLE player_profiles (
    player    TEXT    PRIMARY KEY,
    partition INTEGER NOT NULL,
    seq       INTEGER NOT NULL, -- seq of the last profile action merged in
    data      TEXT    NOT NULL  -- JSON object
) WITHOUT ROWID;

CREATE TRIGGER releases_append_only_update BEFORE UPDATE ON releases
BEGIN
    SELECT RAISE(ABORT, 'releases are immutable');
END;

CREATE TRIGGER releases_append_only_delete BEFORE DELETE ON releases
BEGIN
    SELECT RAISE(ABORT, 'releases are immutable');
END;

CREATE TRIGGER release_register_append_only_update BEFORE UPDATE ON release_register
BEGIN
    SELECT RAISE(ABORT, 'the release register is append-only');
END;

CREATE TRIGGER release_register_append_only_delete BEFORE DELETE ON release_register
BEGIN
    SELECT RAISE(ABORT, 'the release register is append-only');
END;
