-- keyward's first schema. Times are INTEGER unix microseconds (UTC); lists
-- and maps are JSON text; a key's status is derived, never stored.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    -- email_key is the lowercased email: emails are unique case-insensitively,
    -- beyond the ASCII folding that COLLATE NOCASE offers.
    email_key     TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL UNIQUE,
    settings   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE members (
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE projects (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL,
    custom_scopes TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (org_id, slug)
);
CREATE INDEX projects_org ON projects (org_id, id);

CREATE TABLE project_members (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE keys (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    hint            TEXT NOT NULL,
    project_id      TEXT REFERENCES projects (id) ON DELETE CASCADE, -- NULL for org keys
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    created_by_type TEXT NOT NULL,
    created_by_id   TEXT NOT NULL,
    owner_user_id   TEXT,
    expires_at      INTEGER,
    last_used_at    INTEGER,
    revoked_at      INTEGER,
    revoked_by_type TEXT,
    revoked_by_id   TEXT,
    revoke_reason   TEXT,
    ip_allowlist    TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    replaced_by     TEXT,
    -- digest is erased (NULL) on revoke; UNIQUE allows many NULLs.
    digest          BLOB UNIQUE
);
CREATE INDEX keys_org ON keys (org_id, kind, id);
CREATE INDEX keys_project ON keys (project_id, id);
CREATE INDEX keys_owner ON keys (owner_user_id);

-- Audit events outlive the projects and keys they name, so they reference
-- neither; an empty project_id means an org-level event.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    project_id  TEXT NOT NULL,
    time        INTEGER NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    result      TEXT NOT NULL,
    ip          TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    details     TEXT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_project ON audit_events (org_id, project_id, id);
