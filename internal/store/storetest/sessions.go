package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// prefixSession is the prefix of session ids.
const prefixSession = "ses"

// session stores an active session of u, changed by mods.
func (e *env) session(u *keyward.User, mods ...func(*keyward.Session)) *keyward.Session {
	e.t.Helper()
	s := &keyward.Session{
		ID: keyward.NewID(prefixSession), UserID: u.ID, Digest: digest(),
		CreatedAt: base, ExpiresAt: base.Add(24 * time.Hour), LastSeenAt: base,
		IP: "192.0.2.7", UserAgent: "Mozilla/5.0",
	}
	for _, m := range mods {
		m(s)
	}
	if err := e.s.CreateSession(e.ctx, s); err != nil {
		e.t.Fatalf("CreateSession: %v", err)
	}
	return s
}

// reset stores an unused password reset of u made by owner, expiring an
// hour after base.
func (e *env) reset(u, owner *keyward.User) *keyward.PasswordReset {
	e.t.Helper()
	r := &keyward.PasswordReset{
		Digest: digest(), UserID: u.ID, OrgID: keyward.NewID(keyward.PrefixOrg), CreatedBy: owner.ID,
		CreatedAt: base, ExpiresAt: base.Add(time.Hour),
	}
	if err := e.s.CreatePasswordReset(e.ctx, r); err != nil {
		e.t.Fatalf("CreatePasswordReset: %v", err)
	}
	return r
}

var sessionTests = []test{
	{"RoundTrip", func(t *testing.T, e *env) {
		u := e.user("Ann")
		s := e.session(u, func(s *keyward.Session) {
			s.LastSeenAt = base.Add(time.Minute)
			s.IP, s.UserAgent = "2001:db8::7", "curl/8 "+unicodeName
		})
		got, err := e.s.GetSessionByDigest(e.ctx, s.Digest)
		mustNil(t, "GetSessionByDigest", err)
		diff(t, "GetSessionByDigest", s, got)

		// Expired sessions are found too: the caller judges ExpiresAt.
		old := e.session(u, func(s *keyward.Session) { s.ExpiresAt = base.Add(-time.Hour) })
		got, err = e.s.GetSessionByDigest(e.ctx, old.Digest)
		mustNil(t, "GetSessionByDigest(expired)", err)
		diff(t, "GetSessionByDigest(expired)", old, got)
	}},
	{"GetByDigestNotFound", func(t *testing.T, e *env) {
		e.session(e.user("Ann"))
		_, err := e.s.GetSessionByDigest(e.ctx, digest())
		wantCode(t, "GetSessionByDigest(unknown)", err, keyward.CodeNotFound)
		_, err = e.s.GetSessionByDigest(e.ctx, nil)
		wantCode(t, "GetSessionByDigest(nil)", err, keyward.CodeNotFound)
	}},
	{"DuplicateConflicts", func(t *testing.T, e *env) {
		u := e.user("Ann")
		s := e.session(u)
		sameDigest := *s
		sameDigest.ID = keyward.NewID(prefixSession)
		wantCode(t, "CreateSession(same digest)", e.s.CreateSession(e.ctx, &sameDigest), keyward.CodeConflict)
		sameID := *s
		sameID.Digest = digest()
		wantCode(t, "CreateSession(same id)", e.s.CreateSession(e.ctx, &sameID), keyward.CodeConflict)
	}},
	{"Touch", func(t *testing.T, e *env) {
		u := e.user("Ann")
		s, other := e.session(u), e.session(u)
		seen, expires := base.Add(3*time.Hour+7*time.Microsecond), base.Add(27*time.Hour)
		mustNil(t, "TouchSession", e.s.TouchSession(e.ctx, s.ID, seen, expires))
		s.LastSeenAt, s.ExpiresAt = seen, expires
		got, err := e.s.GetSessionByDigest(e.ctx, s.Digest)
		mustNil(t, "GetSessionByDigest", err)
		diff(t, "after TouchSession", s, got)
		got, err = e.s.GetSessionByDigest(e.ctx, other.Digest)
		mustNil(t, "GetSessionByDigest(other)", err)
		diff(t, "other session after TouchSession", other, got)

		err = e.s.TouchSession(e.ctx, keyward.NewID(prefixSession), seen, expires)
		wantCode(t, "TouchSession(unknown)", err, keyward.CodeNotFound)
	}},
	{"Delete", func(t *testing.T, e *env) {
		u := e.user("Ann")
		s, other := e.session(u), e.session(u)
		mustNil(t, "DeleteSession", e.s.DeleteSession(e.ctx, s.ID))
		_, err := e.s.GetSessionByDigest(e.ctx, s.Digest)
		wantCode(t, "GetSessionByDigest(deleted)", err, keyward.CodeNotFound)
		wantCode(t, "DeleteSession(again)", e.s.DeleteSession(e.ctx, s.ID), keyward.CodeNotFound)
		wantCode(t, "DeleteSession(unknown)", e.s.DeleteSession(e.ctx, keyward.NewID(prefixSession)), keyward.CodeNotFound)
		got, err := e.s.GetSessionByDigest(e.ctx, other.Digest)
		mustNil(t, "GetSessionByDigest(other)", err)
		diff(t, "other session after DeleteSession", other, got)
	}},
	{"DeleteUserSessions", func(t *testing.T, e *env) {
		ann, bob := e.user("Ann"), e.user("Bob")
		a1, a2 := e.session(ann), e.session(ann)
		b := e.session(bob)
		mustNil(t, "DeleteUserSessions", e.s.DeleteUserSessions(e.ctx, ann.ID))
		for _, s := range []*keyward.Session{a1, a2} {
			_, err := e.s.GetSessionByDigest(e.ctx, s.Digest)
			wantCode(t, "GetSessionByDigest(ann's, deleted)", err, keyward.CodeNotFound)
		}
		got, err := e.s.GetSessionByDigest(e.ctx, b.Digest)
		mustNil(t, "GetSessionByDigest(bob's)", err)
		diff(t, "bob's session after deleting ann's", b, got)

		mustNil(t, "DeleteUserSessions(none left)", e.s.DeleteUserSessions(e.ctx, ann.ID))
		mustNil(t, "DeleteUserSessions(unknown user)", e.s.DeleteUserSessions(e.ctx, keyward.NewID(keyward.PrefixUser)))
	}},
	{"InTxRollback", func(t *testing.T, e *env) {
		u := e.user("Ann")
		keep := e.session(u)
		var created *keyward.Session
		boom := errors.New("boom")
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			created = &keyward.Session{ID: keyward.NewID(prefixSession), UserID: u.ID, Digest: digest(),
				CreatedAt: base, ExpiresAt: base.Add(time.Hour), LastSeenAt: base}
			mustNil(t, "CreateSession", q.CreateSession(e.ctx, created))
			got, err := q.GetSessionByDigest(e.ctx, created.Digest)
			mustNil(t, "GetSessionByDigest inside the transaction", err)
			diff(t, "session inside the transaction", created, got)
			mustNil(t, "DeleteUserSessions", q.DeleteUserSessions(e.ctx, u.ID))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		_, err = e.s.GetSessionByDigest(e.ctx, created.Digest)
		wantCode(t, "GetSessionByDigest(rolled back)", err, keyward.CodeNotFound)
		got, err := e.s.GetSessionByDigest(e.ctx, keep.Digest)
		mustNil(t, "GetSessionByDigest(deleted in a rolled-back transaction)", err)
		diff(t, "session after rollback", keep, got)
	}},
}

var passwordResetTests = []test{
	{"UseOnce", func(t *testing.T, e *env) {
		owner := e.user("Owner")
		r := e.reset(e.user(unicodeName), owner)
		now := base.Add(time.Minute + 7*time.Microsecond)
		got, err := e.s.UsePasswordReset(e.ctx, r.Digest, now)
		mustNil(t, "UsePasswordReset", err)
		want := *r
		want.UsedAt = &now
		diff(t, "UsePasswordReset", &want, got)

		_, err = e.s.UsePasswordReset(e.ctx, r.Digest, now.Add(time.Second))
		wantCode(t, "UsePasswordReset(second use)", err, keyward.CodeNotFound)
	}},
	{"UnknownNotFound", func(t *testing.T, e *env) {
		e.reset(e.user("Ann"), e.user("Owner"))
		_, err := e.s.UsePasswordReset(e.ctx, digest(), base)
		wantCode(t, "UsePasswordReset(unknown)", err, keyward.CodeNotFound)
		_, err = e.s.UsePasswordReset(e.ctx, nil, base)
		wantCode(t, "UsePasswordReset(nil)", err, keyward.CodeNotFound)
	}},
	{"Expired", func(t *testing.T, e *env) {
		u, owner := e.user("Ann"), e.user("Owner")
		r := e.reset(u, owner)
		_, err := e.s.UsePasswordReset(e.ctx, r.Digest, r.ExpiresAt)
		wantCode(t, "UsePasswordReset(now = expires_at)", err, keyward.CodeNotFound)
		_, err = e.s.UsePasswordReset(e.ctx, r.Digest, r.ExpiresAt.Add(time.Hour))
		wantCode(t, "UsePasswordReset(after expires_at)", err, keyward.CodeNotFound)
		// A refused use marks nothing: one microsecond earlier it still works.
		got, err := e.s.UsePasswordReset(e.ctx, r.Digest, r.ExpiresAt.Add(-time.Microsecond))
		mustNil(t, "UsePasswordReset(just before expires_at)", err)
		diff(t, "used reset's user", u.ID, got.UserID)
	}},
	{"DeleteUserPasswordResets", func(t *testing.T, e *env) {
		u, other, owner := e.user("Ann"), e.user("Bob"), e.user("Owner")
		r1, r2, keep := e.reset(u, owner), e.reset(u, owner), e.reset(other, owner)
		mustNil(t, "DeleteUserPasswordResets", e.s.DeleteUserPasswordResets(e.ctx, u.ID))
		for _, r := range []*keyward.PasswordReset{r1, r2} {
			_, err := e.s.UsePasswordReset(e.ctx, r.Digest, base)
			wantCode(t, "UsePasswordReset(deleted)", err, keyward.CodeNotFound)
		}
		_, err := e.s.UsePasswordReset(e.ctx, keep.Digest, base)
		mustNil(t, "UsePasswordReset(another user's)", err)
		mustNil(t, "DeleteUserPasswordResets(none left)", e.s.DeleteUserPasswordResets(e.ctx, u.ID))
	}},
	{"DuplicateDigestConflicts", func(t *testing.T, e *env) {
		u, owner := e.user("Ann"), e.user("Owner")
		r := e.reset(u, owner)
		dup := *r
		dup.CreatedAt = base.Add(time.Minute)
		wantCode(t, "CreatePasswordReset(same digest)", e.s.CreatePasswordReset(e.ctx, &dup), keyward.CodeConflict)
	}},
	{"InTxRollback", func(t *testing.T, e *env) {
		r := e.reset(e.user("Ann"), e.user("Owner"))
		boom := errors.New("boom")
		err := e.s.InTx(e.ctx, func(q keyward.Queries) error {
			_, err := q.UsePasswordReset(e.ctx, r.Digest, base)
			mustNil(t, "UsePasswordReset inside the transaction", err)
			_, err = q.UsePasswordReset(e.ctx, r.Digest, base)
			wantCode(t, "UsePasswordReset(again, inside the transaction)", err, keyward.CodeNotFound)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want fn's error", err)
		}
		_, err = e.s.UsePasswordReset(e.ctx, r.Digest, base)
		mustNil(t, "UsePasswordReset after a rolled-back use", err)
	}},
	{"ConcurrentUsesOnce", func(t *testing.T, e *env) {
		u, owner := e.user("Ann"), e.user("Owner")
		for range 10 { // several rounds: see RaceForLastSlot
			r := e.reset(u, owner)
			start := make(chan struct{})
			errs := make(chan error, racers)
			var wg sync.WaitGroup
			for range racers {
				wg.Go(func() {
					<-start
					_, err := e.s.UsePasswordReset(e.ctx, r.Digest, base)
					errs <- err
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			wins := 0
			for err := range errs {
				if err == nil {
					wins++
					continue
				}
				wantCode(t, "UsePasswordReset(lost the race)", err, keyward.CodeNotFound)
			}
			diff(t, "successful uses of one reset", 1, wins)
		}
	}},
}
