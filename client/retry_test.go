package client

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
)

// TestRetries counts requests: idempotent calls (GET, DELETE, revoke) are
// retried on 429/502/503/504; calls that create or change are not.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		status int
		call   func(c *Client) error
		want   int // requests
	}{
		{"get 503", 503, func(c *Client) error { _, err := c.Keys().Get(ctx, "key_1"); return err }, 3},
		{"list 502", 502, func(c *Client) error { _, err := c.Keys().List(ctx, ListKeysParams{}); return err }, 3},
		{"whoami 504", 504, func(c *Client) error { _, err := c.Whoami(ctx); return err }, 3},
		{"revoke 503", 503, func(c *Client) error {
			_, err := c.Keys().Revoke(ctx, "key_1", keyward.RevokeInput{Reason: "leak"})
			return err
		}, 3},
		{"org revoke 429", 429, func(c *Client) error {
			_, err := c.Org().ProjectKeys("prj_1").Revoke(ctx, "key_1", keyward.RevokeInput{})
			return err
		}, 3},
		{"delete 503", 503, func(c *Client) error { _, err := c.Keys().Delete(ctx, "key_1"); return err }, 3},
		{"delete project 503", 503, func(c *Client) error { return c.Org().Projects().Delete(ctx, "prj_1") }, 3},
		{"create 503", 503, func(c *Client) error {
			_, err := c.Keys().Create(ctx, keyward.CreateKeyInput{Name: "ci"})
			return err
		}, 1},
		{"create 429", 429, func(c *Client) error {
			_, err := c.Org().Keys().Create(ctx, keyward.CreateKeyInput{Name: "ci"})
			return err
		}, 1},
		{"rotate 503", 503, func(c *Client) error {
			_, err := c.Keys().Rotate(ctx, "key_1", keyward.RotateInput{})
			return err
		}, 1},
		{"update 502", 502, func(c *Client) error {
			name := "x"
			_, err := c.Keys().Update(ctx, "key_1", keyward.KeyPatch{Name: &name})
			return err
		}, 1},
		{"create project 503", 503, func(c *Client) error {
			_, err := c.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "p"})
			return err
		}, 1},
		{"verify 503", 503, func(c *Client) error {
			_, err := c.Verify(ctx, keyward.VerifyInput{Key: testProjectKey})
			return err
		}, 1},
		{"get 500 is not retried", 500, func(c *Client) error { _, err := c.Keys().Get(ctx, "key_1"); return err }, 1},
		{"get 404 is not retried", 404, func(c *Client) error { _, err := c.Keys().Get(ctx, "key_1"); return err }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				writeAPIError(w, tt.status, "UNAVAILABLE", "down", "req_1")
			})
			c, _ := mustClient(t, srv.URL)
			err := tt.call(c)
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.status {
				t.Fatalf("error = %v, want *Error with status %d", err, tt.status)
			}
			if got := len(srv.requests()); got != tt.want {
				t.Errorf("server saw %d requests, want %d", got, tt.want)
			}
		})
	}
}

func TestRetrySucceeds(t *testing.T) {
	var n atomic.Int32
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			writeAPIError(w, 503, "UNAVAILABLE", "down", "req_1")
			return
		}
		writeJSON(w, 200, keyward.Key{ID: "key_1", Status: keyward.StatusRevoked})
	})
	c, s := mustClient(t, srv.URL)
	k, err := c.Keys().Revoke(context.Background(), "key_1", keyward.RevokeInput{})
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if k.Status != keyward.StatusRevoked {
		t.Errorf("status = %q, want revoked", k.Status)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[0].Body != reqs[1].Body || reqs[1].Body != "{}" {
		t.Errorf("requests = %+v, want the same body twice", reqs)
	}
	if len(s.d) != 1 || s.d[0] < c.minBackoff/2 || s.d[0] > c.minBackoff {
		t.Errorf("waits = %v, want one in [%v, %v]", s.d, c.minBackoff/2, c.minBackoff)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantReqs   int
		wantWaits  []time.Duration
	}{
		{"429 seconds", 429, "3", 3, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"503 seconds", 503, "1", 3, []time.Duration{time.Second, time.Second}},
		{"too long to wait", 429, "3600", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", tt.retryAfter)
				writeAPIError(w, tt.status, "RATE_LIMITED", "slow down", "req_1")
			})
			c, s := mustClient(t, srv.URL)
			_, err := c.Keys().List(context.Background(), ListKeysParams{})
			if !HasCode(err, "RATE_LIMITED") {
				t.Fatalf("error = %v, want RATE_LIMITED", err)
			}
			if got := len(srv.requests()); got != tt.wantReqs {
				t.Errorf("server saw %d requests, want %d", got, tt.wantReqs)
			}
			if len(s.d) != len(tt.wantWaits) {
				t.Fatalf("waits = %v, want %v", s.d, tt.wantWaits)
			}
			for i := range s.d {
				if s.d[i] != tt.wantWaits[i] {
					t.Errorf("wait %d = %v, want %v", i, s.d[i], tt.wantWaits[i])
				}
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestNetworkErrorRetry drops the first connection: a GET is retried, a
// create is not.
func TestNetworkErrorRetry(t *testing.T) {
	var n atomic.Int32
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeJSON(w, 200, keyward.Key{ID: "key_1"})
	})
	c, _ := mustClient(t, srv.URL)
	if _, err := c.Keys().Get(context.Background(), "key_1"); err != nil {
		t.Fatalf("Get after a dropped connection: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("Get: server saw %d requests, want 2", got)
	}
	n.Store(0)
	if _, err := c.Keys().Create(context.Background(), keyward.CreateKeyInput{Name: "x"}); err == nil {
		t.Fatal("Create after a dropped connection succeeded, want an error")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("Create: server saw %d requests, want 1", got)
	}
}

// TestContextCancelStopsRetries waits for real: cancelling the context
// during the backoff ends the call at once.
func TestContextCancelStopsRetries(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, 503, "UNAVAILABLE", "down", "req_1")
	})
	c, _ := mustClient(t, srv.URL, WithRetries(5))
	c.sleep = sleepCtx
	c.minBackoff, c.maxBackoff = time.Hour, time.Hour

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Keys().Get(ctx, "key_1")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Get took %v after cancel", d)
	}
	if got := len(srv.requests()); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	c := &Client{minBackoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 20 {
			if d := c.backoff(attempt); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
