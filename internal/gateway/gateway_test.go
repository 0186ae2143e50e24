package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/gateway"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// seen is what the upstream received.
type seen struct {
	header http.Header
	path   string
}

// setup is a real keyward (behind a front the test can take down), an
// upstream that records what reaches it, and the gateway between a client
// and that upstream.
type setup struct {
	kw       *kwtest.Server
	front    *httptest.Server // between the gateway and keyward
	gw       *httptest.Server
	upstream chan seen
	pid      string
	metrics  *gateway.Metrics
	handler  http.Handler
	opts     gateway.Options // what handler was built with
}

func newSetup(t *testing.T, routes []gateway.Route) *setup {
	t.Helper()
	return newSetupTB(t, routes, nil)
}

// newBenchSetup is newSetup for a benchmark, with the given upstream.
func newBenchSetup(b *testing.B, upstream *url.URL) *setup {
	return newSetupTB(b, routes, upstream)
}

func newSetupTB(t testing.TB, routes []gateway.Route, upstreamURL *url.URL) *setup {
	t.Helper()
	kw := kwtest.NewServer(t)
	p := kw.MustProject(t, "Shop", "orders:read", "orders:write")
	verifier := kw.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "gateway", Scopes: []string{keyward.ScopeKeysVerify}})
	target, _ := url.Parse(kw.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	front := httptest.NewServer(rp)
	t.Cleanup(func() { front.CloseClientConnections(); front.Close() })

	up := make(chan seen, 100)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up <- seen{header: r.Header.Clone(), path: r.URL.Path}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "upstream "+r.URL.Path)
	}))
	t.Cleanup(upstream.Close)
	upURL, _ := url.Parse(upstream.URL)
	if upstreamURL != nil {
		upURL = upstreamURL
	}

	c, err := client.New(client.WithBaseURL(front.URL), client.WithAPIKey(verifier.Secret), client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lc := client.NewLocalCache(c, client.LocalCacheOptions{Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := lc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	m := gateway.NewMetrics()
	opts := gateway.Options{Upstream: upURL, Routes: routes, Client: c, Local: lc, Logger: log, Metrics: m}
	h, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(h)
	t.Cleanup(gw.Close)
	return &setup{kw: kw, front: front, gw: gw, upstream: up, pid: p.ID, metrics: m, handler: h, opts: opts}
}

func (s *setup) key(t *testing.T, in keyward.CreateKeyInput) *keyward.Key {
	t.Helper()
	return s.kw.MustKey(t, nil, s.pid, in)
}

// answer is a response, read and closed.
type answer struct {
	StatusCode int
	Header     http.Header
}

// do sends a request through the gateway with the given headers.
func (s *setup) do(t *testing.T, method, path string, header map[string]string) (answer, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.gw.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{StatusCode: res.StatusCode, Header: res.Header}, string(body)
}

// errorCode is the code of an error body, or "".
func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Error keyward.Error }
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an error body: %q", body)
	}
	if e.Error.RequestID == "" || e.Error.Status == 0 {
		t.Fatalf("error body without request id or status: %q", body)
	}
	return e.Error.Code
}

var routes = []gateway.Route{
	{Match: "GET /orders/", Scopes: []string{"orders:read"}},
	{Match: "POST /orders/", Scopes: []string{"orders:write"}},
	{Match: "GET /status", Public: true},
}

// A valid key goes through: the upstream sees the key's identity, never
// the key, and never the Keyward-* headers the client made up.
func TestValidKeyReachesUpstreamWithIdentityNotKey(t *testing.T) {
	s := newSetup(t, routes)
	k := s.key(t, keyward.CreateKeyInput{Name: "customer", Scopes: []string{"orders:read"}, Metadata: map[string]string{"plan": "pro", "city": "Zürich"}})
	for _, header := range []map[string]string{
		{"x-api-key": k.Secret, "Keyward-Key-Id": "key_forged", "Keyward-Scopes": "orders:write", "Keyward-Admin": "yes"},
		{"Authorization": "Bearer " + k.Secret, "Keyward-Owner-Id": "usr_forged"},
	} {
		res, body := s.do(t, "GET", "/orders/42", header)
		if res.StatusCode != 200 || body != "upstream /orders/42" {
			t.Fatalf("%d %q, want the upstream's answer", res.StatusCode, body)
		}
		got := <-s.upstream
		h := got.header
		if h.Get("X-Api-Key") != "" || h.Get("Authorization") != "" {
			t.Fatalf("the key went upstream: %v", h)
		}
		if h.Get(keyward.HeaderKeyID) != k.ID || h.Get(keyward.HeaderProjectID) != s.pid || h.Get(keyward.HeaderScopes) != "orders:read" {
			t.Fatalf("identity headers %v", h)
		}
		if h.Get(keyward.HeaderOwnerID) != s.kw.OwnerID {
			t.Fatalf("owner %q, want %q", h.Get(keyward.HeaderOwnerID), s.kw.OwnerID)
		}
		var meta map[string]string
		if err := json.Unmarshal([]byte(h.Get(keyward.HeaderMetadata)), &meta); err != nil || meta["city"] != "Zürich" || meta["plan"] != "pro" {
			t.Fatalf("metadata %q: %v", h.Get(keyward.HeaderMetadata), err)
		}
		if v := h.Get(keyward.HeaderMetadata); strings.ContainsFunc(v, func(r rune) bool { return r > 0x7f }) {
			t.Fatalf("metadata header %q is not ASCII", v)
		}
		if h.Get("Keyward-Admin") != "" || len(h.Values(keyward.HeaderKeyID)) != 1 || len(h.Values(keyward.HeaderOwnerID)) != 1 {
			t.Fatalf("a client's Keyward-* header reached the upstream: %v", h)
		}
		if h.Get("X-Forwarded-For") != "127.0.0.1" {
			t.Fatalf("X-Forwarded-For %q", h.Get("X-Forwarded-For"))
		}
	}
}

// Refusals follow the error contract, and nothing reaches the upstream.
func TestRefusals(t *testing.T) {
	s := newSetup(t, routes)
	reader := s.key(t, keyward.CreateKeyInput{Name: "reader", Scopes: []string{"orders:read"}})
	for _, c := range []struct {
		name, method, path string
		header             map[string]string
		status             int
		code               string
	}{
		{"no key", "GET", "/orders/1", nil, 401, keyward.CodeAPIKeyMissing},
		{"unknown key", "GET", "/orders/1", map[string]string{"x-api-key": "kwp_0123456789abcdefghijABCDEFGHIJ999999"}, 401, keyward.CodeAPIKeyInvalid},
		{"garbage", "GET", "/orders/1", map[string]string{"x-api-key": strings.Repeat("x", 300)}, 401, keyward.CodeAPIKeyInvalid},
		{"missing scope", "POST", "/orders/1", map[string]string{"x-api-key": reader.Secret}, 403, keyward.CodePermissionDenied},
		{"two keys", "GET", "/orders/1", map[string]string{"x-api-key": reader.Secret, "Authorization": "Bearer kwp_other"}, 400, keyward.CodeAmbiguousCredentials},
		{"no route", "GET", "/admin", map[string]string{"x-api-key": reader.Secret}, 404, keyward.CodeNotFound},
		{"no route for the method", "DELETE", "/orders/1", map[string]string{"x-api-key": reader.Secret}, 404, keyward.CodeNotFound},
	} {
		res, body := s.do(t, c.method, c.path, c.header)
		if res.StatusCode != c.status || errorCode(t, body) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.StatusCode, body, c.status, c.code)
		}
		if res.StatusCode == 401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
		if strings.Contains(body, reader.Secret) {
			t.Errorf("%s: the key is in the answer", c.name)
		}
	}
	select {
	case got := <-s.upstream:
		t.Fatalf("a refused request reached the upstream: %s", got.path)
	default:
	}
}

// A public route needs no key, and a key sent to it still stays out of the
// upstream's sight.
func TestPublicRoute(t *testing.T) {
	s := newSetup(t, routes)
	res, body := s.do(t, "GET", "/status", map[string]string{"x-api-key": "kwp_whatever", "Keyward-Key-Id": "key_forged"})
	if res.StatusCode != 200 || body != "upstream /status" {
		t.Fatalf("%d %q", res.StatusCode, body)
	}
	got := <-s.upstream
	if got.header.Get("X-Api-Key") != "" || got.header.Get(keyward.HeaderKeyID) != "" {
		t.Fatalf("public route: upstream saw %v", got.header)
	}
}

// A rate-limited key gets 429 with Retry-After and its window.
func TestRateLimited(t *testing.T) {
	s := newSetup(t, routes)
	k := s.key(t, keyward.CreateKeyInput{Name: "limited", Scopes: []string{"orders:read"}, RateLimit: &keyward.RateLimit{Limit: 2, Window: keyward.Duration(time.Hour)}})
	h := map[string]string{"x-api-key": k.Secret}
	for i := range 2 {
		if res, body := s.do(t, "GET", "/orders/1", h); res.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, res.StatusCode, body)
		}
		<-s.upstream
	}
	res, body := s.do(t, "GET", "/orders/1", h)
	if res.StatusCode != 429 || errorCode(t, body) != keyward.CodeRateLimited {
		t.Fatalf("third request: %d %s, want 429", res.StatusCode, body)
	}
	if res.Header.Get("Retry-After") == "" || res.Header.Get("X-RateLimit-Limit") != "2" || res.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("429 headers: %v", res.Header)
	}
}

// A revoked key is refused once the change stream has named it, with no
// call to keyward needed; and when keyward cannot be reached at all, the
// gateway refuses with 503, never lets a request through.
func TestRevokedThenKeywardDown(t *testing.T) {
	s := newSetup(t, routes)
	k := s.key(t, keyward.CreateKeyInput{Name: "customer", Scopes: []string{"orders:read"}})
	other := s.key(t, keyward.CreateKeyInput{Name: "other", Scopes: []string{"orders:read"}})
	h := map[string]string{"x-api-key": k.Secret}
	if res, _ := s.do(t, "GET", "/orders/1", h); res.StatusCode != 200 {
		t.Fatalf("before the revoke: %d", res.StatusCode)
	}
	<-s.upstream
	if _, err := s.kw.Service.RevokeKey(context.Background(), s.kw.Owner(), service.Where{ProjectID: s.pid}, k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	// The stream delivers the revoke within milliseconds; wait for the
	// refusal, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, body := s.do(t, "GET", "/orders/1", h)
		if res.StatusCode == 401 && errorCode(t, body) == keyward.CodeAPIKeyInvalid {
			break
		}
		if res.StatusCode == 200 {
			<-s.upstream
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked key was still let through after 10 s: %d %s", res.StatusCode, body)
		}
	}
	if res, _ := s.do(t, "GET", "/orders/1", map[string]string{"x-api-key": other.Secret}); res.StatusCode != 200 {
		t.Fatalf("another key: %d", res.StatusCode)
	}
	<-s.upstream

	// keyward goes away: every request is refused with 503 once the
	// gateway sees its stream gone (at once: the connection is closed).
	s.front.CloseClientConnections()
	s.front.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		res, body := s.do(t, "GET", "/orders/1", map[string]string{"x-api-key": other.Secret})
		if res.StatusCode == 503 && errorCode(t, body) == keyward.CodeUnavailable {
			break
		}
		if res.StatusCode == 200 {
			<-s.upstream // from memory, before the stream's end was seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("with keyward down: %d %s, want 503", res.StatusCode, body)
		}
	}
	for _, key := range []string{other.Secret, k.Secret, "kwp_0123456789abcdefghijABCDEFGHIJ999999"} {
		if res, _ := s.do(t, "GET", "/orders/1", map[string]string{"x-api-key": key}); res.StatusCode != 503 {
			t.Fatalf("keyward down: %d, want 503 for every key", res.StatusCode)
		}
	}
}

// Streams pass through as they are written (server-sent events), and so
// do WebSocket upgrades.
func TestStreamsAndUpgrades(t *testing.T) {
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			_ = rw.Flush()
			line, _ := rw.ReadString('\n')
			_, _ = rw.WriteString("echo " + line)
			_ = rw.Flush()
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		_ = http.NewResponseController(w).Flush()
		<-release
		_, _ = io.WriteString(w, "data: last\n\n")
	}))
	defer upstream.Close()
	s := newSetup(t, routes)
	upURL, _ := url.Parse(upstream.URL)
	h, err := gateway.New(gateway.Options{Upstream: upURL, Routes: routes, Client: nil, Local: nil, Metrics: s.metrics})
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(h)
	defer gw.Close()

	// Server-sent events on the public route: the first event arrives
	// while the upstream still holds the stream open.
	res, err := http.Get(gw.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if line, err := br.ReadString('\n'); err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	close(release)
	_ = res.Body.Close()

	// A WebSocket-style upgrade.
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /status HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	cr := bufio.NewReader(conn)
	resp, err := http.ReadResponse(cr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %d", resp.StatusCode)
	}
	_, _ = io.WriteString(conn, "hello\n")
	if line, err := cr.ReadString('\n'); err != nil || line != "echo hello\n" {
		t.Fatalf("after the upgrade: %q %v", line, err)
	}
}

// An upstream that does not answer is a 502 with the error body.
func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := url.Parse("http://" + ln.Addr().String())
	_ = ln.Close()
	h, err := gateway.New(gateway.Options{Upstream: dead, Routes: []gateway.Route{{Match: "/", Public: true}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 502 || errorCode(t, rec.Body.String()) != keyward.CodeUnavailable {
		t.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}

// The metrics count requests by route and status.
func TestMetrics(t *testing.T) {
	s := newSetup(t, routes)
	s.do(t, "GET", "/orders/1", nil)
	s.do(t, "GET", "/status", nil)
	<-s.upstream
	rec := httptest.NewRecorder()
	s.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`keyward_proxy_requests_total{code="401",route="GET /orders/"} 1`,
		`keyward_proxy_requests_total{code="200",route="GET /status"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A key's IP allowlist is checked against the client: the TCP peer, or
// what a trusted load balancer in front says; a client's own
// X-Forwarded-For is not believed.
func TestAllowlistBehindTrustedProxies(t *testing.T) {
	s := newSetup(t, routes)
	k := s.key(t, keyward.CreateKeyInput{Name: "office", Scopes: []string{"orders:read"}, IPAllowlist: []string{"10.0.0.0/8"}})
	spoof := map[string]string{"x-api-key": k.Secret, "X-Forwarded-For": "10.1.2.3"}
	if res, body := s.do(t, "GET", "/orders/1", spoof); res.StatusCode != 403 || errorCode(t, body) != keyward.CodeIPNotAllowed {
		t.Fatalf("a spoofed X-Forwarded-For, no trusted proxy: %d %s, want 403 IP_NOT_ALLOWED", res.StatusCode, body)
	}
	opts := s.opts
	var err error
	if opts.Proxies, err = clientaddr.ParseProxies([]string{"127.0.0.1/32"}); err != nil {
		t.Fatal(err)
	}
	h, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	behind := httptest.NewServer(h)
	defer behind.Close()
	s.gw = behind
	if res, body := s.do(t, "GET", "/orders/1", spoof); res.StatusCode != 200 {
		t.Fatalf("from 10.1.2.3 through a trusted proxy: %d %s", res.StatusCode, body)
	}
	<-s.upstream
	if res, body := s.do(t, "GET", "/orders/1", map[string]string{"x-api-key": k.Secret, "X-Forwarded-For": "192.0.2.7"}); res.StatusCode != 403 || errorCode(t, body) != keyward.CodeIPNotAllowed {
		t.Fatalf("from 192.0.2.7 through a trusted proxy: %d %s, want 403", res.StatusCode, body)
	}
}
