-- The audit log and the approval requests of the two-person rule (docs/audit.md).
--
-- audit_entries: every operator act, numbered 1, 2, 3, … (seq) and hash-chained: hash covers
-- every column and prev_hash, the previous entry's hash (32 zero bytes for entry 1). Append-only:
-- the triggers refuse updates and deletes, and the store has no code path for either. Written on
-- its own connection, one entry per transaction, never by the group committer.
-- approvals: requests waiting for a second person. A row moves only forward along
-- pending → approved → executed | failed, pending → rejected, pending → expired; the identity of
-- a request (what, by whom, when) never changes, and no row is deleted.
CREATE TABLE audit_entries (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL, -- UTC ticks
    actor        TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    before_value TEXT,
    after_value  TEXT,
    reason       TEXT,
    details      TEXT,             -- compact JSON object
    prev_hash    BLOB    NOT NULL,
    hash         BLOB    NOT NULL
);

CREATE INDEX audit_by_action ON audit_entries (action, seq);
CREATE INDEX audit_by_actor ON audit_entries (actor, seq);
CREATE INDEX audit_by_target ON audit_entries (target, seq);

CREATE TRIGGER audit_entries_append_only_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;

CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are append-only');
END;

CREATE TABLE approvals (
    id              INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused
    kind            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    path            TEXT    NOT NULL,
    body            TEXT    NOT NULL, -- the request as it will be executed, compact JSON
    requested_by    TEXT    NOT NULL,
    reason          TEXT,
    created_at      INTEGER NOT NULL, -- UTC ticks
    expires_at      INTEGER NOT NULL, -- UTC ticks
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'executed', 'failed')),
    decided_by      TEXT,
    decided_at      INTEGER,
    decision_reason TEXT,
    result_status   INTEGER,
    result          TEXT
);

CREATE INDEX approvals_by_status ON approvals (status, kind, subject);

CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
BEGIN
    SELECT RAISE(ABORT, 'approval requests are never deleted');
END;

CREATE TRIGGER approvals_forward_only BEFORE UPDATE ON approvals
WHEN OLD.status NOT IN ('pending', 'approved')
    OR (OLD.status = 'pending' AND NEW.status NOT IN ('approved', 'rejected', 'expired'))
    OR (OLD.status = 'approved' AND NEW.status NOT IN ('executed', 'failed'))
    OR NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind OR NEW.subject IS NOT OLD.subject OR NEW.path IS NOT OLD.path
    OR NEW.body IS NOT OLD.body OR NEW.requested_by IS NOT OLD.requested_by OR NEW.reason IS NOT OLD.reason
    OR NEW.created_at IS NOT OLD.created_at OR NEW.expires_at IS NOT OLD.expires_at
BEGIN
    SELECT RAISE(ABORT, 'an approval request only moves forward: pending -> approved -> executed | failed, pending -> rejected | expired');
END;
