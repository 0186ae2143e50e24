package sqlite

import (
	"context"
	"strings"

	"github.com/keyward/keyward"
)

// PutKeyLeak records the latest leak report of a key.
func (q queries) PutKeyLeak(ctx context.Context, l *keyward.KeyLeak) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO key_leaks (key_id, org_id, found_at, url, source, action)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key_id) DO UPDATE SET found_at = excluded.found_at, url = excluded.url,
			source = excluded.source, action = excluded.action`,
		l.KeyID, l.OrgID, micros(l.FoundAt), l.URL, l.Source, l.Action)
	return dbError(err, "sqlite: putKeyLeak(%q)", l.KeyID)
}

// KeyLeaks returns the leak reports of these keys, by key id.
func (q queries) KeyLeaks(ctx context.Context, keyIDs []string) (map[string]*keyward.KeyLeak, error) {
	out := map[string]*keyward.KeyLeak{}
	if len(keyIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(keyIDs))
	for i, id := range keyIDs {
		args[i] = id
	}
	rows, err := q.r.QueryContext(ctx, `SELECT key_id, org_id, found_at, url, source, action FROM key_leaks
		WHERE key_id IN (?`+strings.Repeat(", ?", len(keyIDs)-1)+`)`, args...)
	if err != nil {
		return nil, dbError(err, "sqlite: keyLeaks")
	}
	defer rows.Close()
	for rows.Next() {
		var l keyward.KeyLeak
		var found int64
		if err := rows.Scan(&l.KeyID, &l.OrgID, &found, &l.URL, &l.Source, &l.Action); err != nil {
			return nil, dbError(err, "sqlite: keyLeaks")
		}
		l.FoundAt = fromMicros(found)
		out[l.KeyID] = &l
	}
	return out, dbError(rows.Err(), "sqlite: keyLeaks")
}
