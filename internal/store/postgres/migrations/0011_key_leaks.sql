-- The latest leak report of each key (docs/leaks.md): where secret scanning
-- found it and what keyward did. The secret itself is never stored.

CREATE TABLE key_leaks (
    key_id   text COLLATE "C" PRIMARY KEY REFERENCES keys (id) ON DELETE CASCADE,
    org_id   text COLLATE "C" NOT NULL,
    found_at timestamptz NOT NULL,
    url      text NOT NULL,
    source   text NOT NULL,
    action   text NOT NULL
);
