package httpapi_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/service"
)

// A client address presenting too many bad keys is throttled: past a few
// store lookups a second its unknown keys get 429 with a Retry-After, before
// the store is asked; its valid key in use still passes.
func TestFailedAuthThrottled(t *testing.T) {
	s := newSetup(t)
	s.pk(t, "GET", "/v1/whoami", nil).want(t, 200)
	for i := 0; i < service.AuthFailuresPerMinute+service.ThrottledLookupsPerSecond; i++ {
		do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject)).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	}
	r := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject))
	r.wantError(t, 429, keyward.CodeRateLimited)
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs != 1 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	s.pk(t, "GET", "/v1/whoami", nil).want(t, 200)
	m := do(t, s.srv, "GET", "/metrics", nil).want(t, 200)
	if want := `keyward_auth_results_total{result="rate_limited"} 1`; !contains(string(m.Body), want) {
		t.Fatalf("metrics lack %s", want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A key with a rate limit gets X-RateLimit-* headers on every response and
// 429 RATE_LIMITED with Retry-After over its limit; a key without one gets
// no such headers. The limit is set through the API (create), as JSON.
func TestKeyRateLimited(t *testing.T) {
	s := newSetup(t)
	s.srv.Clock.Advance(400 * time.Millisecond) // 12:00:00.4: the window ends at 12:00:01
	created := s.pk(t, "POST", "/v1/keys", map[string]any{
		"name": "limited", "rate_limit": map[string]any{"limit": 2, "window": "1s"},
	}).want(t, 201)
	var k keyward.Key
	created.decode(t, &k)
	if k.RateLimit == nil || k.RateLimit.Limit != 2 || k.RateLimit.Window.Std() != time.Second {
		t.Fatalf("created key's rate_limit = %+v", k.RateLimit)
	}
	if created.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("a key without a limit got X-RateLimit-Limit %q", created.Header.Get("X-RateLimit-Limit"))
	}
	reset := strconv.FormatInt(s.srv.Clock.Now().Truncate(time.Second).Add(time.Second).Unix(), 10)
	for i, remaining := range []string{"1", "0"} {
		r := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret).want(t, 200)
		if got := [3]string{r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"), r.Header.Get("X-RateLimit-Reset")}; got != [3]string{"2", remaining, reset} {
			t.Fatalf("request %d: X-RateLimit-Limit/Remaining/Reset = %q, want [2 %s %s]", i+1, got, remaining, reset)
		}
	}
	r := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret)
	r.wantError(t, 429, keyward.CodeRateLimited)
	if got := r.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := [3]string{r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"), r.Header.Get("X-RateLimit-Reset")}; got != [3]string{"2", "0", reset} {
		t.Errorf("429: X-RateLimit-Limit/Remaining/Reset = %q", got)
	}
	m := do(t, s.srv, "GET", "/metrics", nil).want(t, 200)
	if want := `keyward_auth_results_total{result="rate_limited"} 1`; !contains(string(m.Body), want) {
		t.Fatalf("metrics lack %s", want)
	}

	// /v1/verify answers RATE_LIMITED for it.
	var res keyward.VerifyResult
	s.pk(t, "POST", "/v1/verify", map[string]any{"key": k.Secret}).want(t, 200).decode(t, &res)
	if res.Valid || res.Code != keyward.VerifyRateLimited {
		t.Fatalf("verify = %+v, want RATE_LIMITED", res)
	}

	// The next window, and the limit cleared with PATCH.
	s.srv.Clock.Advance(600 * time.Millisecond)
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret).want(t, 200)
	s.pk(t, "PATCH", "/v1/keys/"+k.ID, map[string]any{"clear_rate_limit": true}).want(t, 200)
	for range 3 {
		if r := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret).want(t, 200); r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatal("X-RateLimit-Limit after the limit was cleared")
		}
	}
}

func TestKeyRateLimitInvalid(t *testing.T) {
	s := newSetup(t)
	for _, rl := range []any{
		map[string]any{"limit": 0, "window": "1s"},
		map[string]any{"limit": 1, "window": "100ms"},
		map[string]any{"limit": 1, "window": "25h"},
		map[string]any{"limit": 1, "window": 5},
		map[string]any{"limit": 1, "window": "1s", "burst": 3},
	} {
		s.pk(t, "POST", "/v1/keys", map[string]any{"name": "k", "rate_limit": rl}).wantError(t, 400, keyward.CodeInvalidRequest)
	}
}
