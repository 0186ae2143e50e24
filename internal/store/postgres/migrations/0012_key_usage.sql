-- Usage per key: requests counted by outcome in buckets of span seconds
-- (60, 3600 or 86400) starting at bucket. Each node adds its own counts to
-- a bucket (INSERT ... ON CONFLICT adds), so the sums are exact across
-- nodes; old buckets are pruned by span. A key's buckets go with the key.
-- The key's last use also records its client address and user agent.

ALTER TABLE keys ADD COLUMN last_used_ip text;
ALTER TABLE keys ADD COLUMN last_used_user_agent text;

CREATE TABLE key_usage (
    key_id             text COLLATE "C" NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    span               integer NOT NULL,
    bucket             timestamptz NOT NULL,
    org_id             text COLLATE "C" NOT NULL,
    project_id         text COLLATE "C" NOT NULL, -- '' for org keys
    valid              bigint NOT NULL DEFAULT 0,
    invalid            bigint NOT NULL DEFAULT 0,
    expired            bigint NOT NULL DEFAULT 0,
    insufficient_scope bigint NOT NULL DEFAULT 0,
    ip_not_allowed     bigint NOT NULL DEFAULT 0,
    rate_limited       bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, span, bucket)
);
CREATE INDEX key_usage_project ON key_usage (project_id, span, bucket);
CREATE INDEX key_usage_org ON key_usage (org_id, span, bucket);
CREATE INDEX key_usage_age ON key_usage (span, bucket);
