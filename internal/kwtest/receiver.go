package kwtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/keyward/keyward/client/webhooks"
)

// WebhookReceiver is a webhook endpoint on a loopback port for tests: it
// answers every delivery with its status (503 until it is given the
// endpoint's secret), and once trusted it passes on the deliveries that
// verify with client/webhooks, on the test server's clock.
type WebhookReceiver struct {
	*httptest.Server
	status   int
	mu       sync.Mutex
	verifier *webhooks.Verifier
	events   chan *webhooks.Event
	header   http.Header // of the latest request
	body     []byte
}

// NewWebhookReceiver starts a receiver that answers verified deliveries
// with status.
func NewWebhookReceiver(t testing.TB, status int) *WebhookReceiver {
	t.Helper()
	r := &WebhookReceiver{status: status, events: make(chan *webhooks.Event, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.mu.Lock()
		v := r.verifier
		r.header, r.body = req.Header.Clone(), body
		r.mu.Unlock()
		if v == nil {
			http.Error(w, "no secret yet", http.StatusServiceUnavailable)
			return
		}
		v.Middleware(func(w http.ResponseWriter, _ *http.Request, e *webhooks.Event) {
			r.events <- e
			w.WriteHeader(r.status)
		}).ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// Trust makes the receiver verify deliveries with secret, on srv's clock.
func (r *WebhookReceiver) Trust(t testing.TB, srv *Server, secret string) {
	t.Helper()
	v, err := webhooks.NewVerifier(secret, webhooks.WithClock(srv.Clock.Now))
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	r.mu.Lock()
	r.verifier = v
	r.mu.Unlock()
}

// Latest returns the header and body of the latest request.
func (r *WebhookReceiver) Latest() (http.Header, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.header, r.body
}

// Next waits for the next verified delivery (at most 15 s).
func (r *WebhookReceiver) Next(t testing.TB) *webhooks.Event {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(15 * time.Second):
		t.Fatal("no verified delivery arrived at the receiver")
		return nil
	}
}
