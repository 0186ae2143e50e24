package client

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// recorded is one request the test server saw.
type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

// fakeServer is an httptest server that records requests and answers with
// handler.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newFakeServer(t *testing.T, handler http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b)) // the handler may read it again
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(b)})
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// sleeps records the waits between retries instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(done <-chan struct{}, d time.Duration) bool {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// mustClient returns a client for url with both keys and no real waits
// between retries; it ignores the environment.
func mustClient(t testing.TB, url string, opts ...Option) (*Client, *sleeps) {
	t.Helper()
	t.Setenv(EnvAPIKey, "")
	t.Setenv(EnvOrgAPIKey, "")
	t.Setenv(EnvURL, "")
	base := []Option{WithBaseURL(url), WithAPIKey(testProjectKey), WithOrgAPIKey(testOrgKey)}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	s := &sleeps{}
	c.sleep = s.sleep
	return c, s
}

const (
	testProjectKey = "kwp_0123456789abcdefghijABCDEFGHIJ000000"
	testOrgKey     = "kwo_0123456789abcdefghijABCDEFGHIJ000000"
)

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeAPIError answers with the error contract.
func writeAPIError(w http.ResponseWriter, status int, code, msg, reqID string) {
	w.Header().Set("X-Request-Id", reqID)
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg, "status": status, "request_id": reqID,
	}})
}

// discardLogger drops log lines of expected failures.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
