package postgres

import (
	"context"

	"github.com/keyward/keyward"
)

// PutKeyLeak records the latest leak report of a key.
func (q queries) PutKeyLeak(ctx context.Context, l *keyward.KeyLeak) error {
	_, err := q.db.Exec(ctx, `INSERT INTO key_leaks (key_id, org_id, found_at, url, source, action)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key_id) DO UPDATE SET found_at = excluded.found_at, url = excluded.url,
			source = excluded.source, action = excluded.action`,
		l.KeyID, l.OrgID, l.FoundAt, l.URL, l.Source, l.Action)
	return dbError(err, "postgres: putKeyLeak(%q)", l.KeyID)
}

// KeyLeaks returns the leak reports of these keys, by key id.
func (q queries) KeyLeaks(ctx context.Context, keyIDs []string) (map[string]*keyward.KeyLeak, error) {
	out := map[string]*keyward.KeyLeak{}
	if len(keyIDs) == 0 {
		return out, nil
	}
	rows, err := q.db.Query(ctx, `SELECT key_id, org_id, found_at, url, source, action FROM key_leaks
		WHERE key_id = ANY($1::text[])`, keyIDs)
	if err != nil {
		return nil, dbError(err, "postgres: keyLeaks")
	}
	defer rows.Close()
	for rows.Next() {
		var l keyward.KeyLeak
		if err := rows.Scan(&l.KeyID, &l.OrgID, &l.FoundAt, &l.URL, &l.Source, &l.Action); err != nil {
			return nil, dbError(err, "postgres: keyLeaks")
		}
		l.FoundAt = l.FoundAt.UTC()
		out[l.KeyID] = &l
	}
	return out, dbError(rows.Err(), "postgres: keyLeaks")
}
