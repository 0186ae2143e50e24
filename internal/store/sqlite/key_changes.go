package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// defaultKeyChangesLimit is KeyChanges' page size when the caller sets none.
const defaultKeyChangesLimit = 1000

// recordKeyChange appends k's change to the change log, through w, which
// must be the transaction that writes k. The single write connection
// serializes writers, so change numbers commit in order.
func recordKeyChange(ctx context.Context, w dbtx, k *keyward.Key) error {
	_, err := w.ExecContext(ctx, `INSERT INTO key_changes (key_id, org_id, project_id, at) VALUES (?, ?, ?, ?)`,
		k.ID, k.OrgID, k.ProjectID, micros(keyward.SystemClock{}.Now()))
	return dbError(err, "sqlite: record key change(%q)", k.ID)
}

// KeyChanges returns the changes numbered after since, oldest first, at most
// limit of them (limit <= 0: 1000).
func (q queries) KeyChanges(ctx context.Context, since int64, limit int) ([]keyward.KeyChange, error) {
	if limit <= 0 {
		limit = defaultKeyChangesLimit
	}
	rows, err := q.r.QueryContext(ctx,
		`SELECT seq, key_id, org_id, project_id, at FROM key_changes WHERE seq > ? ORDER BY seq LIMIT ?`, since, limit)
	if err != nil {
		return nil, dbError(err, "sqlite: keyChanges(%d)", since)
	}
	defer rows.Close()
	out := []keyward.KeyChange{}
	for rows.Next() {
		var c keyward.KeyChange
		var at int64
		if err := rows.Scan(&c.Seq, &c.KeyID, &c.OrgID, &c.ProjectID, &at); err != nil {
			return nil, dbError(err, "sqlite: keyChanges(%d)", since)
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "sqlite: keyChanges(%d)", since)
	}
	return out, nil
}

// LatestKeyChange returns the highest change number in the log, 0 when it
// is empty.
func (q queries) LatestKeyChange(ctx context.Context) (int64, error) {
	var seq int64
	err := q.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM key_changes`).Scan(&seq)
	if err != nil {
		return 0, dbError(err, "sqlite: latestKeyChange")
	}
	return seq, nil
}

// PruneKeyChanges deletes the changes recorded before t. AUTOINCREMENT keeps
// later numbers above every pruned one.
func (q queries) PruneKeyChanges(ctx context.Context, before time.Time) error {
	_, err := q.w.ExecContext(ctx, `DELETE FROM key_changes WHERE at < ?`, micros(before))
	return dbError(err, "sqlite: pruneKeyChanges")
}

// RecordKeyChanges records one change for each of the keys ids that exists,
// without changing the keys, in one transaction.
func (q queries) RecordKeyChanges(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	marks := strings.Repeat(",?", len(ids))[1:]
	args := []any{micros(keyward.SystemClock{}.Now())}
	for _, id := range ids {
		args = append(args, id)
	}
	return q.atomic(ctx, "recordKeyChanges", func(w dbtx) error {
		_, err := w.ExecContext(ctx, `INSERT INTO key_changes (key_id, org_id, project_id, at)
			SELECT id, org_id, COALESCE(project_id, ''), ? FROM keys WHERE id IN (`+marks+`) ORDER BY id`, args...)
		return dbError(err, "sqlite: record key changes(%d keys)", len(ids))
	})
}
