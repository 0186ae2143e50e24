-- Invitations to join an org, accepted by the invited person with a
-- one-time link (only its digest is stored), and the org a password reset
-- was made for: a reset works only while its account belongs to no other
-- org. Times are INTEGER unix microseconds (UTC).

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL,
    projects    TEXT NOT NULL, -- JSON: [{"project_id","role"}]
    digest      BLOB NOT NULL UNIQUE,
    -- created_by is the actor who invited; not a reference, so the
    -- invitation outlives its maker like an audit event does.
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER, -- NULL until accepted
    revoked_at  INTEGER  -- NULL unless revoked
);
CREATE INDEX invitations_org ON invitations (org_id, id);

ALTER TABLE password_resets ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
