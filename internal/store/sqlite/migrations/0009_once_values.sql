-- One-time values of the dashboard (a new key's secret, a one-time link),
-- kept from the POST that made them for the one GET that shows them, on
-- whichever node answers it. The value is sealed with a key derived from
-- the session's token, which only the browser holds: a row alone reveals
-- nothing. Times are INTEGER unix microseconds (UTC).

CREATE TABLE once_values (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    sealed     BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX once_values_expiry ON once_values (expires_at);
