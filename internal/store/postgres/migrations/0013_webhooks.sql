-- Webhooks (docs/webhooks.md). An org's endpoints; the messages (events)
-- written in the transaction of the change they report, with their body
-- fixed then; one delivery per message and endpoint, claimed by one node
-- at a time (claim, lease_until) and retried until it succeeds or its
-- retry window ends. key_notices remembers the expiry events each key got,
-- so each is sent once whatever the number of nodes.

CREATE TABLE webhook_endpoints (
    id          text COLLATE "C" PRIMARY KEY,
    org_id      text COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url         text NOT NULL,
    description text NOT NULL,
    events      jsonb NOT NULL,
    enabled     boolean NOT NULL,
    secret      bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, id);

CREATE TABLE webhook_messages (
    id         text COLLATE "C" PRIMARY KEY,
    org_id     text COLLATE "C" NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    type       text NOT NULL,
    created_at timestamptz NOT NULL,
    payload    bytea NOT NULL
);
CREATE INDEX webhook_messages_age ON webhook_messages (created_at);

CREATE TABLE webhook_deliveries (
    id               text COLLATE "C" PRIMARY KEY,
    message_id       text COLLATE "C" NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id      text COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    org_id           text COLLATE "C" NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL,
    attempts         integer NOT NULL,
    created_at       timestamptz NOT NULL,
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    last_status_code integer NOT NULL,
    last_latency_ms  integer NOT NULL,
    last_error       text NOT NULL,
    delivered_at     timestamptz,
    claim            text NOT NULL,
    lease_until      timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (message_id);
CREATE INDEX webhook_deliveries_held ON webhook_deliveries (endpoint_id, lease_until) WHERE status = 'pending';

CREATE TABLE key_notices (
    key_id  text COLLATE "C" NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    kind    text NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (key_id, kind)
);
CREATE INDEX keys_expiry ON keys (expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
