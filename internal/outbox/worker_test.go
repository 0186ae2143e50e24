package outbox_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/outbox"
	"github.com/keyward/keyward/internal/service"
)

// testDelivery makes an endpoint for url and a webhook.test delivery to
// it, and returns a worker for the env (not running) and the delivery.
func testDelivery(t *testing.T, url string, timeout time.Duration) (*kwtest.Env, *outbox.Worker, *keyward.WebhookDelivery) {
	t.Helper()
	env := kwtest.NewEnv(t)
	ctx := context.Background()
	ep, err := env.Service.CreateWebhook(ctx, env.Owner(), service.WebhookInput{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Service.TestWebhook(ctx, env.Owner(), ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	w := outbox.New(outbox.Config{Store: env.Store, Secret: env.Service.WebhookSecret, Clock: env.Clock, Logger: kwtest.Logger(t),
		AllowPrivate: true, Timeout: timeout, Poll: 10 * time.Millisecond})
	return env, w, d
}

// run runs w until the delivery has had attempts attempts (or 10 s), then
// stops it and returns the delivery as stored.
func run(t *testing.T, env *kwtest.Env, w *outbox.Worker, id string, attempts int) *keyward.WebhookDelivery {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := env.Store.GetWebhookDelivery(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Attempts >= attempts {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %+v: want %d attempts", d, attempts)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAttemptTimesOut: an endpoint that never answers costs one timeout,
// recorded as such, and the delivery waits for its retry.
func TestAttemptTimesOut(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	t.Cleanup(func() { close(release); hang.Close() })
	env, w, d := testDelivery(t, hang.URL, 300*time.Millisecond)
	got := run(t, env, w, d.ID, 1)
	if got.Status != keyward.DeliveryPending || got.LastStatusCode != 0 || got.LastError != "no answer within 300ms" || got.NextAttemptAt == nil {
		t.Fatalf("after a hang: %+v", got)
	}
}

// TestAnswerReadUpToTheCap: a 2xx answer's body is read up to 64 KiB and
// the rest dropped with the connection.
func TestAnswerReadUpToTheCap(t *testing.T) {
	var written atomic.Int64
	const total = 64 << 20
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		chunk := make([]byte, 32<<10)
		for written.Load() < total {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(big.Close)
	env, w, d := testDelivery(t, big.URL, 5*time.Second)
	got := run(t, env, w, d.ID, 1)
	if got.Status != keyward.DeliverySucceeded || got.LastStatusCode != 200 {
		t.Fatalf("after a large 200: %+v", got)
	}
	big.CloseClientConnections()
	if n := written.Load(); n >= total {
		t.Fatalf("the endpoint wrote its whole %d-byte answer: the worker read it all", n)
	}
}

// TestAttemptErrorsHoldNoURL: the delivery log says why an attempt failed
// without the URL, whose query may hold the receiver's token.
func TestAttemptErrorsHoldNoURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	env, w, d := testDelivery(t, "http://"+addr+"/hook?token=s3cr3t-receiver-token", time.Second)
	got := run(t, env, w, d.ID, 1)
	if got.LastError == "" || strings.Contains(got.LastError, "s3cr3t") || strings.Contains(got.LastError, "/hook") {
		t.Fatalf("last_error = %q", got.LastError)
	}
}

// TestShutdownLetsAttemptsFinish: stopping the worker waits for the
// attempt in flight and records it, rather than leaving it to be sent
// again.
func TestShutdownLetsAttemptsFinish(t *testing.T) {
	arrived, answer := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-answer // the answer comes after shutdown began
		w.WriteHeader(204)
	}))
	t.Cleanup(slow.Close)
	env, w, d := testDelivery(t, slow.URL, 5*time.Second)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	<-arrived
	stop()
	close(answer)
	<-done
	got, err := env.Store.GetWebhookDelivery(context.Background(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != keyward.DeliverySucceeded || got.LastStatusCode != 204 || got.Claim != "" {
		t.Fatalf("after shutdown: %+v", got)
	}
}

// TestDeliveryLogPruned: ended deliveries leave the log once they are
// older than Keep; pending ones stay whatever their age.
func TestDeliveryLogPruned(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(ok.Close)
	env, _, d := testDelivery(t, ok.URL, time.Second)
	w := outbox.New(outbox.Config{Store: env.Store, Secret: env.Service.WebhookSecret, Clock: env.Clock, Logger: kwtest.Logger(t),
		AllowPrivate: true, Poll: 10 * time.Millisecond, Keep: time.Hour})
	run(t, env, w, d.ID, 1)
	env.Clock.Advance(2 * time.Hour)
	// A second delivery that cannot succeed yet: pending, it stays.
	eps, err := env.Store.ListWebhookEndpoints(context.Background(), env.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.UpdateWebhook(context.Background(), env.Owner(), eps[0].ID, service.WebhookPatch{URL: ptr("http://127.0.0.1:9/")}); err != nil {
		t.Fatal(err)
	}
	pending, err := env.Service.TestWebhook(context.Background(), env.Owner(), eps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	run(t, env, w, pending.ID, 1)
	if _, err := env.Store.GetWebhookDelivery(context.Background(), d.ID); kwtest.Code(err) != keyward.CodeNotFound {
		t.Fatalf("an ended delivery older than Keep: %v, want NOT_FOUND", err)
	}
	env.Clock.Advance(2 * time.Hour)
	w2 := outbox.New(outbox.Config{Store: env.Store, Secret: env.Service.WebhookSecret, Clock: env.Clock, Logger: kwtest.Logger(t),
		AllowPrivate: true, Poll: 10 * time.Millisecond, Keep: time.Hour})
	run(t, env, w2, pending.ID, 1)
	if _, err := env.Store.GetWebhookDelivery(context.Background(), pending.ID); err != nil {
		t.Fatalf("a pending delivery was pruned: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestUnopenableSecretIsAFailedAttempt: when an endpoint's secret cannot
// be opened (KEYWARD_KEY_PEPPER changed), nothing unsigned is sent; the
// attempt fails with the reason and waits for its retry.
func TestUnopenableSecretIsAFailedAttempt(t *testing.T) {
	reached := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
	t.Cleanup(srv.Close)
	env, _, d := testDelivery(t, srv.URL, time.Second)
	other, err := service.New(service.Config{Store: env.Store, Clock: env.Clock, Pepper: []byte("another pepper"), Logger: kwtest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	w := outbox.New(outbox.Config{Store: env.Store, Secret: other.WebhookSecret, Clock: env.Clock, Logger: kwtest.Logger(t),
		AllowPrivate: true, Poll: 10 * time.Millisecond})
	got := run(t, env, w, d.ID, 1)
	if reached || got.Status != keyward.DeliveryPending || got.NextAttemptAt == nil || !strings.Contains(got.LastError, "KEYWARD_KEY_PEPPER") {
		t.Fatalf("reached %v, delivery %+v", reached, got)
	}
}
