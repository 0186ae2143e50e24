-- The key change log: one row per key that CreateKey, UpdateKey or
-- DeleteProject wrote, in the same transaction. Nodes read it by seq to keep
-- their verification caches in step. An identity never hands out a number
-- twice, even after the newest rows are pruned. No reference to keys: a
-- deleted key's change must outlive it.

CREATE TABLE key_changes (
    seq    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key_id text COLLATE "C" NOT NULL,
    at     timestamptz NOT NULL
);
CREATE INDEX key_changes_at ON key_changes (at);
