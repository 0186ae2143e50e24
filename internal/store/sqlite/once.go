package sqlite

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// PutOnce stores v, deleting values expired at now.
func (q queries) PutOnce(ctx context.Context, v *keyward.OnceValue, now time.Time) error {
	return q.atomic(ctx, "putOnce", func(w dbtx) error {
		if _, err := w.ExecContext(ctx, `DELETE FROM once_values WHERE expires_at <= ?`, micros(now)); err != nil {
			return dbError(err, "sqlite: putOnce: prune")
		}
		_, err := w.ExecContext(ctx, `INSERT INTO once_values (id, session_id, sealed, expires_at) VALUES (?, ?, ?, ?)`,
			v.ID, v.SessionID, v.Sealed, micros(v.ExpiresAt))
		return conflict(err, "A one-time value with this id exists", "sqlite: putOnce")
	})
}

// TakeOnce deletes and returns the value id of session sessionID, unless
// it has expired at now.
func (q queries) TakeOnce(ctx context.Context, id, sessionID string, now time.Time) (*keyward.OnceValue, error) {
	v := &keyward.OnceValue{ID: id, SessionID: sessionID}
	var expires int64
	err := q.w.QueryRowContext(ctx, `DELETE FROM once_values WHERE id = ? AND session_id = ? RETURNING sealed, expires_at`,
		id, sessionID).Scan(&v.Sealed, &expires)
	if err != nil {
		return nil, notFound(err, "one-time value", "sqlite: takeOnce")
	}
	v.ExpiresAt = fromMicros(expires)
	if !now.Before(v.ExpiresAt) {
		return nil, keyward.NotFound("one-time value")
	}
	return v, nil
}
