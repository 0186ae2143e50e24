package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// TestNewRefusesURLWithoutScheme: a KEYWARD_URL written as host:port is an
// error from New that names the variable, not a client that fails later.
func TestNewRefusesURLWithoutScheme(t *testing.T) {
	for _, bad := range []string{"localhost:8080", "127.0.0.1:8080", "keys.example.com"} {
		t.Setenv(EnvURL, bad)
		c, err := New()
		if err == nil || c != nil {
			t.Errorf("KEYWARD_URL=%s: New() = %v, %v; want an error", bad, c, err)
			continue
		}
		if !strings.Contains(err.Error(), EnvURL) || !strings.Contains(err.Error(), "http(s)://") {
			t.Errorf("KEYWARD_URL=%s: error %q does not name %s and the expected form", bad, err, EnvURL)
		}
	}
}

// TestCheckVerify: the start-up check names the variable of a missing or
// refused key and the scope a key lacks, against a real server.
func TestCheckVerify(t *testing.T) {
	srv := kwtest.NewServer(t)
	p := srv.MustProject(t, "Shop")
	verifier := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "backend", Scopes: []string{keyward.ScopeKeysVerify}})
	reader := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "reader", Scopes: []string{keyward.ScopeKeysRead}})
	ctx := context.Background()

	t.Setenv(EnvURL, srv.URL)
	t.Setenv(EnvOrgAPIKey, "")
	check := func(key string) error {
		t.Helper()
		t.Setenv(EnvAPIKey, key)
		c, err := New(WithRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		return c.CheckVerify(ctx)
	}
	if err := check(verifier.Secret); err != nil {
		t.Errorf("a key with keys:verify: %v", err)
	}
	if err := check(""); !errors.Is(err, ErrNoAPIKey) || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Errorf("no key: %v; want ErrNoAPIKey naming %s", err, EnvAPIKey)
	}
	if err := check(reader.Secret); err == nil || !strings.Contains(err.Error(), "keys:verify") || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Errorf("a key without keys:verify: %v; want an error naming the scope and %s", err, EnvAPIKey)
	}
	err := check("kwp_0123456789abcdefghijABCDEFGHIJ999999")
	if err == nil || !strings.Contains(err.Error(), EnvAPIKey) || keyward.ErrorCode(err) != keyward.CodeAPIKeyInvalid {
		t.Errorf("an unknown key: %v; want API_KEY_INVALID naming %s", err, EnvAPIKey)
	}

	// The org key's check, through an Org LocalCache's Start.
	org, err := New(WithOrgAPIKey(srv.OrgKey), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	lc := NewLocalCache(org, LocalCacheOptions{Org: true, Logger: discardLogger()})
	if err := lc.Start(runCtx); err != nil {
		t.Errorf("Start with the owner's org key: %v", err)
	}
	noKey, _ := New(WithOrgAPIKey(""))
	if err := NewLocalCache(noKey, LocalCacheOptions{Org: true}).Start(runCtx); !errors.Is(err, ErrNoOrgAPIKey) {
		t.Errorf("Start without an org key: %v, want ErrNoOrgAPIKey", err)
	}
}

// TestLocalCacheLogsTheStreamComingBack: the log says when the change
// stream is lost and, once for each loss, when it is live again.
func TestLocalCacheLogsTheStreamComingBack(t *testing.T) {
	s := newLocalSetup(t)

	s.proxy.refuseStream.Store(true)
	s.proxy.cutStreams()
	for s.lc.Live() { // the cut is seen when the connection's read fails
		select {
		case <-s.lc.cache.Changed():
		case <-time.After(20 * time.Second):
			t.Fatal("the cache stayed live after its stream was cut")
		}
	}
	s.proxy.refuseStream.Store(false)
	s.waitLive(t, true)

	// The proxy's cut may take a reconnection down with it (its upstream
	// connection dies a moment later): every loss is then told, and every
	// return after it, once.
	out := s.log.String()
	lost, back := strings.Count(out, "stream lost"), strings.Count(out, "stream is back")
	if lost == 0 || back != lost {
		t.Errorf("log %q says %d times that the stream was lost and %d that it is back; want each return once after each loss", out, lost, back)
	}
}

// TestMiddlewarePassesOnRateLimits: the verified key's window from keyward's
// answer reaches the caller as X-RateLimit-*, and a limited caller is told
// to retry when the window resets, not after a made-up second. Against a
// real keyward: its verify answer carries the window.
func TestMiddlewarePassesOnRateLimits(t *testing.T) {
	kw := kwtest.NewServer(t)
	p := kw.MustProject(t, "Shop")
	sdkKey := kw.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "backend", Scopes: []string{keyward.ScopeKeysVerify}})
	customer := kw.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "customer",
		RateLimit: &keyward.RateLimit{Limit: 2, Window: keyward.Duration(time.Minute)}})
	// The middleware compares the window's reset with its own clock, as
	// it would with a keyward on the same time: the test server's clock
	// is set to now.
	kw.Clock.Advance(time.Since(kw.Clock.Now()))
	c, _ := mustClient(t, kw.URL, WithAPIKey(sdkKey.Secret))
	ran := false
	h := Middleware(c)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
	serve := func(key string) *httptest.ResponseRecorder {
		ran = false
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Api-Key", key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	first := serve(customer.Secret)
	if !ran || first.Header().Get("X-RateLimit-Limit") != "2" || first.Header().Get("X-RateLimit-Remaining") != "1" {
		t.Errorf("first request: ran %v, headers %v", ran, first.Header())
	}
	second := serve(customer.Secret)
	if !ran || second.Header().Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("second request: ran %v, headers %v (a kept answer would repeat the first window)", ran, second.Header())
	}
	limited := serve(customer.Secret)
	if ran {
		t.Error("a rate-limited key reached the handler")
	}
	checkErrorBody(t, limited, 429, keyward.CodeRateLimited)
	reset, err := strconv.ParseInt(limited.Header().Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Fatalf("X-RateLimit-Reset %q", limited.Header().Get("X-RateLimit-Reset"))
	}
	ra, err := strconv.Atoi(limited.Header().Get("Retry-After"))
	if until := time.Until(time.Unix(reset, 0)); err != nil || ra < 1 || time.Duration(ra)*time.Second > until+2*time.Second {
		t.Errorf("Retry-After = %q, want the time until the window resets (%v)", limited.Header().Get("Retry-After"), until)
	}
	if limited.Header().Get("X-RateLimit-Remaining") != "0" || limited.Header().Get("X-RateLimit-Limit") != "2" {
		t.Errorf("limited answer headers: %v", limited.Header())
	}
}
