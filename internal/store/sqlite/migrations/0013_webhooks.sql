-- Webhooks (docs/webhooks.md). An org's endpoints; the messages (events)
-- written in the transaction of the change they report, with their body
-- fixed then; one delivery per message and endpoint, claimed by one node
-- at a time (claim, lease_until) and retried until it succeeds or its
-- retry window ends. key_notices remembers the expiry events each key got,
-- so each is sent once. Times are INTEGER unix microseconds (UTC).

CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    description TEXT NOT NULL,
    events      TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    secret      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id);

CREATE TABLE webhook_messages (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    payload    BLOB NOT NULL
);
CREATE INDEX webhook_messages_age ON webhook_messages (created_at);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    message_id       TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    org_id           TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    last_attempt_at  INTEGER,
    last_status_code INTEGER NOT NULL,
    last_latency_ms  INTEGER NOT NULL,
    last_error       TEXT NOT NULL,
    delivered_at     INTEGER,
    claim            TEXT NOT NULL,
    lease_until      INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (message_id);
CREATE INDEX webhook_deliveries_held ON webhook_deliveries (endpoint_id, lease_until) WHERE status = 'pending';

CREATE TABLE key_notices (
    key_id  TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, kind)
);
CREATE INDEX keys_expiry ON keys (expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
