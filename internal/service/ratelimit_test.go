package service_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/ratelimit"
	"github.com/keyward/keyward/internal/service"
	"github.com/keyward/keyward/internal/store/sqlite"
)

func limit(n int, window time.Duration) *keyward.RateLimit {
	return &keyward.RateLimit{Limit: n, Window: keyward.Duration(window)}
}

func TestKeyRateLimit(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{RateLimit: limit(3, time.Second)})
	if d := cmpRateLimit(k.RateLimit, limit(3, time.Second)); d != "" {
		t.Fatalf("created key's rate limit: %s", d)
	}
	env.Clock.Advance(300 * time.Millisecond) // inside a window, not at its start
	for i := 1; i <= 3; i++ {
		_, d, err := env.Service.AuthenticateLimited(ctx, k.Secret, keyward.KindProject, localIP)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if d.Limit != 3 || d.Remaining != 3-i || !d.Reset.Equal(env.Clock.Now().Add(700*time.Millisecond)) {
			t.Fatalf("request %d: decision %+v", i, d)
		}
	}
	_, d, err := env.Service.AuthenticateLimited(ctx, k.Secret, keyward.KindProject, localIP)
	wantCode(t, err, keyward.CodeRateLimited)
	if ra := keyward.AsError(err).RetryAfter; ra <= 0 || ra > time.Second {
		t.Fatalf("RetryAfter = %v, want (0, 1s]", ra)
	}
	if d.Limit != 3 || d.Remaining != 0 || d.Allowed {
		t.Fatalf("refused decision %+v", d)
	}
	// Other keys of the project are not affected.
	other := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	for range 10 {
		if _, d, err := env.Service.AuthenticateLimited(ctx, other.Secret, keyward.KindProject, localIP); err != nil || d.Limit != 0 {
			t.Fatalf("a key without a limit: %+v, %v", d, err)
		}
	}
	env.Clock.Advance(700 * time.Millisecond) // the next window
	if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// Invalid keys and refused requests never use a key's budget.
func TestRateLimitOnlyCountsValidRequests(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{
		RateLimit: limit(1, time.Minute), IPAllowlist: []string{"127.0.0.1"},
	})
	_, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, netip.MustParseAddr("192.0.2.1"))
	wantCode(t, err, keyward.CodeIPNotAllowed)
	_, err = env.Service.Authenticate(ctx, k.Secret, keyward.KindOrg, localIP)
	wantCode(t, err, keyward.CodePermissionDenied)
	if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
		t.Fatalf("first valid request: %v", err)
	}
	_, err = env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP)
	wantCode(t, err, keyward.CodeRateLimited)
}

func TestRateLimitValidation(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	for _, rl := range []*keyward.RateLimit{
		limit(0, time.Second), limit(-1, time.Second), limit(1_000_001, time.Second),
		limit(1, 999*time.Millisecond), limit(1, 0), limit(1, 24*time.Hour+time.Second),
	} {
		_, err := env.Service.CreateKey(ctx, env.Owner(), service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "k", RateLimit: rl})
		wantCode(t, err, keyward.CodeInvalidRequest)
	}
	for _, rl := range []*keyward.RateLimit{limit(1, time.Second), limit(1_000_000, 24*time.Hour)} {
		env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{RateLimit: rl})
	}
}

func TestPatchRateLimit(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	w := service.Where{ProjectID: p.ID}
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	got, err := env.Service.UpdateKey(ctx, env.Owner(), w, k.ID, keyward.KeyPatch{RateLimit: limit(1, time.Minute)})
	if err != nil || cmpRateLimit(got.RateLimit, limit(1, time.Minute)) != "" {
		t.Fatalf("set: %+v, %v", got, err)
	}
	// The new limit applies from the next request (the cache forgot the key).
	if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
		t.Fatal(err)
	}
	_, err = env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP)
	wantCode(t, err, keyward.CodeRateLimited)

	_, err = env.Service.UpdateKey(ctx, env.Owner(), w, k.ID, keyward.KeyPatch{RateLimit: limit(5, time.Minute), ClearRateLimit: true})
	wantCode(t, err, keyward.CodeInvalidRequest)
	_, err = env.Service.UpdateKey(ctx, env.Owner(), w, k.ID, keyward.KeyPatch{RateLimit: limit(5, time.Millisecond)})
	wantCode(t, err, keyward.CodeInvalidRequest)

	// A patch of something else keeps the limit.
	name := "renamed"
	got, err = env.Service.UpdateKey(ctx, env.Owner(), w, k.ID, keyward.KeyPatch{Name: &name})
	if err != nil || got.RateLimit == nil {
		t.Fatalf("rename: %+v, %v", got, err)
	}
	got, err = env.Service.UpdateKey(ctx, env.Owner(), w, k.ID, keyward.KeyPatch{ClearRateLimit: true})
	if err != nil || got.RateLimit != nil {
		t.Fatalf("clear: %+v, %v", got, err)
	}
	if _, err := env.Service.Authenticate(ctx, k.Secret, keyward.KindProject, localIP); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
}

func TestRotationKeepsRateLimit(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{RateLimit: limit(2, time.Hour)})
	nk, err := env.Service.RotateKey(ctx, env.Owner(), service.Where{ProjectID: p.ID}, k.ID, keyward.RotateInput{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmpRateLimit(nk.RateLimit, limit(2, time.Hour)); d != "" {
		t.Fatalf("rotated key: %s", d)
	}
	stored, err := env.Store.GetKey(ctx, nk.ID)
	if err != nil || cmpRateLimit(stored.RateLimit, limit(2, time.Hour)) != "" {
		t.Fatalf("stored rotated key: %+v, %v", stored, err)
	}
	// The new key has a budget of its own.
	for range 2 {
		if _, err := env.Service.Authenticate(ctx, nk.Secret, keyward.KindProject, localIP); err != nil {
			t.Fatal(err)
		}
	}
	_, err = env.Service.Authenticate(ctx, nk.Secret, keyward.KindProject, localIP)
	wantCode(t, err, keyward.CodeRateLimited)
}

func TestVerifyRateLimited(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	caller := keyActor(t, env, env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{}).Secret, keyward.KindProject)
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{RateLimit: limit(2, time.Second)})
	verify := func(in keyward.VerifyInput) string {
		t.Helper()
		res, err := env.Service.Verify(ctx, caller, p.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		return res.Code
	}
	// A refused verification (missing scope, unknown key) does not count.
	if got := verify(keyward.VerifyInput{Key: k.Secret, Scopes: []string{"orders:read"}}); got != keyward.VerifyInsufficientScope {
		t.Fatalf("Verify(missing scope) = %s", got)
	}
	for i := range 2 {
		if got := verify(keyward.VerifyInput{Key: k.Secret}); got != keyward.VerifyValid {
			t.Fatalf("Verify %d = %s", i+1, got)
		}
	}
	res, err := env.Service.Verify(ctx, caller, p.ID, keyward.VerifyInput{Key: k.Secret})
	if err != nil || res.Valid || res.Code != keyward.VerifyRateLimited || res.Key != nil {
		t.Fatalf("Verify over the limit = %+v, %v; want {valid: false, code: RATE_LIMITED}", res, err)
	}
	env.Clock.Advance(time.Second)
	if got := verify(keyward.VerifyInput{Key: k.Secret}); got != keyward.VerifyValid {
		t.Fatalf("Verify after the window = %s", got)
	}
}

// brokenLimiter is a limiter whose backend (Redis) is down.
type brokenLimiter struct{ calls int }

func (b *brokenLimiter) Allow(context.Context, string, int, time.Duration, time.Time) (ratelimit.Decision, error) {
	b.calls++
	return ratelimit.Decision{}, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

// A limiter outage lets rate-limited keys through (fail open), still
// refuses invalid keys (never fail open on validity), and still throttles
// unknown keys, on this node.
func TestLimiterDownFailsOpenForLimitsOnly(t *testing.T) {
	clock := kwtest.NewClock()
	st, err := sqlite.Open(ctx, t.TempDir()+"/kw.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	broken := &brokenLimiter{}
	svc, err := service.New(service.Config{Store: st, Clock: clock, Logger: kwtest.Logger(t), Limiter: broken})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgName: "Acme", Email: "owner@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	owner := service.UserActor(res.User.ID, res.Org.ID, service.Origin{})
	p, err := svc.CreateProject(ctx, owner, keyward.CreateProjectInput{Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateKey(ctx, owner, service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "k", RateLimit: limit(1, time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, d, err := svc.AuthenticateLimited(ctx, k.Secret, keyward.KindProject, localIP); err != nil || d.Limit != 0 {
			t.Fatalf("limiter down: %+v, %v; want allowed without a decision", d, err)
		}
	}
	if broken.calls != 1 {
		t.Errorf("the broken limiter was asked %d times; want once, then a pause", broken.calls)
	}
	attacker := netip.MustParseAddr("203.0.113.7")
	for range service.AuthFailuresPerMinute {
		_, err := svc.Authenticate(ctx, apikey.Generate(apikey.PrefixProject), keyward.KindProject, attacker)
		wantCode(t, err, keyward.CodeAPIKeyInvalid)
	}
	// Counted on this node: past the budget the address's unknown keys are
	// kept off the store, while the valid key still passes.
	for range service.ThrottledLookupsPerSecond {
		_, err := svc.Authenticate(ctx, apikey.Generate(apikey.PrefixProject), keyward.KindProject, attacker)
		wantCode(t, err, keyward.CodeAPIKeyInvalid)
	}
	_, err = svc.Authenticate(ctx, apikey.Generate(apikey.PrefixProject), keyward.KindProject, attacker)
	wantCode(t, err, keyward.CodeRateLimited)
	if _, err := svc.Authenticate(ctx, k.Secret, keyward.KindProject, attacker); err != nil {
		t.Fatalf("a valid key from the throttled address: %v", err)
	}
}

// cmpRateLimit returns "" when got equals want, else what differs.
func cmpRateLimit(got, want *keyward.RateLimit) string {
	return cmp.Diff(want, got)
}

// A rate-limited key cannot lift its own limit, nor mint a key with a
// looser one (or none): the same rule as for scopes.
func TestKeyCannotLoosenRateLimits(t *testing.T) {
	env := kwtest.NewEnv(t)
	p := env.MustProject(t, "P")
	slow := &keyward.RateLimit{Limit: 10, Window: keyward.Duration(time.Second)}
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "limited", RateLimit: slow})
	asKey := service.KeyActor(k, service.Origin{IP: "127.0.0.1"})

	// Without a rate limit of its own, the new key gets the maker's.
	inherited, err := env.Service.CreateKey(ctx, asKey, where(p.ID), keyward.CreateKeyInput{Name: "inherits"})
	wantCode(t, err, "")
	if d := cmpRateLimit(inherited.RateLimit, slow); d != "" {
		t.Errorf("default rate limit (-want +got):\n%s", d)
	}
	// The same average rate over a longer window is a larger burst.
	_, err = env.Service.CreateKey(ctx, asKey, where(p.ID), keyward.CreateKeyInput{Name: "bursty",
		RateLimit: &keyward.RateLimit{Limit: 864000, Window: keyward.Duration(24 * time.Hour)}})
	wantCode(t, err, keyward.CodePermissionDenied)
	_, err = env.Service.CreateKey(ctx, asKey, where(p.ID), keyward.CreateKeyInput{Name: "faster",
		RateLimit: &keyward.RateLimit{Limit: 100, Window: keyward.Duration(time.Second)}})
	wantCode(t, err, keyward.CodePermissionDenied)
	_, err = env.Service.UpdateKey(ctx, asKey, where(p.ID), k.ID, keyward.KeyPatch{ClearRateLimit: true})
	wantCode(t, err, keyward.CodePermissionDenied)
	_, err = env.Service.UpdateKey(ctx, asKey, where(p.ID), k.ID, keyward.KeyPatch{RateLimit: &keyward.RateLimit{Limit: 11, Window: keyward.Duration(time.Second)}})
	wantCode(t, err, keyward.CodePermissionDenied)

	// As strict or stricter is fine (5 per second; 10 per 2 seconds).
	_, err = env.Service.CreateKey(ctx, asKey, where(p.ID), keyward.CreateKeyInput{Name: "slower",
		RateLimit: &keyward.RateLimit{Limit: 10, Window: keyward.Duration(2 * time.Second)}})
	wantCode(t, err, "")
	_, err = env.Service.UpdateKey(ctx, asKey, where(p.ID), k.ID, keyward.KeyPatch{RateLimit: &keyward.RateLimit{Limit: 5, Window: keyward.Duration(time.Second)}})
	wantCode(t, err, "")
	// Users (the owner here) are bound by roles, not by a key's limit.
	_, err = env.Service.UpdateKey(ctx, env.Owner(), where(p.ID), k.ID, keyward.KeyPatch{ClearRateLimit: true})
	wantCode(t, err, "")
}
