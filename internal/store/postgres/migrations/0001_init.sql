-- keyward's first schema on PostgreSQL, the same tables as on SQLite. Times
-- are timestamptz (microseconds, UTC); lists, maps and settings are jsonb; a
-- key's status is derived, never stored. Ids sort by creation time and serve
-- as cursors, so they use the "C" collation: byte order, whatever the
-- database's locale.

CREATE TABLE users (
    id            text COLLATE "C" PRIMARY KEY,
    email         text NOT NULL,
    -- email_key is the lowercased email (lowered by the store, as on
    -- SQLite): emails are unique case-insensitively.
    email_key     text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE orgs (
    id         text COLLATE "C" PRIMARY KEY,
    name       text NOT NULL,
    slug       text NOT NULL UNIQUE,
    settings   jsonb NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE members (
    org_id     text COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE projects (
    id            text COLLATE "C" PRIMARY KEY,
    org_id        text COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name          text NOT NULL,
    slug          text NOT NULL,
    custom_scopes jsonb NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (org_id, slug)
);
CREATE INDEX projects_org ON projects (org_id, id);

CREATE TABLE project_members (
    project_id text COLLATE "C" NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE keys (
    id              text COLLATE "C" PRIMARY KEY,
    kind            text NOT NULL,
    name            text NOT NULL,
    hint            text NOT NULL,
    project_id      text COLLATE "C" REFERENCES projects (id) ON DELETE CASCADE, -- NULL for org keys
    org_id          text COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    scopes          jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    created_by_type text NOT NULL,
    created_by_id   text NOT NULL,
    owner_user_id   text COLLATE "C",
    expires_at      timestamptz,
    last_used_at    timestamptz,
    revoked_at      timestamptz,
    revoked_by_type text,
    revoked_by_id   text,
    revoke_reason   text,
    ip_allowlist    jsonb NOT NULL,
    metadata        jsonb NOT NULL,
    replaced_by     text COLLATE "C",
    -- digest is erased (NULL) on revoke; UNIQUE allows many NULLs.
    digest          bytea UNIQUE
);
CREATE INDEX keys_org ON keys (org_id, kind, id);
CREATE INDEX keys_project ON keys (project_id, id);
CREATE INDEX keys_owner ON keys (owner_user_id);

-- Audit events outlive the projects and keys they name, so they reference
-- neither; an empty project_id means an org-level event.
CREATE TABLE audit_events (
    id          text COLLATE "C" PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL,
    project_id  text COLLATE "C" NOT NULL,
    time        timestamptz NOT NULL,
    actor_type  text NOT NULL,
    actor_id    text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    result      text NOT NULL,
    ip          text NOT NULL,
    user_agent  text NOT NULL,
    request_id  text NOT NULL,
    details     jsonb NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_project ON audit_events (org_id, project_id, id);
