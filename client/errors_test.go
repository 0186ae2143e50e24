package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keyward/keyward"
)

func TestErrorDecoding(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    *Error
	}{
		{
			name: "contract body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeAPIError(w, 401, "API_KEY_INVALID", "Invalid API key provided", "req_01")
			},
			want: &Error{Code: "API_KEY_INVALID", Message: "Invalid API key provided", Status: 401, RequestID: "req_01"},
		},
		{
			name: "details",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req_02")
				writeJSON(w, 400, map[string]any{"error": map[string]any{
					"code": "INVALID_REQUEST", "message": "Invalid name: required", "status": 400, "request_id": "req_02",
					"details": []map[string]string{{"field": "name", "problem": "required"}},
				}})
			},
			want: &Error{Code: "INVALID_REQUEST", Message: "Invalid name: required", Status: 400, RequestID: "req_02",
				Details: []keyward.FieldError{{Field: "name", Problem: "required"}}},
		},
		{
			name: "request id only in header",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req_03")
				writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "NOT_FOUND", "message": "No such key"}})
			},
			want: &Error{Code: "NOT_FOUND", Message: "No such key", Status: 404, RequestID: "req_03"},
		},
		{
			name: "html from a proxy, 502",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(502)
				_, _ = w.Write([]byte("<html>bad gateway</html>"))
			},
			want: &Error{Code: "UNAVAILABLE", Message: "unexpected response from keyward: 502 Bad Gateway", Status: 502},
		},
		{
			name: "plain text 500",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req_05")
				http.Error(w, "boom", 500)
			},
			want: &Error{Code: "INTERNAL", Message: "unexpected response from keyward: 500 Internal Server Error", Status: 500, RequestID: "req_05"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, tt.handler)
			c, _ := mustClient(t, srv.URL, WithRetries(0))
			_, err := c.Keys().Get(context.Background(), "key_1")
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("Get error = %v (%T), want *Error", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if !HasCode(err, tt.want.Code) {
				t.Errorf("HasCode(err, %q) = false", tt.want.Code)
			}
			if strings.Contains(err.Error(), testProjectKey) {
				t.Errorf("error %q contains the key", err)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Code: "API_KEY_INVALID", Message: "Invalid API key provided", RequestID: "req_1"}
	if got, want := e.Error(), "keyward: API_KEY_INVALID: Invalid API key provided (req_1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e.RequestID = ""
	if got, want := e.Error(), "keyward: API_KEY_INVALID: Invalid API key provided"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestErrorIsKeywardError: what the SDK returns for an API error is
// keyward's own error type, so a service handles server and SDK errors with
// the same code, and the fields at fault show in the message.
func TestErrorIsKeywardError(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req_07")
		writeJSON(w, 400, map[string]any{"error": map[string]any{
			"code": "INVALID_REQUEST", "message": "The request is invalid", "status": 400, "request_id": "req_07",
			"details": []map[string]string{{"field": "name", "problem": "required"}, {"field": "scopes", "problem": "unknown scope \"x\""}},
		}})
	})
	c, _ := mustClient(t, srv.URL)
	_, err := c.Keys().Create(context.Background(), keyward.CreateKeyInput{})
	var ke *keyward.Error
	if !errors.As(err, &ke) || ke.Status != 400 || len(ke.Details) != 2 {
		t.Fatalf("errors.As(*keyward.Error) on %v (%T) = %+v", err, err, ke)
	}
	if got := keyward.ErrorCode(err); got != keyward.CodeInvalidRequest {
		t.Errorf("keyward.ErrorCode = %q, want %s", got, keyward.CodeInvalidRequest)
	}
	want := `keyward: INVALID_REQUEST: The request is invalid: name required; scopes unknown scope "x" (req_07)`
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

// TestRateLimitedErrorCarriesHeaders: a 429 gives the caller the server's
// Retry-After and X-RateLimit-* values.
func TestRateLimitedErrorCarriesHeaders(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", "1900000000")
		writeAPIError(w, 429, "RATE_LIMITED", "Too many requests", "req_08")
	})
	c, _ := mustClient(t, srv.URL, WithRetries(0))
	_, err := c.Whoami(context.Background())
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T)", err, err)
	}
	if e.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %v, want 7s", e.RetryAfter)
	}
	want := &keyward.RateLimitState{Limit: 100, Remaining: 0, Reset: time.Unix(1900000000, 0)}
	if diff := cmp.Diff(want, e.RateLimit); diff != "" {
		t.Errorf("RateLimit (-want +got):\n%s", diff)
	}
}

func TestMissingKeyMakesNoRequest(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	t.Setenv(EnvAPIKey, "")
	t.Setenv(EnvOrgAPIKey, "")
	c, err := New(WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Keys().List(ctx, ListKeysParams{}); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("Keys().List error = %v, want ErrNoAPIKey", err)
	}
	if _, err := c.Whoami(ctx); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("Whoami error = %v, want ErrNoAPIKey", err)
	}
	if _, err := c.Org().Projects().List(ctx, ListParams{}); !errors.Is(err, ErrNoOrgAPIKey) {
		t.Errorf("Org().Projects().List error = %v, want ErrNoOrgAPIKey", err)
	}
	if _, err := c.Org().ProjectKeys("prj_1").Create(ctx, keyward.CreateKeyInput{Name: "x"}); !errors.Is(err, ErrNoOrgAPIKey) {
		t.Errorf("ProjectKeys.Create error = %v, want ErrNoOrgAPIKey", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestEmptyIDMakesNoRequest(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	c, _ := mustClient(t, srv.URL)
	ctx := context.Background()
	if _, err := c.Keys().Revoke(ctx, "", keyward.RevokeInput{}); !errors.Is(err, ErrEmptyID) {
		t.Errorf("Revoke(\"\") error = %v, want ErrEmptyID", err)
	}
	if _, err := c.Org().ProjectKeys("").List(ctx, ListKeysParams{}); !errors.Is(err, ErrEmptyID) {
		t.Errorf("ProjectKeys(\"\").List error = %v, want ErrEmptyID", err)
	}
	if err := c.Org().Projects().Delete(ctx, ""); !errors.Is(err, ErrEmptyID) {
		t.Errorf("Projects().Delete(\"\") error = %v, want ErrEmptyID", err)
	}
	if _, err := c.Org().Invitations().Revoke(ctx, ""); !errors.Is(err, ErrEmptyID) {
		t.Errorf("Invitations().Revoke(\"\") error = %v, want ErrEmptyID", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}
