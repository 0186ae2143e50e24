-- The key change log: one row per key that CreateKey, UpdateKey or
-- DeleteProject wrote, in the same transaction. Nodes read it by seq to keep
-- their verification caches in step. AUTOINCREMENT: a seq is never reused,
-- even after the newest rows are pruned. No reference to keys: a deleted
-- key's change must outlive it. Times are INTEGER unix microseconds (UTC).

CREATE TABLE key_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX key_changes_at ON key_changes (at);
