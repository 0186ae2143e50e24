package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/keyward/keyward"
)

const sessionColumns = `id, user_id, digest, created_at, expires_at, last_seen_at, ip, user_agent`

const passwordResetColumns = `digest, user_id, org_id, created_by, created_at, expires_at, used_at`

// CreateSession inserts s. A session whose id or token digest is taken is a
// CONFLICT.
func (q queries) CreateSession(ctx context.Context, s *keyward.Session) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.UserID, digestArg(s.Digest), micros(s.CreatedAt), micros(s.ExpiresAt),
		micros(s.LastSeenAt), s.IP, s.UserAgent)
	if err != nil {
		return conflict(err, "A session with this id or token already exists", "sqlite: createSession(%q)", s.ID)
	}
	return nil
}

// GetSessionByDigest returns the session whose token digest is d, expired
// or not: the caller judges ExpiresAt.
func (q queries) GetSessionByDigest(ctx context.Context, d []byte) (*keyward.Session, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("session")
	}
	row := q.r.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE digest = ?`, d)
	s, err := scanSession(row)
	if err != nil {
		// Never name the digest: it is as good as the token for a lookup.
		return nil, notFound(err, "session", "sqlite: getSessionByDigest")
	}
	return s, nil
}

// TouchSession records that the session was used at seen and moves its
// expiry to expires.
func (q queries) TouchSession(ctx context.Context, id string, seen, expires time.Time) error {
	res, err := q.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`,
		micros(seen), micros(expires), id)
	if err != nil {
		return dbError(err, "sqlite: touchSession(%q)", id)
	}
	return mustAffect(res, "session")
}

// DeleteSession deletes the session with the given id.
func (q queries) DeleteSession(ctx context.Context, id string) error {
	res, err := q.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	if err != nil {
		return dbError(err, "sqlite: deleteSession(%q)", id)
	}
	return mustAffect(res, "session")
}

// DeleteUserSessions deletes every session of the user; having none is not
// an error.
func (q queries) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := q.w.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return dbError(err, "sqlite: deleteUserSessions(%q)", userID)
	}
	return nil
}

// CreatePasswordReset inserts r. A reset whose token digest is taken is a
// CONFLICT.
func (q queries) CreatePasswordReset(ctx context.Context, r *keyward.PasswordReset) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO password_resets (`+passwordResetColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		digestArg(r.Digest), r.UserID, r.OrgID, r.CreatedBy, micros(r.CreatedAt), micros(r.ExpiresAt),
		nullMicros(r.UsedAt))
	if err != nil {
		return conflict(err, "A password reset with this token already exists", "sqlite: createPasswordReset(%q)", r.UserID)
	}
	return nil
}

// UsePasswordReset marks the reset with digest d used at now and returns it,
// if it exists, is unused and has not expired at now (expires_at > now);
// otherwise NOT_FOUND. The check and the mark are one UPDATE on the write
// connection, so of two concurrent uses exactly one succeeds.
func (q queries) UsePasswordReset(ctx context.Context, d []byte, now time.Time) (*keyward.PasswordReset, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("password reset")
	}
	row := q.w.QueryRowContext(ctx, `UPDATE password_resets SET used_at = ?
		WHERE digest = ? AND used_at IS NULL AND expires_at > ?
		RETURNING `+passwordResetColumns,
		micros(now), d, micros(now))
	r, err := scanPasswordReset(row)
	if err != nil {
		// Never name the digest: it is as good as the token.
		return nil, notFound(err, "password reset", "sqlite: usePasswordReset")
	}
	return r, nil
}

// DeleteUserPasswordResets deletes every password reset of the user;
// having none is not an error.
func (q queries) DeleteUserPasswordResets(ctx context.Context, userID string) error {
	if _, err := q.w.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = ?`, userID); err != nil {
		return dbError(err, "sqlite: deleteUserPasswordResets(%q)", userID)
	}
	return nil
}

func scanSession(s scanner) (*keyward.Session, error) {
	var (
		sess                     keyward.Session
		created, expires, seenAt int64
	)
	if err := s.Scan(&sess.ID, &sess.UserID, &sess.Digest, &created, &expires, &seenAt,
		&sess.IP, &sess.UserAgent); err != nil {
		return nil, err
	}
	sess.CreatedAt = fromMicros(created)
	sess.ExpiresAt = fromMicros(expires)
	sess.LastSeenAt = fromMicros(seenAt)
	return &sess, nil
}

func scanPasswordReset(s scanner) (*keyward.PasswordReset, error) {
	var (
		r                keyward.PasswordReset
		created, expires int64
		used             sql.NullInt64
	)
	if err := s.Scan(&r.Digest, &r.UserID, &r.OrgID, &r.CreatedBy, &created, &expires, &used); err != nil {
		return nil, err
	}
	r.CreatedAt = fromMicros(created)
	r.ExpiresAt = fromMicros(expires)
	r.UsedAt = timePtr(used)
	return &r, nil
}
