package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest/instance"
)

// Webhook delivery across real processes: `keyward serve` nodes on one
// PostgreSQL database, each running its delivery worker, post to a
// receiver on loopback (webhookreceiver_test.go) that checks every
// signature with its own code. Whatever happens to a node or to the
// database, every committed change's event arrives, validly signed, and no
// message is answered 2xx twice.

// webhookEnv is a bootstrapped database and the nodes started on it.
type webhookEnv struct {
	dir      string
	database string // the nodes' --database
	orgKey   string
	args     []string // serve flags of every node
	started  int
}

// newWebhookEnv creates and bootstraps a database on the PostgreSQL server
// of admin (KEYWARD_TEST_POSTGRES when empty); its nodes deliver webhooks
// to loopback, each attempt bounded by timeout.
func newWebhookEnv(t *testing.T, admin string, timeout time.Duration) *webhookEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the multi-node webhook tests")
	}
	if admin == "" {
		admin = os.Getenv("KEYWARD_TEST_POSTGRES")
		if admin == "" {
			t.Skip("KEYWARD_TEST_POSTGRES not set: skipping the multi-node webhook tests")
		}
	}
	e := &webhookEnv{dir: t.TempDir(), // first, so it is removed after the nodes have stopped
		args: []string{"--webhook-allow-private", "--webhook-timeout", timeout.String()}}
	var name string
	e.database = newDatabase(t, admin, &name)
	out, err := runKeyward("bootstrap", "--org", "Acme", "--email", "owner@example.com", "--database", e.database).Output()
	if err != nil {
		t.Fatalf("keyward bootstrap: %v %s", err, stderrOf(err))
	}
	var boot bootstrapOutput
	if err := json.Unmarshal(out, &boot); err != nil || boot.OrgAPIKey == "" {
		t.Fatalf("keyward bootstrap printed no org key: %v", err)
	}
	e.orgKey = boot.OrgAPIKey
	return e
}

// start starts n more nodes at once and waits until each listens.
func (e *webhookEnv) start(t *testing.T, n int) []*node {
	t.Helper()
	ns := e.launch(t, n)
	for _, nd := range ns {
		nd.waitListening(t)
	}
	return ns
}

// launch starts n more nodes at once, without waiting for them.
func (e *webhookEnv) launch(t *testing.T, n int) []*node {
	t.Helper()
	var ns []*node
	for range n {
		ns = append(ns, startNode(t, e.dir, e.started, nodeSpec{database: e.database, args: e.args}))
		e.started++
	}
	return ns
}

// waitHealthy waits until each node is ready with its feed up.
func waitHealthy(t *testing.T, nodes ...*node) {
	t.Helper()
	(&cluster{nodes: nodes}).waitHealthy(t, 30*time.Second)
}

// killNode ends the node with SIGKILL, as a crash would: no graceful
// shutdown, nothing in flight finished or recorded.
func killNode(n *node) {
	n.once.Do(func() {
		_ = n.cmd.Process.Kill()
		<-n.done
		_ = n.cmd.Wait() // "signal: killed", as meant
	})
}

// raiseKeyLimit lets a project hold many keys (100 by default).
func (e *webhookEnv) raiseKeyLimit(t *testing.T, url string) {
	t.Helper()
	orgCall(t, http.MethodPatch, url+"/v1/org/settings", e.orgKey, map[string]any{"max_keys_per_project": 100000}, http.StatusOK, nil)
}

// createKey creates a key named name in the project and returns its id.
func createKey(t *testing.T, keys interface {
	Create(context.Context, keyward.CreateKeyInput) (*keyward.Key, error)
}, name string) string {
	t.Helper()
	k, err := keys.Create(context.Background(), keyward.CreateKeyInput{Name: name, Scopes: []string{keyward.ScopeKeysRead}})
	if err != nil {
		t.Fatalf("creating key %s: %v", name, err)
	}
	return k.ID
}

// waitSucceeded waits until the endpoint's delivery log, read through the
// node at url, shows want deliveries, all succeeded, and returns it.
func (e *webhookEnv) waitSucceeded(t *testing.T, url, endpoint string, want int, within time.Duration) []keyward.WebhookDelivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var page keyward.Page[keyward.WebhookDelivery]
		orgCall(t, http.MethodGet, url+"/v1/org/webhooks/"+endpoint+"/deliveries?limit=100", e.orgKey, nil, http.StatusOK, &page)
		byStatus := map[string]int{}
		for _, d := range page.Data {
			byStatus[d.Status]++
		}
		if len(page.Data) == want && byStatus[keyward.DeliverySucceeded] == want {
			return page.Data
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery log shows %d deliveries by status %v after %v; want %d, all succeeded", len(page.Data), byStatus, within, want)
		}
		time.Sleep(100 * time.Millisecond) // the log has no signal to wait on
	}
}

// A node is killed (SIGKILL) while the receiver holds its attempt at a
// delivery: the node had claimed it, posted it, and will never record the
// result. Another node must deliver it once the claim's lease ends, while
// the other events keep flowing through the nodes left.
//
// Node A is started alone, so it is the one that claims the held delivery;
// nodes B and C are launched while A's attempt hangs, and A is killed at
// once.
func TestWebhooksNodeKilledMidDelivery(t *testing.T) {
	// The attempt must still hang when A is killed (A gives up after the
	// timeout). A claim lasts 2×timeout+10s.
	const timeout = 3 * time.Second
	const lease = 2*timeout + 10*time.Second
	e := newWebhookEnv(t, "", timeout)
	rcv := newReceiver(t)
	a := e.start(t, 1)[0]
	waitHealthy(t, a)
	ctx := context.Background()
	orgA := orgClient(t, a.url, e.orgKey)
	p, err := orgA.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "Hooks"})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := rcv.createEndpoint(t, a.url, e.orgKey, []string{keyward.EventKeyCreated})

	// A first key, delivered by A as usual: the way to the receiver works.
	want := map[string]bool{createKey(t, orgA.Org().ProjectKeys(p.ID), "first"): true}
	if missing := rcv.waitCreated(want, 15*time.Second); missing != nil {
		t.Fatalf("the first key's key.created was not delivered within 15 s by the only node")
	}

	rcv.mu.Lock()
	rcv.hold = func(typ, name string) bool { return typ == keyward.EventKeyCreated && name == "held" }
	rcv.mu.Unlock()
	heldKey := createKey(t, orgA.Org().ProjectKeys(p.ID), "held")
	want[heldKey] = true
	var h *heldRequest
	select {
	case h = <-rcv.held:
	case <-time.After(15 * time.Second):
		t.Fatal("the held key's key.created did not reach the receiver within 15 s")
	}
	if h.keyID != heldKey {
		t.Fatalf("the receiver held an event of key %s, not of the key named held (%s)", h.keyID, heldKey)
	}
	heldAt := time.Now()

	others := e.launch(t, 2)
	select {
	case <-h.gone:
		t.Fatalf("node A gave up the held attempt before it was killed (--webhook-timeout %v ran out, %v): nothing is proven; raise the timeout",
			timeout, time.Since(heldAt).Round(time.Millisecond))
	default:
	}
	killNode(a)
	select {
	case <-h.gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the held request's connection stayed open 5 s after node A was killed: was A delivering it?")
	}
	t.Logf("node A killed %v after its attempt reached the receiver", time.Since(heldAt).Round(time.Millisecond))
	for _, nd := range others {
		nd.waitListening(t)
	}
	waitHealthy(t, others...)

	// More keys through B and C, concurrently, while the held delivery
	// waits out its lease.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, nd := range others {
		keys := orgClient(t, nd.url, e.orgKey).Org().ProjectKeys(p.ID)
		wg.Go(func() {
			for j := range 10 {
				id := createKey(t, keys, fmt.Sprintf("after-%d-%d", i, j))
				mu.Lock()
				want[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if missing := rcv.waitCreated(want, lease+15*time.Second); missing != nil {
		rcv.check(t, want)
		t.Fatalf("%d of %d key.created events never delivered (2xx) within the lease (%v) and 15 s: %v", len(missing), len(want), lease, missing)
	}
	m := rcv.message(h.id)
	if m.aborted != 1 || m.answered != 1 || len(m.arrivals) < 2 {
		t.Errorf("held message %s: %d requests, %d held and abandoned, %d answered 2xx; want at least 2, 1 and 1", h.id, len(m.arrivals), m.aborted, m.answered)
	} else {
		t.Logf("held message %s: sent again %v after node A's attempt (lease %v), %d requests in all",
			h.id, m.arrivals[1].Sub(m.arrivals[0]).Round(time.Millisecond), lease, len(m.arrivals))
	}
	rcv.check(t, want)

	// The delivery log agrees: every delivery succeeded, the held one with
	// the receiver's answer to B or C.
	for _, d := range e.waitSucceeded(t, others[0].url, endpoint, len(want), 10*time.Second) {
		if d.MessageID == h.id && d.LastStatusCode != http.StatusNoContent {
			t.Errorf("the held delivery's log shows status code %d, not 204", d.LastStatusCode)
		}
	}
}

// A burst of concurrent key creations through three nodes while their
// private PostgreSQL server restarts (fast shutdown, then start). Some
// calls fail; afterwards every key that exists got its key.created
// delivered, validly signed; no key.created was delivered for a key that
// does not exist; every 201 names a key that exists; and no message was
// answered 2xx twice.
func TestWebhooksPostgresRestartDuringBurst(t *testing.T) {
	pg := instance.NewPostgres(t)
	e := newWebhookEnv(t, pg.URL("postgres"), 2*time.Second)
	rcv := newReceiver(t)
	// Answers take up to 150 ms, so that attempts are in flight when the
	// server goes down (their results recorded only once it is back); one
	// message in eight is refused at its first attempt, so that retries
	// are scheduled across the restart too.
	rcv.delay = func() time.Duration { return rand.N(150 * time.Millisecond) }
	rcv.failFirst = func(id string) bool { return sha256.Sum256([]byte(id))[0]%8 == 0 }
	nodes := e.start(t, 3)
	waitHealthy(t, nodes...)
	ctx := context.Background()
	org := orgClient(t, nodes[0].url, e.orgKey)
	p, err := org.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "Burst"})
	if err != nil {
		t.Fatal(err)
	}
	e.raiseKeyLimit(t, nodes[0].url)
	rcv.createEndpoint(t, nodes[0].url, e.orgKey, []string{keyward.EventKeyCreated})

	const (
		workers = 6                     // two per node
		pace    = 25 * time.Millisecond // between one worker's calls
		phase   = 150                   // 201s before the restart, and again after it
	)
	var (
		mu       sync.Mutex
		created  = map[string]bool{} // ids answered 201
		failed   = map[string]int{}  // failures by status
		seq      atomic.Int64
		oks      atomic.Int64
		before   = make(chan struct{}) // closed at phase 201s
		after    = make(chan struct{}) // closed at phase 201s after the restart
		restart  atomic.Int64          // oks when the restart ended; 0 before
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		stopOnce sync.Once
		doneOnce sync.Once
	)
	for w := range workers {
		keys := orgClient(t, nodes[w%len(nodes)].url, e.orgKey).Org().ProjectKeys(p.ID)
		wg.Go(func() {
			tick := time.NewTicker(pace)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				name := "burst-" + strconv.FormatInt(seq.Add(1), 10)
				k, err := keys.Create(ctx, keyward.CreateKeyInput{Name: name, Scopes: []string{keyward.ScopeKeysRead}})
				mu.Lock()
				if err == nil {
					created[k.ID] = true
				} else if ke, ok := errors.AsType[*keyward.Error](err); ok && ke.Status != 0 {
					failed[strconv.Itoa(ke.Status)]++
				} else {
					failed["no answer"]++
				}
				mu.Unlock()
				if err != nil {
					continue
				}
				n := oks.Add(1)
				if n == phase {
					close(before)
				}
				if r := restart.Load(); r > 0 && n >= r+phase {
					doneOnce.Do(func() { close(after) })
				}
			}
		})
	}
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt()

	select {
	case <-before:
	case <-time.After(20 * time.Second):
		t.Fatalf("only %d keys created in 20 s before the restart", oks.Load())
	}
	down, inFlight := time.Now(), rcv.inFlight.Load()
	pg.Restart(t)
	restart.Store(oks.Load())
	t.Logf("PostgreSQL restarted in %v, %d keys created before, %d attempts in flight at the receiver as it went down",
		time.Since(down).Round(time.Millisecond), restart.Load(), inFlight)
	select {
	case <-after:
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d keys created in the 30 s after the restart (%d before)", oks.Load()-restart.Load(), restart.Load())
	}
	halt()
	t.Logf("burst: %d calls, %d answered 201, failures by status %v", seq.Load(), len(created), failed)
	if len(failed) == 0 {
		t.Error("no call failed: the restart did not touch the burst")
	}
	for status := range failed {
		if status != "503" && status != "no answer" {
			t.Errorf("%d calls answered %s during the restart; want 201, 503 or no answer", failed[status], status)
		}
	}

	exist := projectKeys(t, e.database, p.ID)
	var lost []string
	for id := range created {
		if !exist[id] {
			lost = append(lost, id)
		}
	}
	if lost != nil {
		sort.Strings(lost)
		t.Errorf("%d keys answered 201 do not exist: %v", len(lost), lost)
	}
	t.Logf("%d keys exist, %d of them without a 201 answer (the answer was lost)", len(exist), len(exist)-len(created)+len(lost))

	// A delivery claimed as the server went down is retried only once its
	// lease (2×2s+10s) runs out; one refused is retried after about 5 s.
	if missing := rcv.waitCreated(exist, 40*time.Second); missing != nil {
		t.Errorf("%d of %d existing keys' key.created never delivered (2xx) within 40 s: %v", len(missing), len(exist), missing)
	}
	rcv.check(t, exist)
}

// projectKeys returns the ids of the project's keys, read from the
// database.
func projectKeys(t *testing.T, database, project string) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT id FROM keys WHERE project_id = $1`, project)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	exist := map[string]bool{}
	for _, id := range ids {
		exist[id] = true
	}
	return exist
}
