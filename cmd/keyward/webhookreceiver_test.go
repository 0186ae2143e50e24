package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward/client"
)

// A webhook receiver for the multi-node webhook tests: an HTTP server on
// loopback that checks every request's Standard Webhooks signature with
// its own code (crypto/hmac over "id.timestamp.body", not keyward's
// client/webhooks), and records, by webhook-id, what arrived and how it
// was answered.

// receivedMessage is what the receiver saw of one webhook-id.
type receivedMessage struct {
	typ      string // the body's "type"
	keyID    string // the body's data.key.id, for key events
	body     [32]byte
	arrivals []time.Time // of the validly signed requests
	requests int         // requests with this id and a valid signature
	answered int         // of those, answered 2xx by a handler that ran to its end
	failed   int         // of those, answered 503 on purpose (see receiver.failFirst)
	aborted  int         // held requests whose sender went away before an answer
}

// heldRequest is a request the receiver holds without answering.
type heldRequest struct {
	id, keyID string
	gone      chan struct{} // closed once the sender went away (or after a minute)
}

// receiver is the webhook endpoint.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	key      []byte // the HMAC key: the base64-decoded part of the whsec_ secret
	messages map[string]*receivedMessage
	problems []string // requests refused: bad signature, bad body (never the secret)
	// hold, when set, is asked about each valid request (under mu), with
	// the event's type and key name; the first it says yes to is held:
	// reported on held, never answered.
	hold func(typ, keyName string) bool
	held chan *heldRequest
	// arrived is signalled (without blocking) after every request.
	arrived chan struct{}
	// Set before the first request, when wanted: failFirst says which
	// messages get 503 at their first attempt (a retry must follow), and
	// delay how long a valid request waits before its answer (so that
	// attempts are in flight when something breaks).
	failFirst func(id string) bool
	delay     func() time.Duration
	inFlight  atomic.Int64 // valid requests not answered yet
}

// newReceiver starts a receiver, closed when the test ends.
func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{messages: map[string]*receivedMessage{}, held: make(chan *heldRequest, 1), arrived: make(chan struct{}, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// setSecret sets the endpoint's signing secret, "whsec_" and base64.
func (r *receiver) setSecret(t *testing.T, secret string) {
	t.Helper()
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		t.Fatal("the endpoint's secret does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		t.Fatal("the endpoint's secret is not whsec_ and base64")
	}
	r.mu.Lock()
	r.key = key
	r.mu.Unlock()
}

// sign is the Standard Webhooks signature of one request, computed here.
func sign(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// validSignature reports whether header (space-separated "v1,<base64>")
// holds the expected signature.
func validSignature(header, want string) bool {
	for _, s := range strings.Fields(header) {
		v, sig, ok := strings.Cut(s, ",")
		if ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	defer func() {
		select {
		case r.arrived <- struct{}{}:
		default:
		}
	}()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		r.problem("reading a body: %v", err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	unix, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || err != nil {
		r.problem("a request without webhook-id or with webhook-timestamp %q", ts)
		http.Error(w, "bad headers", http.StatusBadRequest)
		return
	}
	if d := time.Since(time.Unix(unix, 0)); d > 5*time.Minute || d < -5*time.Minute {
		r.problem("message %s: timestamp %d is %v away from now", id, unix, d)
		http.Error(w, "stale", http.StatusBadRequest)
		return
	}
	var msg struct {
		Type string `json:"type"`
		Data struct {
			Key struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"key"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type == "" {
		r.problem("message %s: body is not an event: %v", id, err)
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}

	r.mu.Lock()
	if r.key == nil || !validSignature(req.Header.Get("webhook-signature"), sign(r.key, id, ts, body)) {
		r.mu.Unlock()
		r.problem("message %s (%s): invalid signature", id, msg.Type)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	m := r.messages[id]
	sum := sha256.Sum256(body)
	if m == nil {
		m = &receivedMessage{typ: msg.Type, keyID: msg.Data.Key.ID, body: sum}
		r.messages[id] = m
	} else if m.body != sum {
		r.mu.Unlock()
		r.problem("message %s: a retry's body differs from the first attempt's", id)
		http.Error(w, "changed body", http.StatusBadRequest)
		return
	}
	m.requests++
	m.arrivals = append(m.arrivals, time.Now())
	var h *heldRequest
	if r.hold != nil && r.hold(msg.Type, msg.Data.Key.Name) {
		r.hold = nil
		h = &heldRequest{id: id, keyID: msg.Data.Key.ID, gone: make(chan struct{})}
	}
	fail := r.failFirst != nil && m.requests == 1 && r.failFirst(id)
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	r.mu.Unlock()

	if r.delay != nil {
		time.Sleep(r.delay()) // the receiver's own slowness, the point of delay
	}
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		r.mu.Lock()
		m.failed++
		r.mu.Unlock()
		return
	}
	if h != nil {
		r.held <- h
		// Held until the sender goes away (killed): a guard of a minute
		// keeps a test that never kills it from hanging.
		select {
		case <-req.Context().Done():
		case <-time.After(time.Minute):
		}
		r.mu.Lock()
		m.aborted++
		r.mu.Unlock()
		close(h.gone)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	r.mu.Lock()
	m.answered++
	r.mu.Unlock()
}

func (r *receiver) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// createdKeys returns the key ids of the key.created messages answered
// 2xx at least once.
func (r *receiver) createdKeys() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := map[string]bool{}
	for _, m := range r.messages {
		if m.typ == "key.created" && m.answered > 0 {
			got[m.keyID] = true
		}
	}
	return got
}

// waitCreated waits until a key.created message of every key in want was
// answered 2xx, and returns the ids still missing at the deadline.
func (r *receiver) waitCreated(want map[string]bool, within time.Duration) []string {
	deadline := time.After(within)
	for {
		got := r.createdKeys()
		var missing []string
		for id := range want {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-r.arrived:
		case <-time.After(500 * time.Millisecond): // a delivery that arrived before this wait began
		case <-deadline:
			sort.Strings(missing)
			return missing
		}
	}
}

// check fails the test for every refused request, every webhook-id
// answered 2xx more than once, and every key.created message for a key not
// in exist (exist nil: not checked); it logs what arrived.
func (r *receiver) check(t *testing.T, exist map[string]bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	requests, failed, types := 0, 0, map[string]int{}
	for id, m := range r.messages {
		requests += m.requests
		failed += m.failed
		types[m.typ]++
		if m.answered > 1 {
			t.Errorf("message %s (%s of key %s) was answered 2xx %d times: delivered more than once", id, m.typ, m.keyID, m.answered)
		}
		if exist != nil && m.typ == "key.created" && !exist[m.keyID] {
			t.Errorf("message %s reports the creation of key %s, which does not exist", id, m.keyID)
		}
	}
	for _, p := range r.problems {
		t.Errorf("receiver refused a request: %s", p)
	}
	t.Logf("receiver: %d messages (%v) in %d validly signed requests (%d answered 503 on purpose), %d refused",
		len(r.messages), types, requests, failed, len(r.problems))
}

// createEndpoint adds an endpoint for the receiver through the node at
// baseURL and gives the receiver its secret. events nil: every event type.
func (r *receiver) createEndpoint(t *testing.T, baseURL, orgKey string, events []string) string {
	t.Helper()
	var out struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	orgCall(t, http.MethodPost, baseURL+"/v1/org/webhooks", orgKey,
		map[string]any{"url": r.srv.URL + "/hooks", "events": events}, http.StatusCreated, &out)
	if out.ID == "" {
		t.Fatal("POST /v1/org/webhooks answered without an endpoint id")
	}
	r.setSecret(t, out.Secret)
	return out.ID
}

// orgCall makes one API call with the org key, fails the test unless it is
// answered want, and decodes the answer into out (when not nil).
func orgCall(t *testing.T, method, url, orgKey string, in any, want int, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-org-api-key", orgKey)
	res, err := probe.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2<<10))
		t.Fatalf("%s %s answered %d, not %d: %s", method, req.URL.Path, res.StatusCode, want, msg)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding the answer: %v", method, req.URL.Path, err)
		}
	}
}

// orgClient is a client of the org key through the node at url, without
// retries (a 503 must show).
func orgClient(t *testing.T, url, orgKey string) *client.Client {
	t.Helper()
	c, err := client.New(client.WithBaseURL(url), client.WithOrgAPIKey(orgKey), client.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// message returns a copy of what the receiver saw of webhook-id id.
func (r *receiver) message(id string) receivedMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.messages[id]; m != nil {
		c := *m
		c.arrivals = append([]time.Time(nil), m.arrivals...)
		return c
	}
	return receivedMessage{}
}

// snapshot returns copies of what the receiver saw, by webhook-id.
func (r *receiver) snapshot() map[string]receivedMessage {
	r.mu.Lock()
	ids := make([]string, 0, len(r.messages))
	for id := range r.messages {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	out := map[string]receivedMessage{}
	for _, id := range ids {
		out[id] = r.message(id)
	}
	return out
}
