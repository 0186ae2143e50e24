package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The forward-authentication tests put a real nginx and a real Caddy in
// front of a small upstream, each configured with the files under
// deploy/forward-auth that docs/forward-auth.md shows (only the addresses,
// the port and the proxy's key are replaced), and keyward behind them.
// Clients come from 127.0.0.2 and 127.0.0.3; the proxies reach keyward
// from 127.0.0.1, its one trusted proxy.

// fwdDeploy is where the proxy configurations live, from this package.
const fwdDeploy = "../../deploy/forward-auth"

// Placeholders in the configurations, replaced by the tests.
const (
	fwdKeywardAddr  = "127.0.0.1:8080"
	fwdUpstreamAddr = "127.0.0.1:3000"
	fwdProxyKey     = "kwp_REPLACE_WITH_THE_PROXY_KEY"
)

// TestForwardAuthBehindNginx: nginx auth_request with keyward-server.conf,
// keyward-auth.conf and api.conf. It skips when nginx is not installed,
// unless KEYWARD_REQUIRE_NGINX=1.
func TestForwardAuthBehindNginx(t *testing.T) {
	nginx := findNginx(t)
	rig := newFwdRig(t)
	prefix := filepath.Join(rig.dir, "nginx")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, filepath.Join(prefix, "keyward-server.conf"), readConfig(t, "nginx/keyward-server.conf"),
		fwdKeywardAddr, rig.keywardAddr(), fwdProxyKey, rig.proxyKey)
	writeConfig(t, filepath.Join(prefix, "keyward-auth.conf"), readConfig(t, "nginx/keyward-auth.conf"))
	api := readConfig(t, "nginx/api.conf")
	proxyURL := runNginx(t, nginx, prefix, func(addr string) string {
		return replaceAll(t, api, "listen 80;", "listen "+addr+";", fwdUpstreamAddr, rig.upstream.addr,
			"/etc/nginx/keyward/", prefix+"/")
	})
	rig.scenario(t, proxyURL)
}

// TestForwardAuthBehindCaddy: Caddy forward_auth with the Caddyfile. It
// skips when caddy is not installed, unless KEYWARD_REQUIRE_CADDY=1.
func TestForwardAuthBehindCaddy(t *testing.T) {
	caddy := findCaddy(t)
	rig := newFwdRig(t)
	dir := filepath.Join(rig.dir, "caddy")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	// A global block of the test's own: no admin endpoint (a shared port)
	// and no certificates.
	file := filepath.Join(dir, "Caddyfile")
	writeConfig(t, file, "{\n\tadmin off\n\tauto_https off\n}\n\n"+readConfig(t, "Caddyfile"),
		"api.example.com {", "http://"+addr+" {", fwdKeywardAddr, rig.keywardAddr(), fwdUpstreamAddr, rig.upstream.addr,
		fwdProxyKey, rig.proxyKey)
	cmd := exec.Command(caddy, "run", "--config", file, "--adapter", "caddyfile")
	// Caddy keeps its state under the home directory: the test's own.
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	proxyURL := startProxy(t, "caddy", cmd, addr, "")
	rig.scenario(t, proxyURL)
}

// findCaddy returns caddy's path, or skips the test (fails it with
// KEYWARD_REQUIRE_CADDY=1, as CI sets).
func findCaddy(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("caddy"); err == nil {
		return path
	}
	msg := "no caddy found on PATH: apt-get install -y caddy"
	if os.Getenv("KEYWARD_REQUIRE_CADDY") == "1" {
		t.Fatal(msg + " — and KEYWARD_REQUIRE_CADDY=1 makes the Caddy test mandatory")
	}
	t.Skip(msg)
	return ""
}

func readConfig(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fwdDeploy, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeConfig writes text to path with replaceAll's replacements.
func writeConfig(t *testing.T, path, text string, oldNew ...string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(replaceAll(t, text, oldNew...)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceAll replaces each old string with its new one, failing when an
// old string is not in text: a configuration that changed its
// placeholders must change this test too.
func replaceAll(t *testing.T, text string, oldNew ...string) string {
	t.Helper()
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(text, oldNew[i]) {
			t.Fatalf("the configuration has no %q to replace:\n%s", oldNew[i], text)
		}
		text = strings.ReplaceAll(text, oldNew[i], oldNew[i+1])
	}
	return text
}

// fwdRig is keyward (SQLite, trusting 127.0.0.1 as its proxy), a project
// with the custom scopes orders:read and orders:write, its keys, and the
// upstream the proxy protects.
type fwdRig struct {
	dir      string
	node     *node
	orgKey   string
	project  string
	upstream *fwdUpstream

	proxyKey string // keys:verify: the proxy's
	client   fwdKey // orders:read, with metadata
	limited  fwdKey // orders:read, 2 requests a day
	office2  fwdKey // orders:read, from 127.0.0.2 only
	office3  fwdKey // orders:read, from 127.0.0.3 only
}

type fwdKey struct{ ID, Secret string }

func newFwdRig(t *testing.T) *fwdRig {
	t.Helper()
	r := &fwdRig{dir: t.TempDir()}
	r.orgKey, r.node = startTrustingNode(t, r.dir)
	r.upstream = startUpstream(t)

	local := clientFrom(t, "127.0.0.1")
	var project struct{ ID string }
	call(t, local, "POST", r.node.url+"/v1/org/projects", `{"name":"Shop","custom_scopes":["orders:read","orders:write"]}`, 201, &project, "x-org-api-key", r.orgKey)
	r.project = project.ID
	r.proxyKey = r.newKey(t, `{"name":"proxy","scopes":["keys:verify"]}`).Secret
	r.client = r.newKey(t, `{"name":"customer","scopes":["orders:read"],"metadata":{"team":"billing","city":"Zürich"}}`)
	r.limited = r.newKey(t, `{"name":"limited","scopes":["orders:read"],"rate_limit":{"limit":2,"window":"24h"}}`)
	r.office2 = r.newKey(t, `{"name":"office 2","scopes":["orders:read"],"ip_allowlist":["127.0.0.2/32"]}`)
	r.office3 = r.newKey(t, `{"name":"office 3","scopes":["orders:read"],"ip_allowlist":["127.0.0.3/32"]}`)
	return r
}

// newKey creates a key of the project with the org key.
func (r *fwdRig) newKey(t *testing.T, body string) fwdKey {
	t.Helper()
	var k fwdKey
	call(t, clientFrom(t, "127.0.0.1"), "POST", r.node.url+"/v1/org/projects/"+r.project+"/keys", body, 201, &k, "x-org-api-key", r.orgKey)
	return k
}

func (r *fwdRig) keywardAddr() string { return strings.TrimPrefix(r.node.url, "http://") }

// scenario runs the forward-authentication checks through the proxy at
// proxyURL, whose configuration protects / (any key), /orders/
// (orders:read) and /admin/ (orders:read and orders:write). It ends with
// keyward stopped.
func (r *fwdRig) scenario(t *testing.T, proxyURL string) {
	c2, c3 := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")

	// A valid key, with identity headers forged by the client: the
	// upstream sees keyward's, and neither key. The method, path, query
	// and body reach it as sent.
	forged := []string{"Keyward-Key-Id", "key_forged", "Keyward-Owner-Id", "usr_forged", "Keyward-Scopes", "keys:write",
		"Keyward-Metadata", `{"admin":"yes"}`, "Keyward-Project-Id", "prj_forged", "Keyward-Proxy-Key", "kwp_forged"}
	for _, cred := range [][]string{{"x-api-key", r.client.Secret}, {"Authorization", "Bearer " + r.client.Secret}} {
		for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
			res := fwdDo(t, c2, method, proxyURL+"/orders/42?expand=items", "the body", append(append([]string{}, cred...), forged...)...)
			seen := r.upstream.want(t, res, method, "/orders/42?expand=items")
			if method != "GET" && seen.Body != "the body" {
				t.Errorf("%s: the upstream got the body %q", method, seen.Body)
			}
			for name, want := range map[string]string{
				"Keyward-Key-Id": r.client.ID, "Keyward-Project-Id": r.project, "Keyward-Scopes": "orders:read",
			} {
				if got := seen.Header.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("the upstream got %s %q, want %q", name, got, want)
				}
			}
			var meta map[string]string
			if got := seen.Header.Values("Keyward-Metadata"); len(got) != 1 || json.Unmarshal([]byte(got[0]), &meta) != nil ||
				meta["team"] != "billing" || meta["city"] != "Zürich" || len(meta) != 2 {
				t.Errorf("the upstream got Keyward-Metadata %q", got)
			}
			// The key has no owner (the org key made it): no owner id, or
			// an empty one, never the client's.
			if got := seen.Header.Get("Keyward-Owner-Id"); got != "" {
				t.Errorf("the upstream got Keyward-Owner-Id %q", got)
			}
			for _, name := range []string{"X-Api-Key", "Authorization", "Keyward-Proxy-Key", "Keyward-Required-Scopes"} {
				if got := seen.Header.Values(name); len(got) > 0 {
					t.Errorf("the upstream got %s (%d values)", name, len(got)) // keys: not printed
				}
			}
			if strings.Contains(seen.dump(), r.proxyKey) || strings.Contains(seen.dump(), r.client.Secret) {
				t.Errorf("a key reached the upstream")
			}
		}
	}
	r.upstream.want(t, fwdDo(t, c2, "GET", proxyURL+"/anything", "", "x-api-key", r.client.Secret), "GET", "/anything")

	// Refusals answer the client and never reach the upstream.
	r.refused(t, fwdDo(t, c2, "GET", proxyURL+"/orders/1", ""), 401, "API_KEY_MISSING")
	r.refused(t, fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", "kwp_notakey"), 401, "API_KEY_INVALID")
	r.refused(t, fwdDo(t, c2, "GET", proxyURL+"/admin/1", "", "x-api-key", r.client.Secret), 403, "PERMISSION_DENIED")
	r.refused(t, fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", r.client.Secret, "Authorization", "Bearer "+r.limited.Secret), 400, "AMBIGUOUS_CREDENTIALS")

	// The client's address through the proxy, for IP allowlists: its
	// own, whatever it forwards itself.
	r.upstream.want(t, fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", r.office2.Secret), "GET", "/orders/1")
	r.refused(t, fwdDo(t, c3, "GET", proxyURL+"/orders/1", "", "x-api-key", r.office2.Secret), 403, "IP_NOT_ALLOWED")
	r.refused(t, fwdDo(t, c3, "GET", proxyURL+"/orders/1", "", "x-api-key", r.office2.Secret, "X-Forwarded-For", "127.0.0.2"), 403, "IP_NOT_ALLOWED")
	r.refused(t, fwdDo(t, c3, "GET", proxyURL+"/orders/1", "", "x-api-key", r.office2.Secret, "Forwarded", "for=127.0.0.2"), 403, "IP_NOT_ALLOWED")
	// A Forwarded header of the client's is dropped, not passed on (it
	// would contradict the proxy's X-Forwarded-For and leave no address).
	r.upstream.want(t, fwdDo(t, c3, "GET", proxyURL+"/orders/1", "", "x-api-key", r.office3.Secret, "Forwarded", "for=127.0.0.9"), "GET", "/orders/1")

	// Over its rate limit: 429 with Retry-After and the window. (A day's
	// window: the budget of 2 is gone within 5 requests even if a day
	// ends in between.)
	allowed, limited := 0, false
	for i := 0; i < 5 && !limited; i++ {
		res := fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", r.limited.Secret)
		if res.status == 200 {
			r.upstream.want(t, res, "GET", "/orders/1")
			allowed++
			continue
		}
		r.refused(t, res, 429, "RATE_LIMITED")
		if secs, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || secs < 1 || secs > 86400 {
			t.Errorf("429 with Retry-After %q", res.header.Get("Retry-After"))
		}
		if res.header.Get("X-RateLimit-Limit") != "2" || res.header.Get("X-RateLimit-Remaining") != "0" || res.header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("429 with X-RateLimit-* %q %q %q", res.header.Get("X-RateLimit-Limit"), res.header.Get("X-RateLimit-Remaining"), res.header.Get("X-RateLimit-Reset"))
		}
		limited = true
	}
	if !limited || allowed < 2 {
		t.Errorf("the limited key: %d requests allowed, then limited: %v", allowed, limited)
	}

	// Revoked: refused on the very next request through the proxy.
	r.upstream.want(t, fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", r.client.Secret), "GET", "/orders/1")
	call(t, clientFrom(t, "127.0.0.1"), "POST", r.node.url+"/v1/org/projects/"+r.project+"/keys/"+r.client.ID+"/revoke", "", 200, nil, "x-org-api-key", r.orgKey)
	r.refused(t, fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", r.client.Secret), 401, "API_KEY_INVALID")

	// The proxy's own key revoked: its configuration is at fault, which the
	// client learns as a 500, not as its key refused.
	proxyID := r.keyID(t, r.proxyKey)
	call(t, clientFrom(t, "127.0.0.1"), "POST", r.node.url+"/v1/org/projects/"+r.project+"/keys/"+proxyID+"/revoke", "", 200, nil, "x-org-api-key", r.orgKey)
	r.refused(t, fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", r.office2.Secret), 500, "PROXY_MISCONFIGURED")

	// keyward down: the proxy fails closed, with 503.
	r.node.stop(t)
	res := fwdDo(t, c2, "GET", proxyURL+"/orders/1", "", "x-api-key", r.office2.Secret)
	if res.status != 503 {
		t.Fatalf("keyward down: status %d, want 503; body %s", res.status, res.body)
	}
	if code := errorCode(t, res); code != "UNAVAILABLE" {
		t.Errorf("keyward down: code %q, want UNAVAILABLE", code)
	}
	if n := r.upstream.count(); n != r.upstream.wanted {
		t.Errorf("the upstream got %d requests, %d of them let through by keyward", n, r.upstream.wanted)
	}
}

// keyID finds a key's id from its secret (whoami, straight to keyward).
func (r *fwdRig) keyID(t *testing.T, secret string) string {
	t.Helper()
	var who struct {
		KeyID string `json:"key_id"`
	}
	call(t, clientFrom(t, "127.0.0.1"), "GET", r.node.url+"/v1/whoami", "", 200, &who, "x-api-key", secret)
	return who.KeyID
}

// refused checks a refusal through the proxy: the status, a JSON error
// body in the contract's shape with the code and status, and a request id
// equal to X-Request-Id.
func (r *fwdRig) refused(t *testing.T, res fwdResponse, status int, code string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status %d, want %d (%s); body %s", res.status, status, code, res.body)
	}
	if got := errorCode(t, res); got != code {
		t.Fatalf("code %q, want %s; body %s", got, code, res.body)
	}
	var body struct {
		Error struct {
			Message   string `json:"message"`
			Status    int    `json:"status"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	_ = json.Unmarshal(res.body, &body)
	if body.Error.Status != status || body.Error.Message == "" || !strings.HasPrefix(body.Error.RequestID, "req_") ||
		res.header.Get("X-Request-Id") != body.Error.RequestID {
		t.Fatalf("error body %s with X-Request-Id %q: not the contract", res.body, res.header.Get("X-Request-Id"))
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if strings.Contains(string(res.body), r.proxyKey) {
		t.Fatalf("the proxy's key is in the answer: %s", res.body)
	}
}

// errorCode returns the code of a JSON error body.
func errorCode(t *testing.T, res fwdResponse) string {
	t.Helper()
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatalf("status %d with a body that is not JSON (%v): %s", res.status, err, res.body)
	}
	return body.Error.Code
}

type fwdResponse struct {
	status int
	header http.Header
	body   []byte
}

// fwdDo sends a request; headers are name, value pairs.
func fwdDo(t *testing.T, c *http.Client, method, url, body string, headers ...string) fwdResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fwdResponse{status: res.StatusCode, header: res.Header, body: raw}
}

// fwdUpstream is the API behind the proxy: it answers 200 and records
// every request it gets.
type fwdUpstream struct {
	addr   string
	mu     sync.Mutex
	seen   []fwdSeen
	wanted int // requests the test expected to reach it
}

type fwdSeen struct {
	Method, URI, Body string
	Header            http.Header
}

func (s fwdSeen) dump() string {
	var b bytes.Buffer
	_ = s.Header.Write(&b)
	return s.Method + " " + s.URI + "\n" + b.String() + "\n" + s.Body
}

func startUpstream(t *testing.T) *fwdUpstream {
	t.Helper()
	u := &fwdUpstream{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.addr = ln.Addr().String()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, fwdSeen{Method: r.Method, URI: r.RequestURI, Body: string(body), Header: r.Header.Clone()})
		n := len(u.seen)
		u.mu.Unlock()
		w.Header().Set("X-Upstream-Request", strconv.Itoa(n))
		_, _ = io.WriteString(w, "upstream")
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return u
}

func (u *fwdUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

// want checks that res is the upstream's answer to a request with method
// and uri, and returns what the upstream saw.
func (u *fwdUpstream) want(t *testing.T, res fwdResponse, method, uri string) fwdSeen {
	t.Helper()
	if res.status != 200 || string(res.body) != "upstream" {
		t.Fatalf("%s %s: status %d, body %s; want the upstream's 200", method, uri, res.status, res.body)
	}
	n, err := strconv.Atoi(res.header.Get("X-Upstream-Request"))
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil || n < 1 || n > len(u.seen) {
		t.Fatalf("no upstream request %q", res.header.Get("X-Upstream-Request"))
	}
	u.wanted++
	s := u.seen[n-1]
	if s.Method != method || s.URI != uri {
		t.Fatalf("the upstream got %s %s, want %s %s", s.Method, s.URI, method, uri)
	}
	return s
}
