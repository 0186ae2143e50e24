package service_test

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

var origin = service.Origin{IP: "192.0.2.7", UserAgent: "test"}

func TestLoginAndSession(t *testing.T) {
	env := kwtest.NewEnv(t)
	token, sess, err := env.Service.Login(ctx, "  OWNER@example.com ", kwtest.OwnerPassword, origin)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if len(token) < 40 || sess.UserID != env.OwnerID {
		t.Fatalf("token %q session %+v", token, sess)
	}
	// Only the digest is stored.
	stored, err := env.Store.GetSessionByDigest(ctx, sess.Digest)
	if err != nil || string(stored.Digest) == token {
		t.Fatalf("stored session %+v, %v", stored, err)
	}
	u, _, err := env.Service.SessionUser(ctx, token)
	if err != nil || u.ID != env.OwnerID {
		t.Fatalf("SessionUser = %v, %v", u, err)
	}
	if err := env.Service.Logout(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Service.SessionUser(ctx, token); kwtest.Code(err) != keyward.CodeUnauthenticated {
		t.Fatalf("after logout: %v", err)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	env := kwtest.NewEnv(t)
	_, _, wrong := env.Service.Login(ctx, kwtest.OwnerEmail, "wrong password", origin)
	_, _, unknown := env.Service.Login(ctx, "nobody@example.com", "wrong password", service.Origin{IP: "192.0.2.8"})
	if kwtest.Code(wrong) != keyward.CodeUnauthenticated || keyward.AsError(wrong).Message != keyward.AsError(unknown).Message {
		t.Fatalf("wrong password %v vs unknown email %v", wrong, unknown)
	}
	// A member who never set a password cannot sign in with an empty one.
	m := env.MustMember(t, "new@example.com", keyward.OrgMember, "", "")
	if _, _, err := env.Service.Login(ctx, m.Email, "", service.Origin{IP: "192.0.2.9"}); kwtest.Code(err) != keyward.CodeUnauthenticated {
		t.Fatalf("empty password: %v", err)
	}
}

func TestLoginThrottledPerAccountAndAddress(t *testing.T) {
	env := kwtest.NewEnv(t)
	for i := 0; i < 5; i++ {
		if _, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, "wrong", service.Origin{IP: "192.0.2.10"}); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	// The address that failed is refused for a while, even with the right
	// password ...
	_, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, service.Origin{IP: "192.0.2.10"})
	if kwtest.Code(err) != keyward.CodeRateLimited || keyward.AsError(err).RetryAfter <= 0 {
		t.Fatalf("6th attempt: %v", err)
	}
	// ... but the account is not locked: from another address the right
	// password signs in.
	if _, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, service.Origin{IP: "192.0.2.11"}); err != nil {
		t.Fatalf("right password from another address: %v", err)
	}
	env.Clock.Advance(15 * time.Minute)
	if _, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, service.Origin{IP: "192.0.2.10"}); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	// One address guessing many accounts is throttled too.
	for i := 0; i < 30; i++ {
		if _, _, err := env.Service.Login(ctx, "guess"+string(rune('a'+i%26))+"@example.com", "x", service.Origin{IP: "198.51.100.1"}); err == nil {
			t.Fatal("a guessed account signed in")
		}
	}
	if _, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, service.Origin{IP: "198.51.100.1"}); kwtest.Code(err) != keyward.CodeRateLimited {
		t.Fatalf("address after 30 failures: %v", err)
	}
}

func TestSessionExpiry(t *testing.T) {
	env := kwtest.NewEnv(t)
	token, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, origin)
	if err != nil {
		t.Fatal(err)
	}
	// Used every 23 hours, a session lives until its absolute end.
	for elapsed := time.Duration(0); elapsed+23*time.Hour < service.SessionAbsolute; elapsed += 23 * time.Hour {
		env.Clock.Advance(23 * time.Hour)
		if _, _, err := env.Service.SessionUser(ctx, token); err != nil {
			t.Fatalf("after %v: %v", elapsed+23*time.Hour, err)
		}
	}
	env.Clock.Advance(23 * time.Hour)
	if _, _, err := env.Service.SessionUser(ctx, token); kwtest.Code(err) != keyward.CodeUnauthenticated {
		t.Fatalf("past the absolute lifetime: %v", err)
	}
	// Idle for a day: gone.
	token, _, _ = env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, origin)
	env.Clock.Advance(service.SessionIdle)
	if _, _, err := env.Service.SessionUser(ctx, token); kwtest.Code(err) != keyward.CodeUnauthenticated {
		t.Fatalf("idle session: %v", err)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	env := kwtest.NewEnv(t)
	other, _, _ := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, origin)
	_, sess, _ := env.Service.Login(ctx, kwtest.OwnerEmail, kwtest.OwnerPassword, origin)
	if _, _, err := env.Service.ChangePassword(ctx, sess, "not it", "a new password", origin); kwtest.Code(err) != keyward.CodeInvalidRequest {
		t.Fatalf("wrong current password: %v", err)
	}
	if _, _, err := env.Service.ChangePassword(ctx, sess, kwtest.OwnerPassword, "short", origin); kwtest.Code(err) != keyward.CodeInvalidRequest {
		t.Fatalf("short password: %v", err)
	}
	fresh, _, err := env.Service.ChangePassword(ctx, sess, kwtest.OwnerPassword, "a new password", origin)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := env.Service.SessionUser(ctx, other); kwtest.Code(err) != keyward.CodeUnauthenticated {
		t.Fatalf("other session survived a password change: %v", err)
	}
	if _, _, err := env.Service.SessionUser(ctx, fresh); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	if _, _, err := env.Service.Login(ctx, kwtest.OwnerEmail, "a new password", origin); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
}

func TestPasswordResetLink(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	m := env.MustMember(t, "dev@example.com", keyward.OrgMember, p.ID, keyward.ProjectDeveloper)
	admin := env.MustMember(t, "admin@example.com", keyward.OrgAdmin, "", "")

	if _, err := env.Service.CreatePasswordReset(ctx, env.User(admin.UserID), m.UserID); kwtest.Code(err) != keyward.CodePermissionDenied {
		t.Fatalf("admin made a reset link: %v", err)
	}
	token, err := env.Service.CreatePasswordReset(ctx, env.Owner(), m.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Service.ResetPassword(ctx, token, "short"); kwtest.Code(err) != keyward.CodeInvalidRequest {
		t.Fatalf("short password: %v", err)
	}
	// Used by two at once: exactly one wins. (A loser may also be told the
	// server is busy hashing: it has not used the link then.)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = env.Service.ResetPassword(ctx, token, "developer's password") }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if c := kwtest.Code(err); c != keyward.CodeNotFound && c != keyward.CodeRateLimited {
			t.Fatalf("loser: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d uses succeeded, want 1", ok)
	}
	if _, _, err := env.Service.Login(ctx, m.Email, "developer's password", origin); err != nil {
		t.Fatalf("login with the reset password: %v", err)
	}
	// Expired links fail.
	token, _ = env.Service.CreatePasswordReset(ctx, env.Owner(), m.UserID)
	env.Clock.Advance(25 * time.Hour)
	if err := env.Service.ResetPassword(ctx, token, "another password"); kwtest.Code(err) != keyward.CodeNotFound {
		t.Fatalf("expired link: %v", err)
	}
}

func TestSetupLinkIsSingleUse(t *testing.T) {
	st := kwtest.NewStore(t)
	clock := kwtest.NewClock()
	svc, err := service.New(service.Config{Store: st, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	token, err := svc.NewSetupToken(ctx)
	if err != nil || token == "" {
		t.Fatalf("NewSetupToken on an empty store = %q, %v", token, err)
	}
	in := service.BootstrapInput{OrgName: "Acme", Email: "first@example.com", Password: "first owner pw"}
	if _, _, err := svc.Setup(ctx, "wrong"+token[5:], in, origin); kwtest.Code(err) != keyward.CodeNotFound {
		t.Fatalf("wrong token: %v", err)
	}
	res, session, err := svc.Setup(ctx, token, in, origin)
	if err != nil || session == "" || res.Org.Name != "Acme" {
		t.Fatalf("Setup = %+v, %q, %v", res, session, err)
	}
	if _, _, err := svc.Setup(ctx, token, in, origin); kwtest.Code(err) != keyward.CodeNotFound {
		t.Fatalf("second use: %v", err)
	}
	if again, _ := svc.NewSetupToken(ctx); again != "" {
		t.Fatal("a set-up store handed out another setup token")
	}

	// An unused token expires after an hour.
	svc2, _ := service.New(service.Config{Store: kwtest.NewStore(t), Clock: clock})
	token, _ = svc2.NewSetupToken(ctx)
	clock.Advance(service.SetupLifetime)
	if _, _, err := svc2.Setup(ctx, token, in, origin); kwtest.Code(err) != keyward.CodeNotFound {
		t.Fatalf("expired setup token: %v", err)
	}
}

// Past its failure budget an address's unknown keys are kept off the store
// (a few lookups a second, then RATE_LIMITED with a retry time), but its
// valid keys still pass: the one in use, and a new one.
func TestFailedKeysThrottledPerAddress(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	fresh := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	attacker := netip.MustParseAddr("203.0.113.9")
	if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, attacker); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < service.AuthFailuresPerMinute+service.ThrottledLookupsPerSecond; i++ {
		_, err := env.Service.Authenticate(ctx, apikey.Generate(apikey.PrefixProject), keyward.KindProject, attacker)
		wantCode(t, err, keyward.CodeAPIKeyInvalid)
	}
	_, err := env.Service.Authenticate(ctx, apikey.Generate(apikey.PrefixProject), keyward.KindProject, attacker)
	if kwtest.Code(err) != keyward.CodeRateLimited || keyward.AsError(err).RetryAfter <= 0 || keyward.AsError(err).RetryAfter > time.Second {
		t.Fatalf("an unknown key past the budget: %v", err)
	}
	if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, attacker); err != nil {
		t.Fatalf("the key in use, from the throttled address: %v", err)
	}
	// A key this node has not seen yet waits for the next lookup...
	_, err = env.Service.Authenticate(ctx, fresh.Secret, keyward.KindProject, attacker)
	wantCode(t, err, keyward.CodeRateLimited)
	env.Clock.Advance(time.Second)
	if _, err := env.Service.Authenticate(ctx, fresh.Secret, keyward.KindProject, attacker); err != nil {
		t.Fatalf("a new key, a second later: %v", err)
	}
	// ...and passes from then on, when the lookups are used up again.
	for range service.ThrottledLookupsPerSecond {
		if _, err := env.Service.Authenticate(ctx, apikey.Generate(apikey.PrefixProject), keyward.KindProject, attacker); err == nil {
			t.Fatal("an unknown key authenticated")
		}
	}
	if _, err := env.Service.Authenticate(ctx, fresh.Secret, keyward.KindProject, attacker); err != nil {
		t.Fatalf("the new key, once known: %v", err)
	}
}
