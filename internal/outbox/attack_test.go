package outbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/outbox"
	"github.com/keyward/keyward/internal/service"
)

// TestAttackHungEndpointStarvesOtherEndpoints: an endpoint that never
// answers, with more due deliveries than the worker has slots, must not
// hold up every other endpoint's deliveries. Here one hung endpoint has
// twice Concurrency deliveries due just before a healthy endpoint's one;
// the healthy delivery should go out at once, not after every hung
// attempt ahead of it has timed out.
func TestAttackHungEndpointStarvesOtherEndpoints(t *testing.T) {
	const concurrency = 2
	const timeout = 3 * time.Second

	release := make(chan struct{})
	var hungHits atomic.Int32
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hungHits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	arrived := make(chan time.Time, 1)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- time.Now():
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer healthy.Close()

	env := kwtest.NewEnv(t)
	ctx := context.Background()
	slow, err := env.Service.CreateWebhook(ctx, env.Owner(), service.WebhookInput{URL: hung.URL})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 * concurrency {
		if _, err := env.Service.TestWebhook(ctx, env.Owner(), slow.ID); err != nil {
			t.Fatal(err)
		}
	}
	env.Clock.Advance(time.Second) // the healthy delivery is due after the hung ones
	fine, err := env.Service.CreateWebhook(ctx, env.Owner(), service.WebhookInput{URL: healthy.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.TestWebhook(ctx, env.Owner(), fine.ID); err != nil {
		t.Fatal(err)
	}

	w := outbox.New(outbox.Config{Store: env.Store, Secret: env.Service.WebhookSecret, Clock: env.Clock, Logger: kwtest.Logger(t),
		AllowPrivate: true, Timeout: timeout, Poll: 10 * time.Millisecond, Concurrency: concurrency})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() { w.Run(runCtx); close(done) }()
	defer func() { close(release); stop(); <-done }()

	select {
	case at := <-arrived:
		if waited := at.Sub(start); waited >= timeout {
			t.Fatalf("the healthy endpoint's delivery waited %v behind one hung endpoint", waited)
		}
	case <-time.After(timeout):
		t.Fatalf("after %v the healthy endpoint had nothing: all %d slots of the worker are held by one hung endpoint (%d requests to it so far)",
			timeout, concurrency, hungHits.Load())
	}
}

// TestAttackBlockedNAT64LocalUse: the docs say IPv4 inside NAT64 is judged
// as the IPv4 address, but only the well-known prefix 64:ff9b::/96 is;
// the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215), which a network's
// own NAT64 uses to reach its IPv4 hosts, passes the guard, so a delivery
// can reach metadata or loopback through such a gateway.
func TestAttackBlockedNAT64LocalUse(t *testing.T) {
	for _, ip := range []string{"64:ff9b:1::a9fe:a9fe", "64:ff9b:1::7f00:1", "64:ff9b:1::a00:1"} {
		if !outbox.Blocked(netip.MustParseAddr(ip)) {
			t.Errorf("Blocked(%s) = false: a local-use NAT64 address of an internal IPv4 address passes", ip)
		}
	}
}

// disablingStore is a store on which the worker's read of an endpoint
// comes just after an admin disabled it: the moment between a claim and
// the attempt.
type disablingStore struct {
	keyward.Store
	once    sync.Once
	disable func()
}

func (s *disablingStore) GetWebhookEndpoint(ctx context.Context, id string) (*keyward.WebhookEndpoint, error) {
	s.once.Do(s.disable)
	return s.Store.GetWebhookEndpoint(ctx, id)
}

// TestAttackDisabledAfterClaimStillDelivers: "a disabled endpoint gets
// nothing", but the worker posts a delivery it claimed while the endpoint
// was enabled even when the endpoint it then reads is disabled (deliver
// never looks at ep.Enabled); the delivery should be given back to wait.
func TestAttackDisabledAfterClaimStillDelivers(t *testing.T) {
	var hits atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	env := kwtest.NewEnv(t)
	ctx := context.Background()
	ep, err := env.Service.CreateWebhook(ctx, env.Owner(), service.WebhookInput{URL: rcv.URL})
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.Service.TestWebhook(ctx, env.Owner(), ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	disabled := make(chan struct{})
	st := &disablingStore{Store: env.Store, disable: func() {
		off := false
		if _, err := env.Service.UpdateWebhook(ctx, env.Owner(), ep.ID, service.WebhookPatch{Enabled: &off}); err != nil {
			t.Error(err)
		}
		close(disabled)
	}}
	w := outbox.New(outbox.Config{Store: st, Secret: env.Service.WebhookSecret, Clock: env.Clock, Logger: kwtest.Logger(t),
		AllowPrivate: true, Timeout: 2 * time.Second, Poll: 10 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	select {
	case <-disabled:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker never read the endpoint")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := env.Store.GetWebhookDelivery(ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Claim == "" { // recorded or given back
			if n := hits.Load(); n != 0 || got.Status == keyward.DeliverySucceeded {
				t.Fatalf("the endpoint was disabled before the attempt, yet got %d request(s); delivery status %s", n, got.Status)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery still claimed: %+v", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
