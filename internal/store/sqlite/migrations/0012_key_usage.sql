-- Usage per key: requests counted by outcome in buckets of span seconds
-- (60, 3600 or 86400) starting at bucket (INTEGER unix microseconds, UTC).
-- Each node adds its own counts to a bucket, so the sums are exact across
-- nodes; old buckets are pruned by span. A key's buckets go with the key.
-- The key's last use also records its client address and user agent.

ALTER TABLE keys ADD COLUMN last_used_ip TEXT;
ALTER TABLE keys ADD COLUMN last_used_user_agent TEXT;

CREATE TABLE key_usage (
    key_id             TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    span               INTEGER NOT NULL,
    bucket             INTEGER NOT NULL,
    org_id             TEXT NOT NULL,
    project_id         TEXT NOT NULL, -- '' for org keys
    valid              INTEGER NOT NULL DEFAULT 0,
    invalid            INTEGER NOT NULL DEFAULT 0,
    expired            INTEGER NOT NULL DEFAULT 0,
    insufficient_scope INTEGER NOT NULL DEFAULT 0,
    ip_not_allowed     INTEGER NOT NULL DEFAULT 0,
    rate_limited       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, span, bucket)
);
CREATE INDEX key_usage_project ON key_usage (project_id, span, bucket);
CREATE INDEX key_usage_org ON key_usage (org_id, span, bucket);
CREATE INDEX key_usage_age ON key_usage (span, bucket);
