package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward"
)

// Session lifetimes: a session ends after a day without use, and after a
// week in any case.
const (
	SessionIdle     = 24 * time.Hour
	SessionAbsolute = 7 * 24 * time.Hour
	sessionTouch    = time.Minute // write last_seen at most this often
	resetLifetime   = 24 * time.Hour
	minPasswordLen  = 8
	maxPasswordLen  = 256
)

// dummyHash is checked against when an email is unknown, so that unknown
// and known accounts take the same time to refuse.
var dummyHash = HashPassword("keyward-dummy-password")

// newToken returns a random 256-bit token, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func checkPassword(p string) *keyward.FieldError {
	if n := len(p); n < minPasswordLen || n > maxPasswordLen {
		return &keyward.FieldError{Field: "password", Problem: "must be 8 to 256 characters"}
	}
	return nil
}

// errBadLogin is the one answer for an unknown email and a wrong password.
var errBadLogin = keyward.Errorf(keyward.CodeUnauthenticated, "Wrong email or password")

// Login checks an email and password and starts a session. Attempts are
// counted before the password is checked and throttled per address and
// account and per address, and slowed per account (signin.go); the check
// runs in one of the service's hash slots (hashgate.go). It returns the
// session token for the cookie; only its digest is stored.
func (s *Service) Login(ctx context.Context, email, password string, o Origin) (string, *keyward.Session, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if len(email) > MaxEmailLen || len(password) > maxPasswordLen {
		return "", nil, errBadLogin
	}
	attempt, err := s.signin.begin(ctx, email, o.IP)
	if err != nil {
		return "", nil, err
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if err != nil && keyward.ErrorCode(err) != keyward.CodeNotFound {
		attempt.cancel()
		return "", nil, err
	}
	// An unknown email is checked against dummyHash, in a slot like any
	// other check: it takes as long, and no more memory than the slot.
	hash := dummyHash
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	var ok bool
	if err := s.hashes.run(ctx, func() { ok = CheckPassword(hash, password) }); err != nil {
		attempt.cancel()
		return "", nil, err
	}
	if !ok || u == nil || u.PasswordHash == "" {
		attempt.failed()
		return "", nil, errBadLogin
	}
	attempt.succeeded()
	return s.startSession(ctx, u.ID, o)
}

// hashPassword is HashPassword in one of the service's hash slots.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	var hash string
	err := s.hashes.run(ctx, func() { hash = HashPassword(password) })
	return hash, err
}

// startSession creates a session for userID.
func (s *Service) startSession(ctx context.Context, userID string, o Origin) (string, *keyward.Session, error) {
	now := s.clock.Now()
	token := newToken()
	sess := &keyward.Session{
		ID: keyward.NewID("ses"), UserID: userID, Digest: s.digest.Digest(token),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionIdle),
		IP: o.IP, UserAgent: truncateText(o.UserAgent, 300),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", nil, err
	}
	return token, sess, nil
}

// SessionUser returns the user and session behind a session token, and
// extends an idle session. Unknown and expired tokens are UNAUTHENTICATED.
func (s *Service) SessionUser(ctx context.Context, token string) (*keyward.User, *keyward.Session, error) {
	unauth := keyward.Errorf(keyward.CodeUnauthenticated, "Sign in to continue")
	if token == "" || len(token) > 100 {
		return nil, nil, unauth
	}
	sess, err := s.store.GetSessionByDigest(ctx, s.digest.Digest(token))
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return nil, nil, unauth
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.clock.Now()
	if !now.Before(sess.ExpiresAt) {
		_ = s.store.DeleteSession(ctx, sess.ID)
		return nil, nil, unauth
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouch {
		exp := now.Add(SessionIdle)
		if end := sess.CreatedAt.Add(SessionAbsolute); end.Before(exp) {
			exp = end
		}
		if err := s.store.TouchSession(ctx, sess.ID, now, exp); err == nil {
			sess.LastSeenAt, sess.ExpiresAt = now, exp
		}
	}
	return u, sess, nil
}

// Logout ends a session on the server.
func (s *Service) Logout(ctx context.Context, sess *keyward.Session) error {
	err := s.store.DeleteSession(ctx, sess.ID)
	if keyward.ErrorCode(err) == keyward.CodeNotFound {
		return nil
	}
	return err
}

// ChangePassword sets a user's password after checking the current one. It
// ends every session of the user and returns a fresh one for the caller.
func (s *Service) ChangePassword(ctx context.Context, sess *keyward.Session, current, next string, o Origin) (string, *keyward.Session, error) {
	u, err := s.store.GetUser(ctx, sess.UserID)
	if err != nil {
		return "", nil, err
	}
	// The current password is a guess like any sign-in, counted by the
	// same guard: a stolen session must not be a way to guess it.
	attempt, err := s.signin.begin(ctx, u.Email, o.IP)
	if err != nil {
		return "", nil, err
	}
	// Both the check and the new hash run in one hash slot.
	var ok bool
	var fe *keyward.FieldError
	var hash string
	err = s.hashes.run(ctx, func() {
		ok = u.PasswordHash != "" && CheckPassword(u.PasswordHash, current)
		if fe = checkPassword(next); ok && fe == nil {
			hash = HashPassword(next)
		}
	})
	if err != nil {
		attempt.cancel()
		return "", nil, err
	}
	if !ok {
		attempt.failed()
		return "", nil, invalid(&keyward.FieldError{Field: "current_password", Problem: "is not your current password"})
	}
	attempt.succeeded()
	if fe != nil {
		return "", nil, invalid(fe)
	}
	if err := s.setPassword(ctx, u, hash); err != nil {
		return "", nil, err
	}
	return s.startSession(ctx, u.ID, o)
}

// setPassword stores a new password hash and signs the user out everywhere.
func (s *Service) setPassword(ctx context.Context, u *keyward.User, hash string) error {
	u.PasswordHash = hash
	return s.inTx(ctx, func(q keyward.Queries) error { return storePassword(ctx, q, u) })
}

// storePassword writes u's new password hash and ends what the old
// password opened: every session and every outstanding reset link of u.
func storePassword(ctx context.Context, q keyward.Queries, u *keyward.User) error {
	if err := q.UpdateUser(ctx, u); err != nil {
		return err
	}
	if err := q.DeleteUserPasswordResets(ctx, u.ID); err != nil {
		return err
	}
	return q.DeleteUserSessions(ctx, u.ID)
}

// errForeignAccount refuses a reset link for an account that another org
// shares: an org's owners may not take over a person who belongs elsewhere.
const errForeignAccount = "This account also belongs to another organization, so only its person can change its password (signed in, on their account page)"

// CreatePasswordReset makes a one-time link token with which member userID
// sets a new password. Only owners may make them, and only for accounts
// that belong to no other org.
func (s *Service) CreatePasswordReset(ctx context.Context, a *Actor, userID string) (string, error) {
	token := newToken()
	err := s.inTx(ctx, func(q keyward.Queries) error {
		role, err := s.orgAccess(ctx, q, a, actMembersWrite, AuditUserPasswordReset)
		if err != nil {
			return err
		}
		if role != keyward.OrgOwner {
			return s.denied(a, AuditUserPasswordReset, "", userRef(userID), "Only owners may reset passwords")
		}
		if _, err := s.member(ctx, q, a, userID); err != nil {
			return err
		}
		if only, err := onlyIn(ctx, q, userID, a.OrgID); err != nil {
			return err
		} else if !only {
			return s.denied(a, AuditUserPasswordReset, "", userRef(userID), errForeignAccount)
		}
		now := s.clock.Now()
		if err := q.CreatePasswordReset(ctx, &keyward.PasswordReset{
			Digest: s.digest.Digest(token), UserID: userID, OrgID: a.OrgID, CreatedBy: a.UserID,
			CreatedAt: now, ExpiresAt: now.Add(resetLifetime),
		}); err != nil {
			return err
		}
		return q.InsertAuditEvent(ctx, s.event(a, AuditUserPasswordReset, "", userRef(userID)))
	})
	if err != nil {
		return "", s.finish(ctx, err)
	}
	return token, nil
}

// ResetLink is the link of a reset token, on the configured public URL.
func (s *Service) ResetLink(token string) string {
	return s.PublicLink("/reset?token=" + url.QueryEscape(token))
}

// ResetPassword uses a one-time reset token to set a new password. The
// link works only while the account belongs to no org but the one whose
// owner made it; using it ends every other reset link and every session of
// the account.
func (s *Service) ResetPassword(ctx context.Context, token, password string) error {
	if fe := checkPassword(password); fe != nil {
		return invalid(fe)
	}
	gone := keyward.Errorf(keyward.CodeNotFound, "This link is invalid, used or expired")
	if token == "" || len(token) > 100 {
		return gone
	}
	// Only a link that works gets a hash slot (a made-up token must not
	// keep sign-ins waiting), and the hash is made before the link is
	// used, so that a busy server does not use it up.
	if err := s.resetUsable(ctx, token); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(q keyward.Queries) error {
		r, err := q.UsePasswordReset(ctx, s.digest.Digest(token), s.clock.Now())
		if keyward.ErrorCode(err) == keyward.CodeNotFound {
			return gone
		}
		if err != nil {
			return err
		}
		orgs, err := q.ListOrgsForUser(ctx, r.UserID)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			// Links made before resets recorded their org work only for
			// accounts in at most one org.
			if (r.OrgID != "" && o.ID != r.OrgID) || (r.OrgID == "" && len(orgs) > 1) {
				return keyward.Denied("%s", errForeignAccount)
			}
		}
		// The account must still belong to the org whose owner made the
		// link: a member removed since is nobody that org may reset.
		if r.OrgID != "" && !slices.ContainsFunc(orgs, func(o *keyward.Org) bool { return o.ID == r.OrgID }) {
			return keyward.Errorf(keyward.CodeConflict, "This link is no longer valid: the account no longer belongs to the organization that made it")
		}
		// The owner who made the link must still be one: a removed or
		// demoted owner's links stop working with them.
		if r.OrgID != "" && r.CreatedBy != "" {
			m, err := q.GetMember(ctx, r.OrgID, r.CreatedBy)
			if keyward.ErrorCode(err) == keyward.CodeNotFound || (err == nil && m.Role != keyward.OrgOwner) {
				return keyward.Errorf(keyward.CodeConflict, "This link cannot be used while the person who made it is not an owner of the organization")
			}
			if err != nil {
				return err
			}
		}
		u, err := q.GetUser(ctx, r.UserID)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
		return storePassword(ctx, q, u)
	})
}

// errPeek rolls back resetUsable's transaction.
var errPeek = errors.New("service: only looking")

// resetUsable reports, as NOT_FOUND, a reset token that names no usable
// link, without using the link: it is used in a transaction that is then
// rolled back on purpose.
func (s *Service) resetUsable(ctx context.Context, token string) error {
	err := s.store.InTx(ctx, func(q keyward.Queries) error {
		if _, err := q.UsePasswordReset(ctx, s.digest.Digest(token), s.clock.Now()); err != nil {
			return err
		}
		return errPeek
	})
	switch {
	case errors.Is(err, errPeek):
		return nil
	case keyward.ErrorCode(err) == keyward.CodeNotFound:
		return keyward.Errorf(keyward.CodeNotFound, "This link is invalid, used or expired")
	}
	return err
}

func truncateText(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}
