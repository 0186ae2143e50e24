package client

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/keyward/keyward"
)

// fakeVerify answers /v1/verify by the presented key: "kwp_<CODE>" gets that
// code, "kwp_VALID" is valid.
func fakeVerify(t *testing.T) *fakeServer {
	return newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		var in keyward.VerifyInput
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeAPIError(w, 400, "INVALID_REQUEST", "bad body", "req_x")
			return
		}
		code := strings.TrimPrefix(in.Key, "kwp_")
		if code == "VALID" {
			writeJSON(w, 200, keyward.VerifyResult{Valid: true, Code: "VALID",
				Key: &keyward.Key{ID: "key_ok", Scopes: []string{"orders:read"}}})
			return
		}
		writeJSON(w, 200, keyward.VerifyResult{Valid: false, Code: code})
	})
}

func TestMiddleware(t *testing.T) {
	verify := fakeVerify(t)

	tests := []struct {
		name       string
		header     http.Header
		wantStatus int
		wantCode   string // "" when the handler ran
		wantVerify bool
	}{
		{"valid x-api-key", http.Header{"X-Api-Key": {"kwp_VALID"}}, 200, "", true},
		{"valid bearer", http.Header{"Authorization": {"bearer kwp_VALID"}}, 200, "", true},
		{"same key twice", http.Header{"X-Api-Key": {"kwp_VALID"}, "Authorization": {"Bearer kwp_VALID"}}, 200, "", true},
		{"missing", http.Header{}, 401, "API_KEY_MISSING", false},
		{"basic auth is not a key", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, 401, "API_KEY_MISSING", false},
		{"ambiguous", http.Header{"X-Api-Key": {"kwp_VALID"}, "Authorization": {"Bearer kwp_OTHER"}}, 400, "AMBIGUOUS_CREDENTIALS", false},
		{"invalid", http.Header{"X-Api-Key": {"kwp_INVALID"}}, 401, "API_KEY_INVALID", true},
		{"expired", http.Header{"X-Api-Key": {"kwp_EXPIRED"}}, 401, "API_KEY_EXPIRED", true},
		{"insufficient scope", http.Header{"X-Api-Key": {"kwp_INSUFFICIENT_SCOPE"}}, 403, "PERMISSION_DENIED", true},
		{"ip not allowed", http.Header{"X-Api-Key": {"kwp_IP_NOT_ALLOWED"}}, 403, "IP_NOT_ALLOWED", true},
		{"rate limited", http.Header{"X-Api-Key": {"kwp_RATE_LIMITED"}}, 429, "RATE_LIMITED", true},
		{"unknown code fails closed", http.Header{"X-Api-Key": {"kwp_SOMETHING_NEW"}}, 401, "API_KEY_INVALID", true},
		{"overlong key", http.Header{"X-Api-Key": {"kwp_" + strings.Repeat("a", 300)}}, 401, "API_KEY_INVALID", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustClient(t, verify.URL)
			before := len(verify.requests())
			var gotKey *keyward.Key
			h := Middleware(c, RequireScopes("orders:read"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotKey, _ = KeyFromContext(r.Context())
				w.WriteHeader(200)
			}))
			req := httptest.NewRequest("GET", "/orders", nil)
			req.RemoteAddr = "192.0.2.7:5555"
			req.Header = tt.header
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			reqs := verify.requests()[before:]
			if called := len(reqs) > 0; called != tt.wantVerify {
				t.Errorf("verify called = %v, want %v", called, tt.wantVerify)
			}
			if tt.wantVerify {
				var in keyward.VerifyInput
				_ = json.Unmarshal([]byte(reqs[0].Body), &in)
				if in.IP != "192.0.2.7" || !cmp.Equal(in.Scopes, []string{"orders:read"}) {
					t.Errorf("verify input = %+v, want ip 192.0.2.7 and scopes [orders:read]", in)
				}
				if reqs[0].Path != "/v1/verify" || reqs[0].Header.Get("X-Api-Key") != testProjectKey {
					t.Errorf("verify request = %s with x-api-key %q", reqs[0].Path, reqs[0].Header.Get("X-Api-Key"))
				}
			}
			if tt.wantCode == "" {
				if gotKey == nil || gotKey.ID != "key_ok" {
					t.Errorf("KeyFromContext = %+v, want key_ok", gotKey)
				}
				return
			}
			checkErrorBody(t, rec, tt.wantStatus, tt.wantCode)
			if tt.wantStatus == 429 && rec.Header().Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		})
	}
}

// TestMiddlewareFailsClosed: when keyward cannot be reached or answers an
// error, the request is refused with 503, never let through.
func TestMiddlewareFailsClosed(t *testing.T) {
	down := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, 500, "INTERNAL", "boom", "req_1")
	})
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for name, url := range map[string]string{"error answer": down.URL, "unreachable": gone.URL} {
		t.Run(name, func(t *testing.T) {
			c, _ := mustClient(t, url)
			ran := false
			h := Middleware(c, WithLogger(discardLogger()))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("X-Api-Key", "kwp_VALID")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if ran {
				t.Error("handler ran although keyward could not verify the key")
			}
			checkErrorBody(t, rec, 503, "UNAVAILABLE")
		})
	}
}

func TestMiddlewareOrgVerify(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, keyward.VerifyResult{Valid: true, Code: "VALID", Key: &keyward.Key{ID: "key_ok"}})
	})
	c, _ := mustClient(t, srv.URL)
	h := Middleware(c, WithOrgVerify(), WithClientIP(func(r *http.Request) string { return "203.0.113.9" }))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer kwp_VALID")
	h.ServeHTTP(httptest.NewRecorder(), req)
	r := srv.requests()[0]
	if r.Path != "/v1/org/verify" || r.Header.Get("X-Org-Api-Key") != testOrgKey || !strings.Contains(r.Body, `"ip":"203.0.113.9"`) {
		t.Errorf("verify request = %+v", r)
	}
}

// checkErrorBody checks the error contract (README, Error codes).
func checkErrorBody(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var body struct{ Error Error }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not the error contract: %v", rec.Body, err)
	}
	e := body.Error
	if e.Code != code || e.Status != status || e.Message == "" {
		t.Errorf("error = %+v, want code %s status %d and a message", e, code, status)
	}
	if !strings.HasPrefix(e.RequestID, "req_") || rec.Header().Get("X-Request-Id") != e.RequestID {
		t.Errorf("request_id %q, X-Request-Id %q: want the same req_ id", e.RequestID, rec.Header().Get("X-Request-Id"))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if strings.Contains(rec.Body.String(), "kwp_") {
		t.Errorf("error body echoes the key: %s", rec.Body)
	}
}
