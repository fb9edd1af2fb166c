-- API keys: operator keys (a person or their tooling, with a role) and game-server keys (a game
-- server of one title). docs/operations.md, "Principals, keys and roles".
--
-- id is the key's public id (12 lower-case hex characters), also written inside the secret
-- (sr_<id>_<secret>) so that a request's key is found without a scan. The secret itself is never
-- stored: secret_sha256 is the SHA-256 of its 32 random bytes, compared in constant time.
-- A key is never deleted or changed except once, by revocation (revoked_at, revoked_by): the table
-- stays the record of who held which key when. Times are UTC ticks.
CREATE TABLE api_keys (
    seq           INTEGER PRIMARY KEY,      -- creation order (listing pages)
    id            TEXT    NOT NULL UNIQUE,
    kind          TEXT    NOT NULL CHECK (kind IN ('operator', 'game_server')),
    role          TEXT    CHECK (role IN ('viewer', 'operator', 'approver', 'admin')),
    title         TEXT,
    name          TEXT    NOT NULL,
    secret_sha256 BLOB    NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    INTEGER NOT NULL,
    created_by    TEXT    NOT NULL,
    revoked_at    INTEGER,
    revoked_by    TEXT,
    CHECK ((kind = 'operator' AND role IS NOT NULL AND title IS NULL) OR
           (kind = 'game_server' AND role IS NULL AND title IS NOT NULL)),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);

-- Only revocation may change a row, and only once; nothing is deleted.
CREATE TRIGGER api_keys_revoke_only BEFORE UPDATE ON api_keys
WHEN OLD.revoked_at IS NOT NULL
  OR NEW.seq IS NOT OLD.seq OR NEW.id IS NOT OLD.id OR NEW.kind IS NOT OLD.kind OR NEW.role IS NOT OLD.role
  OR NEW.title IS NOT OLD.title OR NEW.name IS NOT OLD.name OR NEW.secret_sha256 IS NOT OLD.secret_sha256
  OR NEW.created_at IS NOT OLD.created_at OR NEW.created_by IS NOT OLD.created_by
BEGIN
    SELECT RAISE(ABORT, 'an API key is only ever revoked, once');
END;

CREATE TRIGGER api_keys_no_delete BEFORE DELETE ON api_keys
BEGIN
    SELECT RAISE(ABORT, 'API keys are never deleted (revoke them)');
END;
