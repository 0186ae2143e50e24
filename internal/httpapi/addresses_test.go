package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/dashboard"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/jsonlog"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// Bad keys from an address never get a valid key from the same address
// refused: many clients share one address behind a NAT or a proxy. What is
// guaranteed: a key in the node's cache, and a key the node has found valid
// before (within a day), pass at once; a key the node has never seen passes
// at once too unless the address's few store lookups of this second are
// used up, and then a second later (Retry-After: 1), and from then on
// always.
func TestBadKeysNeverRefuseValidKeys(t *testing.T) {
	s := newSetup(t)
	cached := s.key
	fresh := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "never used"})
	later := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "used last"})
	whoami := func(secret string) *resp { return do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", secret) }
	whoami(cached.Secret).want(t, 200)

	flood := func(n int) {
		for range n {
			whoami(apikey.Generate(apikey.PrefixProject)).wantError(t, 401, keyward.CodeAPIKeyInvalid)
		}
	}
	flood(service.AuthFailuresPerMinute)
	whoami(cached.Secret).want(t, 200)
	whoami(fresh.Secret).want(t, 200) // never seen: one of this second's lookups

	// The lookups are used up: unknown keys are refused without the store,
	// the known keys still pass, a never-seen key waits a second.
	for i := 1; ; i++ {
		r := whoami(apikey.Generate(apikey.PrefixProject))
		if r.Status == 429 {
			r.wantError(t, 429, keyward.CodeRateLimited)
			break
		}
		r.wantError(t, 401, keyward.CodeAPIKeyInvalid)
		if i > service.ThrottledLookupsPerSecond {
			t.Fatalf("%d unknown keys in a second from a throttled address, none refused", i)
		}
	}
	whoami(cached.Secret).want(t, 200)
	whoami(fresh.Secret).want(t, 200)
	r := whoami(later.Secret)
	r.wantError(t, 429, keyward.CodeRateLimited)
	if got := r.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	s.srv.Clock.Advance(time.Second)
	whoami(later.Secret).want(t, 200)

	// A minute on, the cache has forgotten every key; a new flood uses up
	// the lookups again, and the keys the node knows still pass.
	s.srv.Clock.Advance(time.Minute)
	flood(service.AuthFailuresPerMinute + service.ThrottledLookupsPerSecond)
	whoami(apikey.Generate(apikey.PrefixProject)).wantError(t, 429, keyward.CodeRateLimited)
	for _, k := range []*keyward.Key{cached, fresh, later} {
		whoami(k.Secret).want(t, 200)
	}
	// Malformed keys cost no lookup and are not counted: still 401.
	whoami("kwp_not_a_key").wantError(t, 401, keyward.CodeAPIKeyInvalid)
}

// countingStore counts key lookups by digest: the store reads an unknown
// key costs.
type countingStore struct {
	keyward.Store
	reads atomic.Int64
}

func (c *countingStore) GetKeyByDigest(ctx context.Context, d []byte) (*keyward.Key, error) {
	c.reads.Add(1)
	return c.Store.GetKeyByDigest(ctx, d)
}

// The throttle still spares the store: past an address's failure budget,
// its unknown keys read the store at most ThrottledLookupsPerSecond times a
// second, however many it sends; valid cached keys read nothing.
func TestThrottleKeepsUnknownKeysOffTheStore(t *testing.T) {
	st := &countingStore{Store: kwtest.NewStore(t)}
	clock := kwtest.NewClock()
	svc, err := service.New(service.Config{Store: st, Clock: clock, Logger: kwtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Bootstrap(context.Background(), service.BootstrapInput{OrgName: "Acme", Email: kwtest.OwnerEmail, Password: kwtest.OwnerPassword})
	if err != nil {
		t.Fatal(err)
	}
	env := &kwtest.Env{Store: st, Service: svc, Clock: clock, OrgID: res.Org.ID, OwnerID: res.User.ID, OrgKey: res.OrgKey.Secret}
	srv := serve(t, env, clientaddr.Proxies{}, nil)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{})
	do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret).want(t, 200)

	reads := func() int64 { return st.reads.Load() }
	start := reads()
	for range service.AuthFailuresPerMinute {
		do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject)).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	}
	if got := reads() - start; got != service.AuthFailuresPerMinute {
		t.Fatalf("%d unknown keys read the store %d times", service.AuthFailuresPerMinute, got)
	}
	for second := range 3 {
		before, refused := reads(), 0
		for range 50 {
			r := do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject))
			if r.Status == 429 {
				refused++
			}
		}
		if got := reads() - before; got != service.ThrottledLookupsPerSecond || refused != 50-service.ThrottledLookupsPerSecond {
			t.Fatalf("second %d: 50 unknown keys from a throttled address read the store %d times (%d refused); want %d reads", second, got, refused, service.ThrottledLookupsPerSecond)
		}
		before = reads()
		do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret).want(t, 200)
		if got := reads() - before; got != 0 {
			t.Fatalf("the cached valid key read the store %d times", got)
		}
		clock.Advance(time.Second)
	}
}

// serve runs env's API on a loopback port with the given trusted proxies,
// logging JSON request lines to log (when not nil).
func serve(t *testing.T, env *kwtest.Env, proxies clientaddr.Proxies, log *kwtest.LogBuffer) *kwtest.Server {
	t.Helper()
	logger := kwtest.Logger(t)
	if log != nil {
		logger = slog.New(jsonlog.NewHandler(log))
	}
	dash := dashboard.New(dashboard.Config{Service: env.Service, Logger: logger, Clock: env.Clock})
	api := httpapi.New(httpapi.Config{Service: env.Service, Logger: logger, Fallback: dash, TrustedProxies: proxies})
	ts := httptest.NewServer(checkExchanges(t, api))
	t.Cleanup(ts.Close)
	return &kwtest.Server{Env: env, URL: ts.URL, API: api}
}

// Behind a trusted proxy (here the test client's own 127.0.0.1), the
// client named in X-Forwarded-For is the one address every part of keyward
// uses: IP allowlists, the failed-key throttle, audit events and request
// logs. Headers that cannot be read give no address (never the proxy's
// own), never a 500.
func TestTrustedProxyClientAddress(t *testing.T) {
	env := kwtest.NewEnv(t)
	proxies, err := clientaddr.ParseProxies([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	log := &kwtest.LogBuffer{}
	srv := serve(t, env, proxies, log)
	p := env.MustProject(t, "P")
	k := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{IPAllowlist: []string{"203.0.113.7/32"}})
	whoami := func(secret string, headers ...string) *resp {
		return do(t, srv, "GET", "/v1/whoami", nil, append([]string{"x-api-key", secret}, headers...)...)
	}

	// Allowlists.
	whoami(k.Secret, "X-Forwarded-For", "203.0.113.7").want(t, 200)
	whoami(k.Secret, "X-Forwarded-For", "192.0.2.1, 203.0.113.7").want(t, 200)
	whoami(k.Secret, "Forwarded", `for=203.0.113.7;proto=https`).want(t, 200)
	whoami(k.Secret, "X-Forwarded-For", "203.0.113.7, 198.51.100.1").wantError(t, 403, keyward.CodeIPNotAllowed)
	whoami(k.Secret).wantError(t, 403, keyward.CodeIPNotAllowed)
	for _, bad := range [][]string{
		{"X-Forwarded-For", "garbage"}, {"X-Forwarded-For", "203.0.113.7, [::1"}, {"Forwarded", `for="203.0.113.7`},
		{"Forwarded", "for=unknown"}, {"X-Forwarded-For", "203.0.113.7", "Forwarded", "for=192.0.2.1"},
	} {
		whoami(k.Secret, bad...).wantError(t, 403, keyward.CodeIPNotAllowed)
	}

	// Audit events and the request log.
	var created keyward.Key
	do(t, srv, "POST", "/v1/org/projects/"+p.ID+"/keys", map[string]any{"name": "from behind"},
		"x-org-api-key", env.OrgKey, "X-Forwarded-For", "198.51.100.44").want(t, 201).decode(t, &created)
	var events keyward.Page[keyward.AuditEvent]
	do(t, srv, "GET", "/v1/org/audit-events?action=key.create", nil, "x-org-api-key", env.OrgKey).want(t, 200).decode(t, &events)
	found := false
	for _, e := range events.Data {
		if e.Target.ID == created.ID {
			found = true
			if e.IP != "198.51.100.44" {
				t.Errorf("the audit event's ip = %q, want the forwarded client 198.51.100.44", e.IP)
			}
		}
	}
	if !found {
		t.Fatalf("no key.create event for %s in %+v", created.ID, events.Data)
	}
	if !strings.Contains(log.String(), `"client":"198.51.100.44"`) {
		t.Errorf("no request line with client 198.51.100.44 in the log:\n%s", log.String())
	}

	// The throttle counts per forwarded client: one client's bad keys
	// leave another behind the same proxy unthrottled.
	for range service.AuthFailuresPerMinute + service.ThrottledLookupsPerSecond {
		whoami(apikey.Generate(apikey.PrefixProject), "X-Forwarded-For", "192.0.2.66").wantError(t, 401, keyward.CodeAPIKeyInvalid)
	}
	whoami(apikey.Generate(apikey.PrefixProject), "X-Forwarded-For", "192.0.2.66").wantError(t, 429, keyward.CodeRateLimited)
	for range service.ThrottledLookupsPerSecond + 1 {
		whoami(apikey.Generate(apikey.PrefixProject), "X-Forwarded-For", "192.0.2.67").wantError(t, 401, keyward.CodeAPIKeyInvalid)
	}
}

// Without --trusted-proxies forwarded headers are ignored: the client is
// the peer.
func TestForwardedHeadersIgnoredByDefault(t *testing.T) {
	s := newSetup(t)
	k := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{IPAllowlist: []string{"203.0.113.7/32"}})
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret, "X-Forwarded-For", "203.0.113.7").wantError(t, 403, keyward.CodeIPNotAllowed)
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", k.Secret, "Forwarded", "for=203.0.113.7").wantError(t, 403, keyward.CodeIPNotAllowed)
	local := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{IPAllowlist: []string{"127.0.0.1/32"}})
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", local.Secret, "X-Forwarded-For", "203.0.113.7").want(t, 200)
}

// The failed-key throttle counts an IPv6 client by its /64: one host holds
// the whole block, and cycling through its addresses once meant never
// being throttled. A flood from countless addresses cannot reset a key's
// rate-limit budget either: the throttle counts in a table of its own.
func TestThrottleCountsIPv6BlocksAndKeepsKeyBudgets(t *testing.T) {
	env := kwtest.NewEnv(t)
	proxies, err := clientaddr.ParseProxies([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, env, proxies, nil)
	p := env.MustProject(t, "P")
	limited := env.MustKey(t, nil, p.ID, keyward.CreateKeyInput{RateLimit: &keyward.RateLimit{Limit: 3, Window: keyward.Duration(24 * time.Hour)}})
	for range 3 {
		do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", limited.Secret).want(t, 200)
	}
	do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", limited.Secret).wantError(t, 429, keyward.CodeRateLimited)

	limitedFrom := 0
	for i := range service.AuthFailuresPerMinute + 40 {
		from := fmt.Sprintf("2001:db8:1::%x", i+1) // each a new address of one /64
		r := do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", apikey.Generate(apikey.PrefixProject), "X-Forwarded-For", from)
		if r.Status == 429 {
			limitedFrom++
		}
	}
	if limitedFrom == 0 {
		t.Error("unknown keys from 100 addresses of one /64 were never throttled")
	}
	// The key's used-up budget is still used up.
	do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", limited.Secret).wantError(t, 429, keyward.CodeRateLimited)
}
