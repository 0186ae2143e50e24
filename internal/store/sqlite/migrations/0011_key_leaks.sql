-- The latest leak report of each key (docs/leaks.md): where secret scanning
-- found it and what keyward did. The secret itself is never stored. Times
-- are INTEGER unix microseconds (UTC).

CREATE TABLE key_leaks (
    key_id   TEXT PRIMARY KEY REFERENCES keys (id) ON DELETE CASCADE,
    org_id   TEXT NOT NULL,
    found_at INTEGER NOT NULL,
    url      TEXT NOT NULL,
    source   TEXT NOT NULL,
    action   TEXT NOT NULL
);
