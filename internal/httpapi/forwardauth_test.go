package httpapi_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/apikey"
	"github.com/keyward/keyward/internal/clientaddr"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/kwtest"
)

// fwdSetup is a server with a project ("Billing API", custom scopes
// orders:read and orders:write), the proxy's key (keys:verify only) and a
// client key with orders:read and metadata.
type fwdSetup struct {
	log     *kwtest.LogBuffer // the server's JSON log (newFwdSetup's only)
	srv     *kwtest.Server
	project *keyward.Project
	proxy   *keyward.Key
	client  *keyward.Key
}

func newFwdSetup(t *testing.T) *fwdSetup {
	t.Helper()
	log := &kwtest.LogBuffer{}
	s := fwdOn(t, kwtest.NewServerLogging(t, log))
	s.log = log
	return s
}

func fwdOn(t *testing.T, srv *kwtest.Server) *fwdSetup {
	t.Helper()
	do(t, srv, "PATCH", "/v1/org/settings", map[string]any{"max_keys_per_user": 20}, "x-org-api-key", srv.OrgKey).want(t, 200)
	p := srv.MustProject(t, "Billing API", "orders:read", "orders:write")
	proxy := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "nginx", Scopes: []string{keyward.ScopeKeysVerify}})
	client := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "customer", Scopes: []string{"orders:read"},
		Metadata: map[string]string{"team": "billing", "city": "Zürich", "quote": `"<&>"`, "emoji": "🔑"}})
	return &fwdSetup{srv: srv, project: p, proxy: proxy, client: client}
}

// fwd sends a forward-authentication request as a proxy would: the proxy's
// key in Keyward-Proxy-Key, then headers (name, value pairs).
func (s *fwdSetup) fwd(t *testing.T, method, path string, headers ...string) *resp {
	t.Helper()
	return do(t, s.srv, method, path, nil, append([]string{httpapi.HeaderProxyKey, s.proxy.Secret}, headers...)...)
}

// wantRefused checks a refusal of the forward-authentication route: the
// error contract, and its code in Keyward-Error-Code for proxies that drop
// the body, and no identity header.
func wantRefused(t *testing.T, r *resp, status int, code string) httpapi.ErrorDetail {
	t.Helper()
	e := r.wantError(t, status, code)
	if got := r.Header.Get(httpapi.HeaderErrorCode); got != code {
		t.Fatalf("%s = %q, want %s", httpapi.HeaderErrorCode, got, code)
	}
	for _, h := range []string{keyward.HeaderKeyID, keyward.HeaderProjectID, keyward.HeaderOwnerID, keyward.HeaderScopes, keyward.HeaderMetadata} {
		if _, ok := r.Header[h]; ok {
			t.Fatalf("a refusal carries %s: %q", h, r.Header.Values(h))
		}
	}
	return e
}

// A valid key: 200 with every identity header (each exactly once, whatever
// the request carried under the same names), the key as whoami in the
// body, and neither key anywhere in the answer. Any method, any query, any
// path below the route.
func TestForwardAuthValid(t *testing.T) {
	s := newFwdSetup(t)
	forged := []string{
		keyward.HeaderKeyID, "key_forged", keyward.HeaderProjectID, "prj_forged", keyward.HeaderOwnerID, "usr_forged",
		keyward.HeaderScopes, "keys:write", keyward.HeaderMetadata, `{"admin":"yes"}`,
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/forward-auth"},
		{"HEAD", "/v1/forward-auth"},
		{"POST", "/v1/forward-auth"},
		{"PUT", "/v1/forward-auth"},
		{"DELETE", "/v1/forward-auth"},
		{"PATCH", "/v1/forward-auth"},
		{"OPTIONS", "/v1/forward-auth"},
		{"PROPFIND", "/v1/forward-auth"},
		{"GET", "/v1/forward-auth?page=2&page=3&unknown"},
		{"GET", "/v1/forward-auth/"},
		{"POST", "/v1/forward-auth/orders/42?expand=items"},
		{"DELETE", "/v1/forward-auth/orders/42"},
	} {
		for _, cred := range [][]string{{"x-api-key", s.client.Secret}, {"Authorization", "Bearer " + s.client.Secret}} {
			r := s.fwd(t, c.method, c.path, append(append([]string{}, cred...), forged...)...).want(t, 200)
			want := map[string]string{
				keyward.HeaderKeyID: s.client.ID, keyward.HeaderProjectID: s.project.ID,
				keyward.HeaderOwnerID: *s.client.OwnerUserID, keyward.HeaderScopes: "orders:read",
			}
			for h, v := range want {
				if got := r.Header.Values(h); len(got) != 1 || got[0] != v {
					t.Fatalf("%s %s: %s = %q, want exactly %q", c.method, c.path, h, got, v)
				}
			}
			raw := r.Header.Values(keyward.HeaderMetadata)
			var meta map[string]string
			if len(raw) != 1 || json.Unmarshal([]byte(raw[0]), &meta) != nil {
				t.Fatalf("%s = %q, want one JSON object", keyward.HeaderMetadata, raw)
			}
			if !mapsEqual(meta, s.client.Metadata) {
				t.Fatalf("metadata %v, want %v", meta, s.client.Metadata)
			}
			for i := 0; i < len(raw[0]); i++ {
				if raw[0][i] < 0x20 || raw[0][i] > 0x7e {
					t.Fatalf("%s has the byte %#x: not printable ASCII: %q", keyward.HeaderMetadata, raw[0][i], raw[0])
				}
			}
			if c.method != "HEAD" {
				var who keyward.Whoami
				r.decode(t, &who)
				if who.KeyID != s.client.ID || who.ProjectID != s.project.ID {
					t.Fatalf("body %s, want the client key", r.Body)
				}
			}
			noSecrets(t, r, s.client.Secret, s.proxy.Secret)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// noSecrets fails when any of secrets is in r's headers or body.
func noSecrets(t *testing.T, r *resp, secrets ...string) {
	t.Helper()
	var all strings.Builder
	all.Write(r.Body)
	for name, vals := range r.Header {
		all.WriteString(name + ": " + strings.Join(vals, ",") + "\n")
	}
	for _, s := range secrets {
		if strings.Contains(all.String(), s) {
			t.Fatalf("the answer holds a key: %s", all.String())
		}
	}
}

// A key without an owner, scopes or metadata: the identity headers are
// still all there, empty ({} for the metadata), so that a proxy copying
// them overwrites what the client sent.
func TestForwardAuthEmptyIdentity(t *testing.T) {
	s := newFwdSetup(t)
	// An org key makes the client key: it belongs to the org, not a person.
	var k keyward.Key
	do(t, s.srv, "POST", "/v1/org/projects/"+s.project.ID+"/keys", map[string]any{"name": "service", "scopes": []string{}},
		"x-org-api-key", s.srv.OrgKey).want(t, 201).decode(t, &k)
	r := s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", k.Secret, keyward.HeaderOwnerID, "usr_forged").want(t, 200)
	if k.OwnerUserID != nil {
		t.Logf("the key has an owner (%s): the empty owner header is not exercised", *k.OwnerUserID)
	} else if got := r.Header.Values(keyward.HeaderOwnerID); len(got) != 1 || got[0] != "" {
		t.Fatalf("%s = %q, want one empty value", keyward.HeaderOwnerID, got)
	}
	if got := r.Header.Values(keyward.HeaderMetadata); len(got) != 1 || got[0] != "{}" {
		t.Fatalf("%s = %q, want {}", keyward.HeaderMetadata, got)
	}
	if got := r.Header.Values(keyward.HeaderScopes); len(got) != 1 || got[0] != strings.Join(k.Scopes, ",") {
		t.Fatalf("%s = %q, want %q", keyward.HeaderScopes, got, k.Scopes)
	}
}

// The client's key refused: the status and code keyward itself would
// answer a request with that key, never a 5xx.
func TestForwardAuthClientRefused(t *testing.T) {
	s := newFwdSetup(t)
	p2 := s.srv.MustProject(t, "Other")
	other := s.srv.MustKey(t, nil, p2.ID, keyward.CreateKeyInput{})
	allow := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{"orders:read"}, IPAllowlist: []string{"203.0.113.0/24"}})
	soon := s.srv.Clock.Now().Add(time.Hour)
	expiring := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{"orders:read"}, ExpiresAt: &soon})

	r := s.fwd(t, "GET", "/v1/forward-auth")
	wantRefused(t, r, 401, keyward.CodeAPIKeyMissing)
	if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="keyward"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", apikey.Generate(apikey.PrefixProject)), 401, keyward.CodeAPIKeyInvalid)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", "not a key"), 401, keyward.CodeAPIKeyInvalid)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", strings.Repeat("k", 300)), 401, keyward.CodeAPIKeyInvalid)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "Authorization", "Basic dXNlcjpwdw=="), 401, keyward.CodeAPIKeyInvalid)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.srv.OrgKey), 401, keyward.CodeAPIKeyInvalid)
	// x-org-api-key is not where a client's key is read.
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-org-api-key", s.client.Secret), 401, keyward.CodeAPIKeyMissing)
	// Another project's key is invalid here, as /v1/verify has it.
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", other.Secret), 401, keyward.CodeAPIKeyInvalid)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret, "Authorization", "Bearer "+other.Secret), 400, keyward.CodeAmbiguousCredentials)

	// A missing scope names it; the scope list may take several lines.
	e := wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret, httpapi.HeaderRequiredScopes, "orders:read, orders:write"), 403, keyward.CodePermissionDenied)
	if !strings.Contains(e.Message, "orders:write") {
		t.Errorf("message %q does not name the scope", e.Message)
	}
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret, httpapi.HeaderRequiredScopes, "orders:read", httpapi.HeaderRequiredScopes, "orders:write"), 403, keyward.CodePermissionDenied)
	s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret, httpapi.HeaderRequiredScopes, "orders:read").want(t, 200)

	// The allowlist is checked against the client, which without a trusted
	// proxy is the peer (127.0.0.1): a forwarded header is not believed.
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", allow.Secret, "X-Forwarded-For", "203.0.113.9"), 403, keyward.CodeIPNotAllowed)

	// Expired, then revoked: refused on the very next request.
	s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", expiring.Secret).want(t, 200)
	s.srv.Clock.Advance(2 * time.Hour)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", expiring.Secret), 401, keyward.CodeAPIKeyExpired)
	s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret).want(t, 200)
	do(t, s.srv, "POST", "/v1/org/projects/"+s.project.ID+"/keys/"+s.client.ID+"/revoke", nil, "x-org-api-key", s.srv.OrgKey).want(t, 200)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret), 401, keyward.CodeAPIKeyInvalid)
}

// A client key over its rate limit: 429 with Retry-After and its window in
// X-RateLimit-*; allowed requests carry the window too.
func TestForwardAuthRateLimited(t *testing.T) {
	s := newFwdSetup(t)
	s.srv.Clock.Advance(400 * time.Millisecond) // the window ends 600 ms from now
	k := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{"orders:read"},
		RateLimit: &keyward.RateLimit{Limit: 2, Window: keyward.Duration(time.Second)}})
	reset := strconv.FormatInt(s.srv.Clock.Now().Truncate(time.Second).Add(time.Second).Unix(), 10)
	window := func(r *resp) [3]string {
		return [3]string{r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"), r.Header.Get("X-RateLimit-Reset")}
	}
	for _, remaining := range []string{"1", "0"} {
		r := s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", k.Secret).want(t, 200)
		if got := window(r); got != [3]string{"2", remaining, reset} {
			t.Fatalf("X-RateLimit-* = %q, want [2 %s %s]", got, remaining, reset)
		}
	}
	r := s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", k.Secret)
	wantRefused(t, r, 429, keyward.CodeRateLimited)
	if got := r.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := window(r); got != [3]string{"2", "0", reset} {
		t.Errorf("429: X-RateLimit-* = %q", got)
	}
	// A key without a limit gets no X-RateLimit-*, not even the proxy key's.
	limitedProxy := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysVerify},
		RateLimit: &keyward.RateLimit{Limit: 100, Window: keyward.Duration(time.Second)}})
	r = do(t, s.srv, "GET", "/v1/forward-auth", nil, httpapi.HeaderProxyKey, limitedProxy.Secret, "x-api-key", s.client.Secret).want(t, 200)
	if got := r.Header.Get("X-RateLimit-Limit"); got != "" {
		t.Errorf("X-RateLimit-Limit = %q for a client key without a limit", got)
	}
	s.srv.Clock.Advance(time.Second)
	s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", k.Secret).want(t, 200)
}

// The proxy's own key refused, or its Keyward-Required-Scopes malformed:
// 500 PROXY_MISCONFIGURED, whatever the client sent, so that the proxy
// fails closed and the client is not told its key is at fault. Neither key
// is ever in the answer.
func TestForwardAuthProxyMisconfigured(t *testing.T) {
	s := newFwdSetup(t)
	reader := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysRead}})
	p2 := s.srv.MustProject(t, "Other")
	foreign := s.srv.MustKey(t, nil, p2.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysVerify}})
	revoked := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysVerify}})
	do(t, s.srv, "POST", "/v1/org/projects/"+s.project.ID+"/keys/"+revoked.ID+"/revoke", nil, "x-org-api-key", s.srv.OrgKey).want(t, 200)
	elsewhere := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysVerify}, IPAllowlist: []string{"10.0.0.0/8"}})
	limited := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysVerify},
		RateLimit: &keyward.RateLimit{Limit: 1, Window: keyward.Duration(time.Hour)}})
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", limited.Secret).want(t, 200) // its one request

	client := []string{"x-api-key", s.client.Secret}
	for name, headers := range map[string][]string{
		"no proxy key":                  client,
		"the proxy key in x-api-key":    {"x-api-key", s.proxy.Secret},
		"an unknown proxy key":          append([]string{httpapi.HeaderProxyKey, apikey.Generate(apikey.PrefixProject)}, client...),
		"a malformed proxy key":         append([]string{httpapi.HeaderProxyKey, "secret-ish"}, client...),
		"a revoked proxy key":           append([]string{httpapi.HeaderProxyKey, revoked.Secret}, client...),
		"an org key":                    append([]string{httpapi.HeaderProxyKey, s.srv.OrgKey}, client...),
		"a key without keys:verify":     append([]string{httpapi.HeaderProxyKey, reader.Secret}, client...),
		"a proxy outside its allowlist": append([]string{httpapi.HeaderProxyKey, elsewhere.Secret}, client...),
		"a proxy key over its limit":    append([]string{httpapi.HeaderProxyKey, limited.Secret}, client...),
		"the proxy key twice":           append([]string{httpapi.HeaderProxyKey, s.proxy.Secret, httpapi.HeaderProxyKey, reader.Secret}, client...),
		"a scope without a colon":       append([]string{httpapi.HeaderProxyKey, s.proxy.Secret, httpapi.HeaderRequiredScopes, "orders"}, client...),
		"a scope not in ASCII":          append([]string{httpapi.HeaderProxyKey, s.proxy.Secret, httpapi.HeaderRequiredScopes, "orders:lire\u00e9"}, client...),
		"51 scopes":                     append([]string{httpapi.HeaderProxyKey, s.proxy.Secret, httpapi.HeaderRequiredScopes, strings.Repeat("orders:read,", 51)}, client...),
		"no client key either":          {httpapi.HeaderProxyKey, revoked.Secret},
	} {
		r := do(t, s.srv, "GET", "/v1/forward-auth", nil, headers...)
		if r.Status != 500 {
			t.Errorf("%s: status %d, want 500; body %s", name, r.Status, r.Body)
			continue
		}
		e := wantRefused(t, r, 500, keyward.CodeProxyMisconfigured)
		fix := httpapi.HeaderProxyKey
		if strings.Contains(name, "scope") {
			fix = httpapi.HeaderRequiredScopes
		}
		if !strings.Contains(e.Message, "Its "+fix+" must") {
			t.Errorf("%s: message %q does not say to fix %s", name, e.Message, fix)
		}
		if r.Header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s: a challenge to the client: %q", name, r.Header.Get("WWW-Authenticate"))
		}
		noSecrets(t, r, s.client.Secret, s.proxy.Secret, revoked.Secret, reader.Secret, s.srv.OrgKey, limited.Secret, elsewhere.Secret)
	}

	// The operator learns the cause from the log, at error level; no key
	// is written there either.
	var logged int
	for _, line := range strings.Split(s.log.String(), "\n") {
		var l struct{ Level, Code, Cause string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Code == keyward.CodeProxyMisconfigured {
			logged++
			if l.Level != "ERROR" || l.Cause == "" {
				t.Errorf("a PROXY_MISCONFIGURED request logged as %s with cause %q", l.Level, l.Cause)
			}
		}
	}
	if logged < 14 {
		t.Errorf("%d PROXY_MISCONFIGURED request lines in the log, want 14", logged)
	}
	for _, secret := range []string{s.client.Secret, s.proxy.Secret, revoked.Secret, reader.Secret, s.srv.OrgKey, limited.Secret, elsewhere.Secret} {
		if strings.Contains(s.log.String(), secret) {
			t.Fatal("a key is in the log")
		}
	}

	// A proxy key of another project verifies only its own project's keys:
	// this project's key is invalid to it, as on /v1/verify.
	r := do(t, s.srv, "GET", "/v1/forward-auth", nil, httpapi.HeaderProxyKey, foreign.Secret, "x-api-key", s.client.Secret)
	wantRefused(t, r, 401, keyward.CodeAPIKeyInvalid)
}

// Behind a trusted proxy the client's address comes from the proxy's
// forwarded headers, and only then; the proxy's own key is checked
// against the proxy (the peer), not the client.
func TestForwardAuthClientAddress(t *testing.T) {
	env := kwtest.NewEnv(t)
	proxies, err := clientaddr.ParseProxies([]string{"127.0.0.1/32"})
	if err != nil {
		t.Fatal(err)
	}
	behind := fwdOn(t, serve(t, env, proxies, nil))
	exposed := &fwdSetup{srv: serve(t, env, clientaddr.Proxies{}, nil), project: behind.project, proxy: behind.proxy, client: behind.client}
	// The proxy's key may be used from the proxy only.
	pinned := env.MustKey(t, nil, behind.project.ID, keyward.CreateKeyInput{Scopes: []string{keyward.ScopeKeysVerify}, IPAllowlist: []string{"127.0.0.1/32"}})
	behind.proxy, exposed.proxy = pinned, pinned
	office := env.MustKey(t, nil, behind.project.ID, keyward.CreateKeyInput{Scopes: []string{"orders:read"}, IPAllowlist: []string{"203.0.113.0/24"}})

	behind.fwd(t, "GET", "/v1/forward-auth", "x-api-key", office.Secret, "X-Forwarded-For", "203.0.113.9").want(t, 200)
	behind.fwd(t, "GET", "/v1/forward-auth", "x-api-key", office.Secret, "X-Forwarded-For", "203.0.113.9, 198.51.100.1").wantError(t, 403, keyward.CodeIPNotAllowed)
	behind.fwd(t, "GET", "/v1/forward-auth", "x-api-key", office.Secret, "X-Forwarded-For", "203.0.113.9", "Forwarded", "for=198.51.100.1").wantError(t, 403, keyward.CodeIPNotAllowed)
	behind.fwd(t, "GET", "/v1/forward-auth", "x-api-key", office.Secret).wantError(t, 403, keyward.CodeIPNotAllowed)
	// Without --trusted-proxies the header is not believed.
	exposed.fwd(t, "GET", "/v1/forward-auth", "x-api-key", office.Secret, "X-Forwarded-For", "203.0.113.9").wantError(t, 403, keyward.CodeIPNotAllowed)
}

// The route answers from the verification cache, as /v1/verify does: a
// key checked again reads nothing from the store, and a revoke empties
// the cache for the very next check.
func TestForwardAuthFromTheCache(t *testing.T) {
	st := &countingStore{Store: kwtest.NewStore(t)}
	env := kwtest.NewEnvOn(t, st)
	s := fwdOn(t, serve(t, env, clientaddr.Proxies{}, nil))
	s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret).want(t, 200)
	before := st.reads.Load()
	for range 5 {
		s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret).want(t, 200)
	}
	if got := st.reads.Load() - before; got != 0 {
		t.Fatalf("5 checks of a cached key read the store %d times", got)
	}
	do(t, s.srv, "POST", "/v1/org/projects/"+s.project.ID+"/keys/"+s.client.ID+"/revoke", nil, "x-org-api-key", s.srv.OrgKey).want(t, 200)
	wantRefused(t, s.fwd(t, "GET", "/v1/forward-auth", "x-api-key", s.client.Secret), 401, keyward.CodeAPIKeyInvalid)
}

// The route is in the OpenAPI document with every method, on its path and
// below it, taking the proxy's key.
func TestForwardAuthInOpenAPI(t *testing.T) {
	s := newSetup(t)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string             `json:"operationId"`
			Security    []map[string][]any `json:"security"`
			Responses   map[string]struct {
				Headers map[string]any `json:"headers"`
			} `json:"responses"`
		} `json:"paths"`
	}
	do(t, s.srv, "GET", "/openapi.json", nil).want(t, 200).decode(t, &doc)
	for _, path := range []string{"/v1/forward-auth", "/v1/forward-auth/{path}"} {
		ops := doc.Paths[path]
		if len(ops) != 8 {
			t.Fatalf("%s has %d operations, want all 8 methods", path, len(ops))
		}
		for method, op := range ops {
			if len(op.Security) != 1 || op.Security[0]["proxyKey"] == nil {
				t.Errorf("%s %s: security %v, want proxyKey", method, path, op.Security)
			}
			if _, ok := op.Responses["200"].Headers[keyward.HeaderKeyID]; !ok {
				t.Errorf("%s %s: the 200 answer does not list %s", method, path, keyward.HeaderKeyID)
			}
		}
	}
}
