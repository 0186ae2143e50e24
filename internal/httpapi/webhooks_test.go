package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client/webhooks"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// delivery is one request a receiver got.
type delivery struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Event                    struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
}

// receiver is a webhook endpoint on loopback that records what it gets
// and answers with status (200 unless set).
type receiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []delivery
	more   chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{more: make(chan struct{}, 1000)}
	r.status.Store(200)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		d := delivery{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), Body: body}
		_ = json.Unmarshal(body, &d.Event)
		r.mu.Lock()
		r.got = append(r.got, d)
		r.mu.Unlock()
		w.WriteHeader(int(r.status.Load()))
		r.more <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// wait returns the deliveries once there are n, failing after 10 s.
func (r *receiver) wait(t *testing.T, n int) []delivery {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]delivery(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("the receiver got %d deliveries, want %d", len(got), n)
		}
	}
}

// count is how many deliveries the receiver has had.
func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

// createWebhook adds an endpoint for url as the org key and returns it
// with its secret.
func createWebhook(t *testing.T, s *setup, url string, events ...string) service.WebhookWithSecret {
	t.Helper()
	var ep service.WebhookWithSecret
	s.ok(t, "POST", "/v1/org/webhooks", map[string]any{"url": url, "events": events, "description": "ops"}).want(t, 201).decode(t, &ep)
	return ep
}

// verified checks d's signature with the endpoint's secret at the test
// clock's time and returns its event.
func verified(t *testing.T, srv *kwtest.Server, secret string, d delivery) *webhooks.Event {
	t.Helper()
	v, err := webhooks.NewVerifier(secret, webhooks.WithClock(srv.Clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", d.ID)
	h.Set("webhook-timestamp", d.Timestamp)
	h.Set("webhook-signature", d.Signature)
	ev, err := v.Verify(h, d.Body)
	if err != nil {
		t.Fatalf("delivery %s does not verify: %v", d.ID, err)
	}
	return ev
}

func deliveriesOf(t *testing.T, s *setup, endpointID string) []keyward.WebhookDelivery {
	t.Helper()
	var page keyward.Page[keyward.WebhookDelivery]
	s.ok(t, "GET", "/v1/org/webhooks/"+endpointID+"/deliveries", nil).want(t, 200).decode(t, &page)
	return page.Data
}

// settled waits until the endpoint's newest delivery is no longer being
// attempted (its attempts reached n) and returns it.
func settled(t *testing.T, s *setup, endpointID string, attempts int) keyward.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := deliveriesOf(t, s, endpointID)
		if len(ds) > 0 && ds[0].Attempts >= attempts {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %+v: want the newest at %d attempts", ds, attempts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhookKeyEventsSignedAndWithoutSecrets: create, rotate and revoke
// send their events, signed with the endpoint's secret; no body holds a
// key's secret, and the endpoint's secret is shown only when made.
func TestWebhookKeyEventsSignedAndWithoutSecrets(t *testing.T) {
	s := newSetup(t)
	rcv := newReceiver(t)
	ep := createWebhook(t, s, rcv.URL+"/hook?token=abc")
	if !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Events) != len(keyward.EventTypes) || !ep.Enabled {
		t.Fatalf("created endpoint = %+v", ep.WebhookEndpoint)
	}
	for _, path := range []string{"/v1/org/webhooks", "/v1/org/webhooks/" + ep.ID} {
		if r := s.ok(t, "GET", path, nil).want(t, 200); strings.Contains(string(r.Body), ep.Secret) || strings.Contains(string(r.Body), `"secret"`) {
			t.Fatalf("GET %s shows the signing secret: %s", path, r.Body)
		}
	}

	var k keyward.Key
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "deploy"}).want(t, 201).decode(t, &k)
	var rotated keyward.Key // the new key
	r := s.pk(t, "POST", "/v1/keys/"+k.ID+"/rotate", map[string]any{"grace_period": "1h"}).want(t, 201)
	r.decode(t, &rotated)
	newSecret := rotated.Secret
	if newSecret == "" {
		t.Fatalf("rotate answer %s has no new secret", r.Body)
	}
	s.pk(t, "POST", "/v1/keys/"+rotated.ID+"/revoke", map[string]any{"reason": "done"}).want(t, 200)

	got := rcv.wait(t, 3)
	want := []string{keyward.EventKeyCreated, keyward.EventKeyRotated, keyward.EventKeyRevoked}
	for i, d := range got {
		ev := verified(t, s.srv, ep.Secret, d)
		if ev.Type != want[i] || !strings.HasPrefix(ev.ID, "msg_") {
			t.Fatalf("delivery %d: type %q id %q, want %q", i, ev.Type, ev.ID, want[i])
		}
		for _, secret := range []string{k.Secret, newSecret, ep.Secret} {
			if strings.Contains(string(d.Body), secret) {
				t.Fatalf("delivery %d body holds a secret: %s", i, d.Body)
			}
		}
	}
	key := func(d delivery, field string) map[string]any {
		m, _ := d.Event.Data[field].(map[string]any)
		return m
	}
	if key(got[0], "key")["id"] != k.ID || key(got[0], "key")["status"] != "active" {
		t.Errorf("key.created data = %v", got[0].Event.Data)
	}
	if key(got[1], "key")["id"] != k.ID || key(got[1], "new_key")["id"] != rotated.ID || key(got[1], "key")["status"] != "expiring" {
		t.Errorf("key.rotated data = %v", got[1].Event.Data)
	}
	if key(got[2], "key")["id"] != rotated.ID || got[2].Event.Data["reason"] != "done" || key(got[2], "key")["status"] != "revoked" {
		t.Errorf("key.revoked data = %v", got[2].Event.Data)
	}
	actor, _ := got[0].Event.Data["actor"].(map[string]any)
	if actor["type"] != keyward.ActorKey || actor["id"] != s.key.ID {
		t.Errorf("key.created actor = %v, want the project key", actor)
	}

	// The audit log records the endpoint, never its secret.
	audit := s.ok(t, "GET", "/v1/org/audit-events?action=webhook.", nil).want(t, 200)
	if !strings.Contains(string(audit.Body), ep.ID) || strings.Contains(string(audit.Body), ep.Secret) {
		t.Errorf("audit of webhook changes: %s", audit.Body)
	}
}

// TestWebhookSubscriptions: an endpoint gets only the types it subscribes
// to; a disabled one gets nothing and cannot be sent a test.
func TestWebhookSubscriptions(t *testing.T) {
	s := newSetup(t)
	revokes, off := newReceiver(t), newReceiver(t)
	onlyRevoked := createWebhook(t, s, revokes.URL, keyward.EventKeyRevoked)
	disabled := createWebhook(t, s, off.URL)
	s.ok(t, "PATCH", "/v1/org/webhooks/"+disabled.ID, map[string]any{"enabled": false}).want(t, 200)
	s.ok(t, "POST", "/v1/org/webhooks/"+disabled.ID+"/test", nil).wantError(t, 409, keyward.CodeConflict)

	var k keyward.Key
	s.pk(t, "POST", "/v1/keys", map[string]any{"name": "a"}).want(t, 201).decode(t, &k)
	s.pk(t, "POST", "/v1/keys/"+k.ID+"/revoke", map[string]any{}).want(t, 200)
	got := revokes.wait(t, 1)
	if ev := verified(t, s.srv, onlyRevoked.Secret, got[0]); ev.Type != keyward.EventKeyRevoked {
		t.Fatalf("the revocations-only endpoint got %q", ev.Type)
	}
	// A test event reaches the endpoint whatever it subscribes to, and
	// proves the disabled one got nothing in the meantime.
	s.ok(t, "POST", "/v1/org/webhooks/"+onlyRevoked.ID+"/test", nil).want(t, 202)
	got = revokes.wait(t, 2)
	if len(got) != 2 || got[1].Event.Type != keyward.EventWebhookTest {
		t.Fatalf("deliveries = %+v, want key.revoked then webhook.test", got)
	}
	if n := off.count(); n != 0 {
		t.Fatalf("the disabled endpoint got %d deliveries", n)
	}
}

// TestWebhookRetriesWithTheSameID: a failing endpoint is retried after a
// backoff, with the same webhook-id and body, until it answers 2xx; the
// delivery log shows each attempt's answer.
func TestWebhookRetriesWithTheSameID(t *testing.T) {
	s := newSetup(t)
	rcv := newReceiver(t)
	rcv.status.Store(500)
	ep := createWebhook(t, s, rcv.URL)
	s.ok(t, "POST", "/v1/org/webhooks/"+ep.ID+"/test", nil).want(t, 202)
	rcv.wait(t, 1)
	d := settled(t, s, ep.ID, 1)
	if d.Status != keyward.DeliveryPending || d.LastStatusCode != 500 || d.NextAttemptAt == nil || !strings.Contains(d.LastError, "500") {
		t.Fatalf("after a 500: %+v", d)
	}
	wait := d.NextAttemptAt.Sub(*d.LastAttemptAt)
	if wait < 3*time.Second || wait > 7*time.Second {
		t.Fatalf("first retry after %v, want about 5 s (±25%%)", wait)
	}
	if n := rcv.count(); n != 1 {
		t.Fatalf("retried before it was due: %d attempts", n)
	}
	rcv.status.Store(204)
	s.srv.Clock.Advance(wait)
	got := rcv.wait(t, 2)
	d = settled(t, s, ep.ID, 2)
	if d.Status != keyward.DeliverySucceeded || d.LastStatusCode != 204 || d.DeliveredAt == nil || d.NextAttemptAt != nil {
		t.Fatalf("after a 204: %+v", d)
	}
	if got[0].ID != got[1].ID || string(got[0].Body) != string(got[1].Body) {
		t.Fatalf("a retry changed the webhook-id or body: %q/%q", got[0].ID, got[1].ID)
	}
	verified(t, s.srv, ep.Secret, got[1])

	// Redeliver sends it again as a new delivery, same webhook-id.
	var again keyward.WebhookDelivery
	s.ok(t, "POST", "/v1/org/webhooks/"+ep.ID+"/deliveries/"+d.ID+"/redeliver", nil).want(t, 202).decode(t, &again)
	got = rcv.wait(t, 3)
	if again.ID == d.ID || again.MessageID != d.MessageID || got[2].ID != got[0].ID {
		t.Fatalf("redelivery %+v of %+v; webhook-ids %q, %q", again, d, got[2].ID, got[0].ID)
	}
	s.ok(t, "POST", "/v1/org/webhooks/"+ep.ID+"/deliveries/dlv_01JAAAAAAAAAAAAAAAAAAAAAAA/redeliver", nil).wantError(t, 404, keyward.CodeNotFound)
}

// TestWebhookGivesUpAfterTheRetryWindow: an endpoint that never answers
// 2xx is retried, with growing waits, for a day and then marked failed;
// nothing is sent after that.
func TestWebhookGivesUpAfterTheRetryWindow(t *testing.T) {
	s := newSetup(t)
	rcv := newReceiver(t)
	rcv.status.Store(503)
	ep := createWebhook(t, s, rcv.URL)
	s.ok(t, "POST", "/v1/org/webhooks/"+ep.ID+"/test", nil).want(t, 202)
	start := s.srv.Clock.Now()
	var waits []time.Duration
	for attempts := 1; ; attempts++ {
		d := settled(t, s, ep.ID, attempts)
		if d.Status == keyward.DeliveryFailed {
			if d.NextAttemptAt != nil || s.srv.Clock.Now().Before(start.Add(24*time.Hour)) {
				t.Fatalf("failed delivery %+v at %v", d, s.srv.Clock.Now())
			}
			break
		}
		if attempts > 40 {
			t.Fatalf("still %s after %d attempts", d.Status, attempts)
		}
		wait := d.NextAttemptAt.Sub(s.srv.Clock.Now())
		waits = append(waits, wait)
		s.srv.Clock.Advance(wait)
		s.srv.Outbox.Nudge()
	}
	if len(waits) < 8 || waits[1] <= waits[0] || waits[4] <= waits[1] {
		t.Fatalf("waits %v: want them to grow, over at least 8 retries", waits)
	}
	n := rcv.count()
	s.srv.Clock.Advance(48 * time.Hour)
	s.srv.Outbox.Nudge()
	// A later test event goes through the same worker: once it arrives,
	// the failed delivery has had its chance to be (wrongly) sent again.
	rcv.status.Store(200)
	s.ok(t, "POST", "/v1/org/webhooks/"+ep.ID+"/test", nil).want(t, 202)
	got := rcv.wait(t, n+1)
	if len(got) != n+1 || got[n].ID == got[0].ID {
		t.Fatalf("after failing: %d deliveries (want %d), last id %q", len(got), n+1, got[len(got)-1].ID)
	}
}

// TestWebhookAuthority: only org keys with the webhook scopes manage
// endpoints; project keys and other orgs' ids get nowhere.
func TestWebhookAuthority(t *testing.T) {
	s := newSetup(t)
	rcv := newReceiver(t)
	ep := createWebhook(t, s, rcv.URL)
	s.pk(t, "GET", "/v1/org/webhooks", nil).wantError(t, 403, keyward.CodePermissionDenied)

	mk := func(scopes ...string) string {
		var k keyward.Key
		s.ok(t, "POST", "/v1/org/keys", map[string]any{"name": "scoped", "scopes": scopes}).want(t, 201).decode(t, &k)
		return k.Secret
	}
	reader, other := mk(keyward.ScopeWebhooksRead), mk(keyward.ScopeKeysRead)
	as := func(key, method, path string, body any) *resp {
		return do(t, s.srv, method, path, body, "x-org-api-key", key)
	}
	as(reader, "GET", "/v1/org/webhooks", nil).want(t, 200)
	as(reader, "GET", "/v1/org/webhooks/"+ep.ID+"/deliveries", nil).want(t, 200)
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/org/webhooks"}, {"PATCH", "/v1/org/webhooks/" + ep.ID}, {"DELETE", "/v1/org/webhooks/" + ep.ID},
		{"POST", "/v1/org/webhooks/" + ep.ID + "/test"}, {"POST", "/v1/org/webhooks/" + ep.ID + "/rotate-secret"},
	} {
		as(reader, c.method, c.path, map[string]any{"url": rcv.URL}).wantError(t, 403, keyward.CodePermissionDenied)
	}
	as(other, "GET", "/v1/org/webhooks", nil).wantError(t, 403, keyward.CodePermissionDenied)
	s.ok(t, "GET", "/v1/org/webhooks/whk_01JAAAAAAAAAAAAAAAAAAAAAAA", nil).wantError(t, 404, keyward.CodeNotFound)

	// Rotating the secret: deliveries from then on verify with the new
	// one only.
	var rot service.WebhookWithSecret
	s.ok(t, "POST", "/v1/org/webhooks/"+ep.ID+"/rotate-secret", nil).want(t, 200).decode(t, &rot)
	if rot.Secret == ep.Secret || !strings.HasPrefix(rot.Secret, "whsec_") {
		t.Fatalf("rotated secret %q", rot.Secret)
	}
	before := len(rcv.wait(t, 2)) // the two org keys' key.created
	s.ok(t, "POST", "/v1/org/webhooks/"+ep.ID+"/test", nil).want(t, 202)
	d := rcv.wait(t, before+1)[before]
	if d.Event.Type != keyward.EventWebhookTest {
		t.Fatalf("delivery after rotation: %s", d.Body)
	}
	verified(t, s.srv, rot.Secret, d)
	old, _ := webhooks.NewVerifier(ep.Secret, webhooks.WithClock(s.srv.Clock.Now))
	h := http.Header{"Webhook-Id": {d.ID}, "Webhook-Timestamp": {d.Timestamp}, "Webhook-Signature": {d.Signature}}
	if _, err := old.Verify(h, d.Body); err == nil {
		t.Fatalf("a delivery after rotation verifies with the old secret")
	}
	s.ok(t, "DELETE", "/v1/org/webhooks/"+ep.ID, nil).want(t, 204)
	s.ok(t, "GET", "/v1/org/webhooks/"+ep.ID+"/deliveries", nil).wantError(t, 404, keyward.CodeNotFound)
}

// TestWebhookInputs: bad endpoints are refused with the field at fault,
// and a refused change writes nothing.
func TestWebhookInputs(t *testing.T) {
	s := newSetup(t)
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"url": ""}, "url"},
		{map[string]any{"url": "ftp://example.com/x"}, "url"},
		{map[string]any{"url": "/relative"}, "url"},
		{map[string]any{"url": "https://user:pw@example.com/x"}, "url"},
		{map[string]any{"url": "https://example.com/x#frag"}, "url"},
		{map[string]any{"url": "https://example.com/" + strings.Repeat("a", 2001)}, "url"},
		{map[string]any{"url": "https://example.com/x", "events": []string{"key.exploded"}}, "events"},
		{map[string]any{"url": "https://example.com/x", "events": []string{"key.created", "key.created"}}, "events"},
		{map[string]any{"url": "https://example.com/x", "description": "a\x00b"}, "description"},
		{map[string]any{"url": "https://example.com/x", "description": strings.Repeat("d", 501)}, "description"},
	} {
		e := s.ok(t, "POST", "/v1/org/webhooks", c.body).wantError(t, 400, keyward.CodeInvalidRequest)
		if len(e.Details) == 0 || e.Details[0].Field != c.field {
			t.Errorf("%v: details %+v, want field %s", c.body, e.Details, c.field)
		}
	}
	var page keyward.Page[keyward.WebhookEndpoint]
	s.ok(t, "GET", "/v1/org/webhooks", nil).want(t, 200).decode(t, &page)
	if len(page.Data) != 0 {
		t.Fatalf("refused creations left endpoints: %+v", page.Data)
	}
	for i := range service.MaxWebhooksPerOrg {
		s.ok(t, "POST", "/v1/org/webhooks", map[string]any{"url": fmt.Sprintf("https://example.com/%d", i)}).want(t, 201)
	}
	s.ok(t, "POST", "/v1/org/webhooks", map[string]any{"url": "https://example.com/one-more"}).wantError(t, 409, keyward.CodeConflict)
}

// TestWebhookPrivateAddressesRefused: by default (as keyward serve runs
// without --webhook-allow-private) an endpoint cannot point at loopback,
// private, link-local or reserved addresses, however they are written.
func TestWebhookPrivateAddressesRefused(t *testing.T) {
	srv := kwtest.NewServerStrict(t)
	s := &setup{srv: srv}
	for _, u := range []string{
		"http://127.0.0.1:8080/", "http://localhost/x", "http://LOCALHOST./x", "http://api.localhost/x",
		"http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://10.1.2.3/", "http://192.168.0.10/",
		"http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/",
		"http://100.64.0.1/", "http://0.0.0.0/", "http://[64:ff9b::a00:1]/", "http://[2002:7f00:1::]/",
	} {
		e := s.ok(t, "POST", "/v1/org/webhooks", map[string]any{"url": u}).wantError(t, 400, keyward.CodeInvalidRequest)
		if len(e.Details) == 0 || e.Details[0].Field != "url" || !strings.Contains(e.Details[0].Problem, "--webhook-allow-private") {
			t.Errorf("%s: %+v", u, e.Details)
		}
	}
	s.ok(t, "POST", "/v1/org/webhooks", map[string]any{"url": "https://hooks.example.com/keyward"}).want(t, 201)
	// A change of URL is held to the same rule.
	var page keyward.Page[keyward.WebhookEndpoint]
	s.ok(t, "GET", "/v1/org/webhooks", nil).want(t, 200).decode(t, &page)
	s.ok(t, "PATCH", "/v1/org/webhooks/"+page.Data[0].ID, map[string]any{"url": "http://127.0.0.1/"}).wantError(t, 400, keyward.CodeInvalidRequest)
}
