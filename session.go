package keyward

import "time"

// Session is a signed-in dashboard user's session. Only the digest of its
// token is stored; the token lives in the user's cookie.
type Session struct {
	ID         string
	UserID     string
	Digest     []byte
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}

// PasswordReset is a one-time link to set a user's password, made by an
// owner. Only the digest of its token is stored.
type PasswordReset struct {
	Digest    []byte
	UserID    string
	OrgID     string // the org whose owner made it ("" for links made before migration 0011)
	CreatedBy string // user id of the owner who made it
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// OnceValue is a one-time value of the dashboard, sealed (see the
// dashboard's onetime.go): kept for its session until taken or expired.
type OnceValue struct {
	ID        string
	SessionID string
	Sealed    []byte
	ExpiresAt time.Time
}
