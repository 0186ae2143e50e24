package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
)

// Every answer, success, error or no route, says nosniff; every 401 says
// how to authenticate (RFC 6750 §3): the bare Bearer challenge without a
// key, error="invalid_token" with a key that does not work.
func TestSecurityHeaders(t *testing.T) {
	s := newSetup(t)
	expired := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{ExpiresIn: ptr(keyward.Duration(60e9))})
	s.srv.Clock.Advance(61e9)
	for _, c := range []struct {
		name, method, path string
		headers            []string
		status             int
		challenge          string
	}{
		{"whoami", "GET", "/v1/whoami", []string{"x-api-key", s.key.Secret}, 200, ""},
		{"keys", "GET", "/v1/keys", []string{"x-api-key", s.key.Secret}, 200, ""},
		{"org projects", "GET", "/v1/org/projects", []string{"x-org-api-key", s.srv.OrgKey}, 200, ""},
		{"healthz", "GET", "/healthz", nil, 200, ""},
		{"openapi", "GET", "/openapi.json", nil, 200, ""},
		{"metrics", "GET", "/metrics", nil, 200, ""},
		{"no route", "GET", "/v1/nope", nil, 404, ""},
		{"no method", "DELETE", "/v1/whoami", []string{"x-api-key", s.key.Secret}, 405, ""},
		{"wrong kind", "GET", "/v1/org/projects", []string{"x-api-key", s.key.Secret}, 403, ""},
		{"missing", "GET", "/v1/whoami", nil, 401, `Bearer realm="keyward"`},
		{"missing org", "GET", "/v1/org/whoami", nil, 401, `Bearer realm="keyward"`},
		{"invalid", "GET", "/v1/keys", []string{"x-api-key", "kwp_nope"}, 401, `Bearer realm="keyward", error="invalid_token"`},
		{"invalid bearer", "GET", "/v1/whoami", []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, `Bearer realm="keyward", error="invalid_token"`},
		{"expired", "GET", "/v1/whoami", []string{"x-api-key", expired.Secret}, 401, `Bearer realm="keyward", error="invalid_token"`},
		{"verify invalid", "POST", "/v1/verify", []string{"x-api-key", "kwp_nope"}, 401, `Bearer realm="keyward", error="invalid_token"`},
	} {
		var body any
		if c.method == "POST" {
			body = `{"key":"x"}`
		}
		r := do(t, s.srv, c.method, c.path, body, c.headers...)
		if r.Status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q, want nosniff", c.name, got)
		}
		if got := r.Header.Get("WWW-Authenticate"); got != c.challenge {
			t.Errorf("%s: WWW-Authenticate %q, want %q", c.name, got, c.challenge)
		}
	}
}

// A key is accepted only in its own family's header (or as Bearer): a
// project key in x-org-api-key on a project endpoint, or an org key in
// x-api-key on an org endpoint, is refused like a key of the wrong kind,
// naming the right header.
func TestKeyInTheOtherFamilysHeader(t *testing.T) {
	s := newSetup(t)
	pk, ok := s.key.Secret, s.srv.OrgKey
	for _, c := range []struct {
		name, path string
		headers    []string
		status     int
		code       string
		mention    string
	}{
		{"project key in x-org-api-key", "/v1/whoami", []string{"x-org-api-key", pk}, 403, keyward.CodePermissionDenied, "x-api-key"},
		{"org key in x-api-key", "/v1/org/whoami", []string{"x-api-key", ok}, 403, keyward.CodePermissionDenied, "x-org-api-key"},
		{"project key in both headers", "/v1/whoami", []string{"x-api-key", pk, "x-org-api-key", pk}, 403, keyward.CodePermissionDenied, "x-api-key"},
		{"org key in both headers", "/v1/org/whoami", []string{"x-api-key", ok, "x-org-api-key", ok}, 403, keyward.CodePermissionDenied, "x-org-api-key"},
		{"project key in x-org-api-key and Bearer", "/v1/whoami", []string{"x-org-api-key", pk, "Authorization", "Bearer " + pk}, 403, keyward.CodePermissionDenied, "x-api-key"},
		{"org key in x-api-key and Bearer", "/v1/org/whoami", []string{"x-api-key", ok, "Authorization", "Bearer " + ok}, 403, keyward.CodePermissionDenied, "x-org-api-key"},
		{"org key in x-org-api-key on a project endpoint", "/v1/whoami", []string{"x-org-api-key", ok}, 403, keyward.CodePermissionDenied, "x-api-key"},
		{"project key in x-api-key on an org endpoint", "/v1/org/whoami", []string{"x-api-key", pk}, 403, keyward.CodePermissionDenied, "x-org-api-key"},
		{"two different keys", "/v1/whoami", []string{"x-api-key", pk, "x-org-api-key", ok}, 400, keyward.CodeAmbiguousCredentials, ""},
		{"two different keys, org", "/v1/org/whoami", []string{"x-api-key", pk, "x-org-api-key", ok}, 400, keyward.CodeAmbiguousCredentials, ""},
		{"unknown key in the other header", "/v1/whoami", []string{"x-org-api-key", "kwp_unknown"}, 401, keyward.CodeAPIKeyInvalid, ""},
	} {
		e := do(t, s.srv, "GET", c.path, nil, c.headers...).wantError(t, c.status, c.code)
		if !strings.Contains(e.Message, c.mention) {
			t.Errorf("%s: message %q does not name %s", c.name, e.Message, c.mention)
		}
	}
	// The right headers still work, and Bearer works for both.
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", pk).want(t, 200)
	do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", pk, "Authorization", "Bearer "+pk).want(t, 200)
	do(t, s.srv, "GET", "/v1/whoami", nil, "Authorization", "Bearer "+pk).want(t, 200)
	do(t, s.srv, "GET", "/v1/org/whoami", nil, "x-org-api-key", ok).want(t, 200)
	do(t, s.srv, "GET", "/v1/org/whoami", nil, "Authorization", "Bearer "+ok).want(t, 200)
}

// A client's X-Request-Id never becomes the request's id: audit events and
// answers carry the server's own; the request log keeps the client's,
// sanitized, as client_request_id.
func TestClientRequestIDIsNotTheServers(t *testing.T) {
	var logs kwtest.LogBuffer
	srv := kwtest.NewServerLogging(t, &logs)
	s := &setup{srv: srv}
	s.project = srv.MustProject(t, "Billing")
	s.key = srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "main"})

	wellFormed := keyward.NewID(keyward.PrefixRequest) // a valid id of someone else's
	create := func(name string, clientID string) string {
		r := do(t, srv, "POST", "/v1/keys", map[string]any{"name": name}, "x-api-key", s.key.Secret, "X-Request-Id", clientID).want(t, 201)
		return r.Header.Get("X-Request-Id")
	}
	gotWellFormed := create("well-formed", wellFormed)
	gotOdd := create("odd", `evil id"<script>`+strings.Repeat("x", 100))

	// A raw request, as net/http's client will not send a line break in a
	// header: "evil\nid" is two lines, the second malformed.
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"name":"raw"}`
	_, _ = conn.Write([]byte("POST /v1/keys HTTP/1.1\r\nHost: x\r\nx-api-key: " + s.key.Secret +
		"\r\nContent-Type: application/json\r\nX-Request-Id: evil\nid\r\nContent-Length: 14\r\nConnection: close\r\n\r\n" + body))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); got != "" && (strings.Contains(got, "evil") || !keyward.ValidID(keyward.PrefixRequest, got)) {
		t.Fatalf("raw request: X-Request-Id %q", got)
	}

	var audit keyward.Page[keyward.AuditEvent]
	s.pk(t, "GET", "/v1/audit-events?action=key.create", nil).want(t, 200).decode(t, &audit)
	byName := map[string]string{}
	for _, e := range audit.Data {
		if e.Actor.ID != s.key.ID {
			continue // the test's own setup
		}
		if !keyward.ValidID(keyward.PrefixRequest, e.RequestID) || e.RequestID == wellFormed || strings.Contains(e.RequestID, "evil") {
			t.Errorf("audit event %s has request id %q, not one of the server's", e.ID, e.RequestID)
		}
		if n, _ := e.Details["name"].(string); n != "" {
			byName[n] = e.RequestID
		}
	}
	if byName["well-formed"] != gotWellFormed || byName["odd"] != gotOdd {
		t.Errorf("audit request ids %v, want the answers' X-Request-Id %s and %s", byName, gotWellFormed, gotOdd)
	}

	// The log keeps the client's ids apart, sanitized and at most 64 bytes.
	var clientIDs []string
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if c, ok := rec["client_request_id"].(string); ok {
			clientIDs = append(clientIDs, c)
			if rec["request_id"] == c {
				t.Errorf("log line %s: request_id is the client's", l)
			}
		}
	}
	want := []string{wellFormed, "evilidscript" + strings.Repeat("x", 52)}
	if len(clientIDs) < 2 || clientIDs[0] != want[0] || clientIDs[1] != want[1] {
		t.Errorf("client_request_id in the log: %q, want %q first", clientIDs, want)
	}
}

// A request refused for the header its key came in is not a use of the
// key: it spends none of the key's rate limit budget.
func TestKeyInTheOtherFamilysHeaderSpendsNoBudget(t *testing.T) {
	s := newSetup(t)
	limited := s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{RateLimit: &keyward.RateLimit{Limit: 3, Window: keyward.Duration(24 * time.Hour)}})
	for range 5 {
		do(t, s.srv, "GET", "/v1/whoami", nil, "x-org-api-key", limited.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	}
	r := do(t, s.srv, "GET", "/v1/whoami", nil, "x-api-key", limited.Secret).want(t, 200)
	if got := r.Header.Get("X-RateLimit-Remaining"); got != "2" {
		t.Fatalf("X-RateLimit-Remaining %q after five refused requests and one good one, want 2", got)
	}
}
