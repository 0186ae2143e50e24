-- The index behind the key limit checks (docs/limits.md). Every create counts the
-- usable keys of its org, project or owner under the org's lock. keys_org
-- and keys_project find the rows but not whether each is revoked or
-- expired, so the count visited one heap row per key, scattered over the
-- whole table once projects fill; without planner statistics PostgreSQL
-- even counted through keys_org, every key of the org. This index holds
-- only unrevoked keys and every column the count reads, in the order of
-- its conditions (org, kind, project, owner, then the expiry it filters
-- on), so the count is a range of one index, read without the table where
-- the visibility map allows (index-only scan).
--
-- Built inside the migration's transaction: it blocks writes to keys while
-- it builds, a few seconds per million keys.

CREATE INDEX keys_usable ON keys (org_id, kind, project_id, owner_user_id, expires_at)
    WHERE revoked_at IS NULL;

-- The count reads the table only for pages the visibility map does not
-- mark all-visible, and only VACUUM marks them. By default autovacuum
-- vacuums an insert-only table once 20% of its rows are new (200,000 keys
-- at a million), and until then every count visits the table for each
-- newer key of its project. At 1% it runs after about 10,000 new keys at a
-- million; each run reads only the pages not yet all-visible, so running
-- more often costs little more in total. (Updates, such as last_used_at,
-- clear the mark too; autovacuum's usual dead-row trigger covers those.)
ALTER TABLE keys SET (autovacuum_vacuum_insert_scale_factor = 0.01);
