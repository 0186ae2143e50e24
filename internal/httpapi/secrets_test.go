package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/httpapi"
	"github.com/keyward/keyward/internal/kwtest"
)

// anySecret matches anything shaped like a keyward key.
var anySecret = regexp.MustCompile(`kw[po]_[0-9A-Za-z]{36}`)

// No secret reaches a log line, a metric or the audit log, whatever the
// requests carry; each request still logs one line with its route and key id.
func TestSecretsStayOutOfLogsMetricsAndAudit(t *testing.T) {
	var logs kwtest.LogBuffer
	srv := kwtest.NewServerLogging(t, &logs)
	s := &setup{srv: srv}
	s.project = srv.MustProject(t, "Billing")
	s.key = srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "main"})

	var created keyward.Key
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "second"}).want(t, 201).decode(t, &created)
	var rotated keyward.Key
	s.pk(t, "POST", "/v1/keys/"+created.ID+"/rotate", nil).want(t, 201).decode(t, &rotated)
	s.pk(t, "POST", "/v1/verify", map[string]any{"key": rotated.Secret}).want(t, 200)
	do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", created.Secret).wantError(t, 401, keyward.CodeAPIKeyInvalid)
	do(t, srv, "GET", "/v1/whoami", nil, "x-api-key", s.key.Secret[:39]+"!").wantError(t, 401, keyward.CodeAPIKeyInvalid)
	do(t, srv, "GET", "/v1/org/projects", nil, "x-api-key", s.key.Secret).wantError(t, 403, keyward.CodePermissionDenied)
	s.pk(t, "GET", "/v1/nope/"+s.key.Secret, nil).wantError(t, 404, keyward.CodeNotFound)
	metrics := do(t, srv, "GET", "/metrics", nil).want(t, 200)
	var audit keyward.Page[keyward.AuditEvent]
	s.ok(t, "GET", "/v1/org/audit-events?limit=200", nil).want(t, 200).decode(t, &audit)

	for name, text := range map[string]string{"logs": logs.String(), "metrics": string(metrics.Body), "audit": string(mustJSON(t, audit))} {
		if m := anySecret.FindString(text); m != "" {
			t.Errorf("%s contain a key: %s", name, m)
		}
		if strings.Contains(text, string(srv.Pepper)) {
			t.Errorf("%s contain the pepper", name)
		}
	}

	// One JSON line per request, with the route pattern and the key id.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	found := false
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if rec["route"] == "POST /v1/keys" && rec["key_id"] == s.key.ID && rec["status"] == float64(201) && rec["request_id"] != "" {
			found = true
		}
	}
	if !found || len(lines) < 9 {
		t.Fatalf("want a line per request (%d lines) including POST /v1/keys with the key id:\n%s", len(lines), logs.String())
	}
}

func TestRequestIDs(t *testing.T) {
	s := newSetup(t)
	// The server's own id, always: a client's id (well-formed or not) is
	// only logged as client_request_id (see TestClientRequestIDIsNotTheServers).
	for _, sent := range []string{"req_01M83VGF0S7YRRX0NXMEK3655Z", "hello", "req_<script>", strings.Repeat("a", 500), "req_01M83VGF0S7YRRX0NXMEK3655ZZ"} {
		r := do(t, s.srv, "GET", "/v1/nope", nil, "X-Request-Id", sent)
		e := r.wantError(t, 404, keyward.CodeNotFound)
		if e.RequestID == sent {
			t.Fatalf("the incoming id %q was kept", sent)
		}
	}
	a := do(t, s.srv, "GET", "/healthz", nil).Header.Get("X-Request-Id")
	b := do(t, s.srv, "GET", "/healthz", nil).Header.Get("X-Request-Id")
	if a == b || a >= b {
		t.Fatalf("request ids %q, %q: want unique and sortable", a, b)
	}
}

// TestRequestStatesAreNotShared runs requests of several callers at once:
// each answer must carry its own request's id, key and change sequence,
// though the middleware reuses request states (run it with -race).
func TestRequestStatesAreNotShared(t *testing.T) {
	s := newSetup(t)
	const each = 50
	keys := []*keyward.Key{ // the project allows three keys per user
		s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "customer 1"}),
		s.srv.MustKey(t, nil, s.project.ID, keyward.CreateKeyInput{Name: "customer 2"}),
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{} // every answer's X-Request-Id: one per request
	for i := range 2 * len(keys) {
		k := keys[i/2]
		wg.Go(func() {
			body := []byte(`{"key":"` + k.Secret + `"}`)
			for range each {
				id := keyward.NewSequentialID(keyward.PrefixRequest, time.Now())
				req, _ := http.NewRequest("POST", s.srv.URL+"/v1/verify", bytes.NewReader(body))
				path, want := "/v1/verify", `"id":"`+k.ID+`"`
				if i%2 == 1 { // whoami answers with the caller's own key
					req, _ = http.NewRequest("GET", s.srv.URL+"/v1/whoami", nil)
					path, want = "/v1/whoami", `"key_id":"`+s.key.ID+`"`
				}
				req.Header.Set("x-api-key", s.key.Secret)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Request-Id", id)
				req.Header.Set(httpapi.MinChangeSeqHeader, "0") // verify answers vouch for a change sequence
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				got := res.Header.Get("X-Request-Id")
				mu.Lock()
				dup := seen[got]
				seen[got] = true
				mu.Unlock()
				if res.StatusCode != 200 || dup || got == id || !keyward.ValidID(keyward.PrefixRequest, got) || !bytes.Contains(raw, []byte(want)) {
					t.Errorf("%s with request id %s: status %d, X-Request-Id %q (want a new one of its own), body %s; want %s in it",
						path, id, res.StatusCode, res.Header.Get("X-Request-Id"), raw, want)
					return
				}
				if seq := res.Header.Get(httpapi.ChangeSeqHeader); path == "/v1/verify" && !regexp.MustCompile(`^[0-9]+$`).MatchString(seq) {
					t.Errorf("verify answer with %s %q", httpapi.ChangeSeqHeader, seq)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestHeadersOutliveRequestState reads answers' headers after the handler
// has returned and later requests have reused its state, as a wrapping
// middleware or a test recorder does.
func TestHeadersOutliveRequestState(t *testing.T) {
	s := newSetup(t)
	body := `{"key":"` + s.key.Secret + `"}`
	var recs []*httptest.ResponseRecorder
	var ids []string
	for range 4 {
		id := keyward.NewSequentialID(keyward.PrefixRequest, time.Now())
		req := httptest.NewRequest("POST", "/v1/verify", strings.NewReader(body))
		req.Header.Set("x-api-key", s.key.Secret)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", id)
		req.Header.Set(httpapi.MinChangeSeqHeader, "0")
		rec := httptest.NewRecorder()
		s.srv.API.ServeHTTP(rec, req)
		recs, ids = append(recs, rec), append(ids, rec.Header().Get("X-Request-Id"))
	}
	for i, rec := range recs {
		if rec.Code != 200 || rec.Header().Get("X-Request-Id") != ids[i] || (i > 0 && ids[i] == ids[i-1]) || rec.Header().Get(httpapi.ChangeSeqHeader) == "" {
			t.Errorf("answer %d: status %d, X-Request-Id %q (want %q), %s %q", i, rec.Code,
				rec.Header().Get("X-Request-Id"), ids[i], httpapi.ChangeSeqHeader, rec.Header().Get(httpapi.ChangeSeqHeader))
		}
	}
}
