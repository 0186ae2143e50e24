-- The index behind the key limit checks (docs/limits.md), as on PostgreSQL: every
-- create counts the usable keys of its org, project or owner, and keys_org
-- and keys_project do not say whether a key is revoked or expired, so the
-- count read one table row per key. This index holds only unrevoked keys
-- and every column the count reads, in the order of its conditions, so the
-- count is a range of one covering index. revoked_at is always NULL in it,
-- but SQLite uses a partial index as covering only if it also holds the
-- columns of the index's own WHERE clause.

CREATE INDEX keys_usable ON keys (org_id, kind, project_id, owner_user_id, expires_at, revoked_at)
    WHERE revoked_at IS NULL;
