-- Invitations to join an org, accepted by the invited person with a
-- one-time link (only its digest is stored), and the org a password reset
-- was made for: a reset works only while its account belongs to no other
-- org.

CREATE TABLE invitations (
    id          text COLLATE "C" PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id     text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       text NOT NULL,
    role        text NOT NULL,
    projects    jsonb NOT NULL, -- [{"project_id","role"}]
    digest      bytea NOT NULL UNIQUE,
    -- created_by is the actor who invited; not a reference, so the
    -- invitation outlives its maker like an audit event does.
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz, -- NULL until accepted
    revoked_at  timestamptz  -- NULL unless revoked
);
CREATE INDEX invitations_org ON invitations (org_id, id);

ALTER TABLE password_resets ADD COLUMN org_id text NOT NULL DEFAULT '';
