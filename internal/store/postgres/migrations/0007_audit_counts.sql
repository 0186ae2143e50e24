-- Denied attempts repeated by one actor on one target within a minute are
-- one audit event with a count (the service's aggregate key), so that a
-- client retrying a forbidden request cannot flood the audit log. Other
-- events have count 1 and no key; NULL keys never conflict.
ALTER TABLE audit_events ADD COLUMN count integer NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN aggregate_key text COLLATE "C";
CREATE UNIQUE INDEX audit_events_aggregate ON audit_events (aggregate_key);
