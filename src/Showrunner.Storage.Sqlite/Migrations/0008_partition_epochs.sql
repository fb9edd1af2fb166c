-- Owner epochs of the partitions (docs/internals/storage.md, "Owner epochs").
--
-- One row per partition that was ever claimed; a partition without a row is at epoch 0. A claim
-- increments the epoch; a fenced group commit reads its partitions' epochs in its own write
-- transaction and writes nothing when one differs. Existing data directories gain the empty table:
-- every partition starts at epoch 0, and unfenced commits (one process, the data directory's lock)
-- go on as before.
CREATE TABLE partition_epochs (
    partition  INTEGER PRIMARY KEY,
    epoch      INTEGER NOT NULL CHECK (epoch >= 1),
    owner      TEXT    NOT NULL,
    claimed_at INTEGER NOT NULL -- UTC ticks
);

-- An epoch only grows: a claim that would lower it (or a delete) is refused.
CREATE TRIGGER partition_epochs_only_grow BEFORE UPDATE ON partition_epochs
WHEN NEW.epoch <= OLD.epoch OR NEW.partition <> OLD.partition
BEGIN
    SELECT RAISE(ABORT, 'a partition epoch only grows');
END;

CREATE TRIGGER partition_epochs_no_delete BEFORE DELETE ON partition_epochs
BEGIN
    SELECT RAISE(ABORT, 'a partition epoch only grows');
END;
