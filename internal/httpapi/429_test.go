package httpapi_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/service"
)

// A client address presenting too many bad keys is throttled with 429 and a
// Retry-After, before the store is asked again.
func TestFailedAuthThrottled(t *testing.T) {
	s := newSetup(t)
	for i := 0; i < service.AuthFailuresPerMinute; i++ {
		do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject)).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	}
	r := s.pk(t, "GET", "/v1/whoami", nil)
	r.wantError(t, 429, keyward.CodeRateLimited)
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	m := do(t, s.srv, "GET", "/metrics", nil).want(t, 200)
	if want := `keyward_auth_results_total{result="rate_limited"} 1`; !contains(string(m.Body), want) {
		t.Fatalf("metrics lack %s", want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
