-- A key's optional rate limit, as JSON {"limit": n, "window": "1s"}; NULL
-- when the key has none.

ALTER TABLE keys ADD COLUMN rate_limit TEXT;
