package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
)

// The hammer asks every node of a cluster, continuously, whether the
// current key is valid, and records each answer with the time it was sent
// and received. The tests revoke the current key (through node 0, unless
// they say otherwise) and read from the records when each node first
// refused it, and whether any node accepted a key after refusing it.
//
// It asks with POST /v1/verify, authenticated by a keys:verify key that
// stays valid: a backend checking the keys its own clients present, which
// is the same cache and the same lookup as /v1/whoami. Presenting the
// revoked keys themselves would count as failed authentications from
// 127.0.0.1 and get the address throttled (429) within seconds.

// workersPerNode is how many requests each node has in flight at any time.
const workersPerNode = 2

// outcome is a node's answer about a key.
type outcome uint8

const (
	accepted    outcome = iota // {"valid": true}
	refused                    // {"valid": false, "code": "INVALID"}
	unavailable                // 503 UNAVAILABLE: the node failing closed
)

func (o outcome) String() string { return [...]string{"accepted", "refused", "503"}[o] }

// answer is one request's record.
type answer struct {
	node      int
	sent, got time.Time
	out       outcome
}

// target is one key the hammer asks about, and every answer about it.
type target struct {
	id, secret string
	phase      string // which part of a test, for the report

	mu         sync.Mutex
	answers    []answer
	revokeSent time.Time // zero until revoked
	revoked    time.Time // when the revoke call returned
	via        int       // the node that revoked it

	acceptedBy, refusedBy  [3]chan struct{} // closed at each node's first such answer
	acceptOnce, refuseOnce [3]sync.Once
}

func newTarget(id, secret, phase string) *target {
	tg := &target{id: id, secret: secret, phase: phase}
	for i := range 3 {
		tg.acceptedBy[i] = make(chan struct{})
		tg.refusedBy[i] = make(chan struct{})
	}
	return tg
}

func (tg *target) record(a answer) {
	tg.mu.Lock()
	tg.answers = append(tg.answers, a)
	tg.mu.Unlock()
	switch a.out {
	case accepted:
		tg.acceptOnce[a.node].Do(func() { close(tg.acceptedBy[a.node]) })
	case refused:
		tg.refuseOnce[a.node].Do(func() { close(tg.refusedBy[a.node]) })
	}
}

type hammer struct {
	c        *cluster
	allow503 bool // a test that breaks the database expects nodes to fail closed
	hc       *http.Client
	current  atomic.Pointer[target]
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu       sync.Mutex
	all      []*target // every key asked about
	revoked  []*target // keys every node has refused: asked about now and then
	failures []string  // unexpected answers: any is a test failure
	failed   chan struct{}
}

// newHammer starts the workers on a first key and stops them when the
// test ends (before the nodes stop: cleanups run last-in, first-out).
func (c *cluster) newHammer(t *testing.T, allow503 bool) *hammer {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * workersPerNode
	h := &hammer{c: c, allow503: allow503, failed: make(chan struct{}),
		hc: &http.Client{Transport: tr, Timeout: 15 * time.Second}}
	k, err := c.org.Org().ProjectKeys(c.project).Create(context.Background(), keyward.CreateKeyInput{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	first := newTarget(k.ID, k.Secret, "")
	h.all = append(h.all, first)
	h.current.Store(first)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	for _, n := range c.nodes {
		for range workersPerNode {
			h.wg.Add(1)
			go h.work(ctx, n)
		}
	}
	t.Cleanup(h.stop)
	return h
}

func (h *hammer) stop() {
	h.cancel()
	h.wg.Wait()
	h.hc.CloseIdleConnections()
}

// work asks node n about the current key, and one time in four about a
// key revoked earlier, until ctx ends.
func (h *hammer) work(ctx context.Context, n *node) {
	defer h.wg.Done()
	for i := 0; ctx.Err() == nil; i++ {
		tg := h.current.Load()
		if i%4 == 3 {
			if old := h.randomRevoked(); old != nil {
				tg = old
			}
		}
		sent := time.Now()
		out, err := h.verify(ctx, n, tg.secret)
		got := time.Now()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			h.fail("node %d: %v", n.i, err)
			time.Sleep(10 * time.Millisecond) // do not spin on a broken node
			continue
		}
		tg.record(answer{node: n.i, sent: sent, got: got, out: out})
	}
}

func (h *hammer) randomRevoked() *target {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.revoked) == 0 {
		return nil
	}
	return h.revoked[rand.N(len(h.revoked))]
}

func (h *hammer) fail(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.failures) == 0 {
		close(h.failed)
	}
	if len(h.failures) < 20 {
		h.failures = append(h.failures, fmt.Sprintf(format, args...))
	}
}

// verify asks node n whether secret is valid. Any answer other than
// valid, INVALID, or (when allowed) 503 is an error: a 500, a 429, a
// dropped connection.
func (h *hammer) verify(ctx context.Context, n *node, secret string) (outcome, error) {
	body, _ := json.Marshal(keyward.VerifyInput{Key: secret})
	req, _ := http.NewRequestWithContext(ctx, "POST", n.url+"/v1/verify", bytes.NewReader(body))
	req.Header.Set("x-api-key", h.c.verifier)
	req.Header.Set("Content-Type", "application/json")
	res, err := h.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	switch {
	case res.StatusCode == 200:
		var v keyward.VerifyResult
		if err := json.Unmarshal(b, &v); err != nil {
			return 0, fmt.Errorf("verify: %w in %.200s", err, b)
		}
		if v.Valid {
			return accepted, nil
		}
		if v.Code == keyward.VerifyInvalid {
			return refused, nil
		}
	case res.StatusCode == http.StatusServiceUnavailable && h.allow503:
		return unavailable, nil
	}
	return 0, fmt.Errorf("verify: status %d %.200s", res.StatusCode, b)
}

// publish creates a fresh key through node 0, makes it the key the workers
// ask about, and waits until every node has accepted it (its cache holds
// it, unless the cache is off).
func (h *hammer) publish(t *testing.T, phase string) *target {
	t.Helper()
	k, err := h.c.org.Org().ProjectKeys(h.c.project).Create(context.Background(), keyward.CreateKeyInput{Name: "k"})
	if err != nil {
		t.Fatalf("creating a key: %v", err)
	}
	tg := newTarget(k.ID, k.Secret, phase)
	h.mu.Lock()
	h.all = append(h.all, tg)
	h.mu.Unlock()
	h.current.Store(tg)
	h.waitAll(t, tg.acceptedBy, "accept a new key")
	return tg
}

// revoke revokes tg through node 0, checks that node 0 refuses it on the
// very next request, and waits until every node has refused it. With
// retry, a 503 (the database just came back) is retried: revoking is
// idempotent.
func (h *hammer) revoke(t *testing.T, tg *target, retry bool) {
	t.Helper()
	h.revokeCall(t, tg, 0, retry)
	h.checkRevoker(t, tg)
	h.settle(t, tg)
}

// revokeCall revokes tg through node via and records when.
func (h *hammer) revokeCall(t *testing.T, tg *target, via int, retry bool) {
	t.Helper()
	keys := h.c.orgs[via].Org().ProjectKeys(h.c.project)
	sent := time.Now()
	for {
		_, err := keys.Revoke(context.Background(), tg.id, keyward.RevokeInput{})
		if err == nil {
			break
		}
		if !retry || !client.HasCode(err, keyward.CodeUnavailable) || time.Since(sent) > 30*time.Second {
			t.Fatalf("revoking through node %d: %v", via, err)
		}
		time.Sleep(20 * time.Millisecond) // the database is coming back; nothing to wait on
	}
	done := time.Now()
	tg.mu.Lock()
	tg.revokeSent, tg.revoked, tg.via = sent, done, via
	tg.mu.Unlock()
}

// checkRevoker checks that revocation is immediate: once the revoke call
// has returned, the node that answered accepts no request carrying the
// key.
func (h *hammer) checkRevoker(t *testing.T, tg *target) {
	t.Helper()
	out, err := h.verify(context.Background(), h.c.nodes[tg.via], tg.secret)
	if err != nil || out == accepted || (out == unavailable && !h.allow503) {
		t.Fatalf("node %d, on the first request after it revoked the key: %v %v", tg.via, out, err)
	}
}

// settle waits until every node has refused tg, then adds it to the
// revoked keys asked about now and then.
func (h *hammer) settle(t *testing.T, tg *target) {
	t.Helper()
	h.waitAll(t, tg.refusedBy, "refuse a revoked key")
	h.mu.Lock()
	h.revoked = append(h.revoked, tg)
	h.mu.Unlock()
}

// round is one measurement: a fresh key, accepted everywhere, revoked.
func (h *hammer) round(t *testing.T, phase string) {
	t.Helper()
	h.revoke(t, h.publish(t, phase), false)
}

// waitAll waits until every channel is closed.
func (h *hammer) waitAll(t *testing.T, chans [3]chan struct{}, what string) {
	t.Helper()
	guard := time.After(15 * time.Second) // a hang guard, not a bound
	for i, ch := range chans {
		select {
		case <-ch:
		case <-h.failed:
			h.mu.Lock()
			defer h.mu.Unlock()
			t.Fatalf("unexpected answers:\n%v", h.failures)
		case <-guard:
			t.Fatalf("node %d did not %s within 15 s:\n%s", i, what, h.c.nodes[i].problems())
		}
	}
}

// summary is what the hammer saw, once stopped.
type summary struct {
	lags     map[string][]time.Duration // per phase: revoke returned → first refusal, on the nodes that did not revoke
	answers  [3]int
	outages  [3][]time.Time // when each node answered 503
	accepted int            // answers "valid" about keys already revoked (allowed only inside the bound)
}

// finish stops the hammer and checks every answer against the guarantees
// of revocation (README, Running several nodes). Any violation fails the test.
func (h *hammer) finish(t *testing.T) summary {
	t.Helper()
	h.stop()
	for _, f := range h.failures {
		t.Errorf("unexpected answer: %s", f)
	}
	s := summary{lags: map[string][]time.Duration{}}
	var violations []string
	for _, tg := range h.all {
		var firstRefusal [3]time.Time
		for _, a := range tg.answers {
			if a.out == refused && (firstRefusal[a.node].IsZero() || a.got.Before(firstRefusal[a.node])) {
				firstRefusal[a.node] = a.got
			}
		}
		for _, a := range tg.answers {
			s.answers[a.node]++
			switch a.out {
			case unavailable:
				s.outages[a.node] = append(s.outages[a.node], a.got)
			case refused:
				if tg.revokeSent.IsZero() || a.got.Before(tg.revokeSent) {
					violations = append(violations, fmt.Sprintf("node %d refused key %s before it was revoked", a.node, tg.id))
				}
			case accepted:
				if !tg.revoked.IsZero() && a.sent.After(tg.revoked) {
					s.accepted++
				}
				if f := firstRefusal[a.node]; !f.IsZero() && a.sent.After(f) {
					violations = append(violations, fmt.Sprintf("node %d accepted key %s %v after it had refused it", a.node, tg.id, a.sent.Sub(f)))
				}
				if a.node == tg.via && !tg.revoked.IsZero() && a.sent.After(tg.revoked) {
					violations = append(violations, fmt.Sprintf("node %d accepted key %s %v after its revoke returned", a.node, tg.id, a.sent.Sub(tg.revoked)))
				}
			}
		}
		if tg.revoked.IsZero() {
			continue
		}
		for node := range 3 {
			if node != tg.via {
				s.lags[tg.phase] = append(s.lags[tg.phase], max(firstRefusal[node].Sub(tg.revoked), 0))
			}
		}
	}
	for _, v := range violations[:min(len(violations), 20)] {
		t.Error(v)
	}
	if len(violations) > 0 {
		t.Errorf("%d requests broke the revocation guarantees", len(violations))
	}
	t.Logf("answers per node: %v; accepted after a revoke returned, before that node first refused (inside the propagation bound): %d", s.answers, s.accepted)
	return s
}

// report prints the propagation percentiles: lags are from the revoke
// call's return to the first refusing answer's arrival on the nodes that
// did not revoke the key, so they include one request's round trip. Also
// to stdout, for CI logs.
func report(t *testing.T, name string, lags []time.Duration) percentiles {
	t.Helper()
	if len(lags) == 0 {
		t.Fatalf("%s: no samples", name)
	}
	slices.Sort(lags)
	rank := func(p float64) time.Duration { // nearest rank
		return lags[max(0, int(float64(len(lags))*p+0.999999)-1)]
	}
	p := percentiles{len(lags), rank(.50), rank(.99), lags[len(lags)-1]}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	line := fmt.Sprintf("revocation propagation, %s: %d samples: p50 %v, p99 %v, max %v",
		name, len(lags), r(p.p50), r(p.p99), r(p.max))
	t.Log(line)
	fmt.Println(line)
	return p
}

type percentiles struct {
	n             int
	p50, p99, max time.Duration
}

// checkBound fails on a gross excess only. Propagation is measured and
// reported (docs/performance.md), not asserted: these tests run with -race,
// three keyward processes and the hammer on a shared 2-core machine next to
// other test packages, where scheduling alone delays a request by tens of
// milliseconds, sometimes hundreds. What they must catch is a feed that is
// "up" but does not deliver: the feed tests start their nodes with a 2 s
// cache lease (feedsOnly), so that only reading the change log when the
// lease runs out would then propagate, with a median lag near 1 s. (The
// bound that holds whatever fails, the lease, is TestNodesFaults'.) The
// p99 is checked only with 100 samples or more, where it is not simply the
// slowest one.
func checkBound(t *testing.T, p percentiles) {
	t.Helper()
	if p.p50 > 250*time.Millisecond || (p.n >= 100 && p.p99 > time.Second) {
		t.Errorf("propagation p50 %v, p99 %v over %d samples: the feed does not seem to deliver (target p99 100 ms; failing above p50 250 ms or p99 1 s)", p.p50, p.p99, p.n)
	}
}
