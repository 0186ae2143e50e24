-- Whose key each change is about, so that a change stream can show an org
-- or a project only the changes of its own keys. Changes recorded before
-- this migration have '' here and are shown to every stream (they carry
-- only key ids and age out of the log within the hour).

ALTER TABLE key_changes ADD COLUMN org_id text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE key_changes ADD COLUMN project_id text COLLATE "C" NOT NULL DEFAULT '';
