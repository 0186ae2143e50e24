package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/keyward/keyward"
)

const sessionColumns = `id, user_id, digest, created_at, expires_at, last_seen_at, ip, user_agent`

const passwordResetColumns = `digest, user_id, org_id, created_by, created_at, expires_at, used_at`

// CreateSession inserts s. A session whose id or token digest is taken is a
// CONFLICT.
func (q queries) CreateSession(ctx context.Context, s *keyward.Session) error {
	return q.insert(ctx, "A session with this id or token already exists", fmt.Sprintf("createSession(%q)", s.ID),
		`INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ID, s.UserID, digestArg(s.Digest), s.CreatedAt, s.ExpiresAt, s.LastSeenAt, s.IP, s.UserAgent)
}

// GetSessionByDigest returns the session whose token digest is d, expired
// or not: the caller judges ExpiresAt.
func (q queries) GetSessionByDigest(ctx context.Context, d []byte) (*keyward.Session, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("session")
	}
	row := q.db.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE digest = $1`, d)
	s, err := scanSession(row)
	if err != nil {
		// Never name the digest: it is as good as the token for a lookup.
		return nil, notFound(err, "session", "postgres: getSessionByDigest")
	}
	return s, nil
}

// TouchSession records that the session was used at seen and moves its
// expiry to expires.
func (q queries) TouchSession(ctx context.Context, id string, seen, expires time.Time) error {
	tag, err := q.db.Exec(ctx, `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3`,
		seen, expires, id)
	if err != nil {
		return dbError(err, "postgres: touchSession(%q)", id)
	}
	return mustAffect(tag, "session")
}

// DeleteSession deletes the session with the given id.
func (q queries) DeleteSession(ctx context.Context, id string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	if err != nil {
		return dbError(err, "postgres: deleteSession(%q)", id)
	}
	return mustAffect(tag, "session")
}

// DeleteUserSessions deletes every session of the user; having none is not
// an error.
func (q queries) DeleteUserSessions(ctx context.Context, userID string) error {
	_, err := q.db.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return dbError(err, "postgres: deleteUserSessions(%q)", userID)
}

// CreatePasswordReset inserts r. A reset whose token digest is taken is a
// CONFLICT.
func (q queries) CreatePasswordReset(ctx context.Context, r *keyward.PasswordReset) error {
	return q.insert(ctx, "A password reset with this token already exists", fmt.Sprintf("createPasswordReset(%q)", r.UserID),
		`INSERT INTO password_resets (`+passwordResetColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		digestArg(r.Digest), r.UserID, r.OrgID, r.CreatedBy, r.CreatedAt, r.ExpiresAt, r.UsedAt)
}

// UsePasswordReset marks the reset with digest d used at now and returns it,
// if it exists, is unused and has not expired at now (expires_at > now);
// otherwise NOT_FOUND. The check and the mark are one UPDATE: of two
// concurrent uses, the second waits for the first's row lock and then finds
// the reset used, so exactly one succeeds.
func (q queries) UsePasswordReset(ctx context.Context, d []byte, now time.Time) (*keyward.PasswordReset, error) {
	if len(d) == 0 {
		return nil, keyward.NotFound("password reset")
	}
	row := q.db.QueryRow(ctx, `UPDATE password_resets SET used_at = $1
		WHERE digest = $2 AND used_at IS NULL AND expires_at > $1
		RETURNING `+passwordResetColumns, now, d)
	r, err := scanPasswordReset(row)
	if err != nil {
		// Never name the digest: it is as good as the token.
		return nil, notFound(err, "password reset", "postgres: usePasswordReset")
	}
	return r, nil
}

// DeleteUserPasswordResets deletes every password reset of the user;
// having none is not an error.
func (q queries) DeleteUserPasswordResets(ctx context.Context, userID string) error {
	_, err := q.db.Exec(ctx, `DELETE FROM password_resets WHERE user_id = $1`, userID)
	return dbError(err, "postgres: deleteUserPasswordResets(%q)", userID)
}

func scanSession(s scanner) (*keyward.Session, error) {
	var (
		sess                     keyward.Session
		created, expires, seenAt time.Time
	)
	if err := s.Scan(&sess.ID, &sess.UserID, &sess.Digest, &created, &expires, &seenAt,
		&sess.IP, &sess.UserAgent); err != nil {
		return nil, err
	}
	sess.CreatedAt = utc(created)
	sess.ExpiresAt = utc(expires)
	sess.LastSeenAt = utc(seenAt)
	return &sess, nil
}

func scanPasswordReset(s scanner) (*keyward.PasswordReset, error) {
	var (
		r                keyward.PasswordReset
		created, expires time.Time
		used             *time.Time
	)
	if err := s.Scan(&r.Digest, &r.UserID, &r.OrgID, &r.CreatedBy, &created, &expires, &used); err != nil {
		return nil, err
	}
	r.CreatedAt = utc(created)
	r.ExpiresAt = utc(expires)
	r.UsedAt = utcPtr(used)
	return &r, nil
}
