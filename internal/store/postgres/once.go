package postgres

import (
	"context"
	"time"

	"github.com/keyward/keyward"
)

// PutOnce stores v, deleting values expired at now.
func (q queries) PutOnce(ctx context.Context, v *keyward.OnceValue, now time.Time) error {
	return q.atomic(ctx, "putOnce", func(db dbtx) error {
		if _, err := db.Exec(ctx, `DELETE FROM once_values WHERE expires_at <= $1`, now); err != nil {
			return dbError(err, "postgres: putOnce: prune")
		}
		_, err := db.Exec(ctx, `INSERT INTO once_values (id, session_id, sealed, expires_at) VALUES ($1, $2, $3, $4)`,
			v.ID, v.SessionID, v.Sealed, v.ExpiresAt)
		return conflict(err, "A one-time value with this id exists", "postgres: putOnce")
	})
}

// TakeOnce deletes and returns the value id of session sessionID, unless
// it has expired at now.
func (q queries) TakeOnce(ctx context.Context, id, sessionID string, now time.Time) (*keyward.OnceValue, error) {
	v := &keyward.OnceValue{ID: id, SessionID: sessionID}
	err := q.db.QueryRow(ctx, `DELETE FROM once_values WHERE id = $1 AND session_id = $2 RETURNING sealed, expires_at`,
		id, sessionID).Scan(&v.Sealed, &v.ExpiresAt)
	if err != nil {
		return nil, notFound(err, "one-time value", "postgres: takeOnce")
	}
	v.ExpiresAt = v.ExpiresAt.UTC()
	if !now.Before(v.ExpiresAt) {
		return nil, keyward.NotFound("one-time value")
	}
	return v, nil
}
