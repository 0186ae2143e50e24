package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest/faultnet"
)

// markEndpointRead names the connections on which a node has read a
// webhook endpoint by id: the delivery worker does so right after it
// claimed a delivery, before it posts.
const markEndpointRead = "endpoint-read"

// A node claims a delivery, then its database turns slow for that node
// (its read of the endpoint takes longer than the claim's lease). Another
// node takes the delivery over once the lease ends and delivers it; the
// first node must then not post it as well: a claim gives a delivery to
// one node at a time, and a node whose lease ran out no longer holds it.
//
// Node A reaches PostgreSQL through a proxy (internal/kwtest/faultnet)
// that slows the connection carrying its endpoint read; node B, started
// once A holds the claim, reaches it directly.
func TestWebhooksSlowDatabaseAfterClaim(t *testing.T) {
	const timeout = time.Second
	const lease = 2*timeout + 10*time.Second
	const slow = 8 * time.Second // each way: A's endpoint read takes 16 s, past the lease
	e := newWebhookEnv(t, "", timeout)
	rcv := newReceiver(t)
	u, err := url.Parse(e.database)
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultnet.Start(t, u.Host, faultnet.Mark{Name: markEndpointRead, Pattern: "FROM webhook_endpoints WHERE id"})
	u.Host = proxy.Addr()
	a := startNode(t, e.dir, 0, nodeSpec{database: u.String(), args: e.args})
	a.waitListening(t)
	waitHealthy(t, a)
	ctx := context.Background()
	orgA := orgClient(t, a.url, e.orgKey)
	p, err := orgA.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "Slow"})
	if err != nil {
		t.Fatal(err)
	}
	rcv.createEndpoint(t, a.url, e.orgKey, []string{keyward.EventKeyCreated})

	proxy.SetMark(markEndpointRead, faultnet.Delay(slow))
	want := map[string]bool{createKey(t, orgA.Org().ProjectKeys(p.ID), "slow"): true}
	claimed := waitClaimed(t, e.database, 10*time.Second)
	if proxy.Conns(markEndpointRead) == 0 {
		t.Fatal("node A claimed the delivery but read no endpoint through the proxy: nothing is slowed, nothing proven")
	}

	b := e.start(t, 1)[0] // as node 1
	if missing := rcv.waitCreated(want, lease+15*time.Second); missing != nil {
		t.Fatalf("the key.created event was not delivered within the lease (%v) and 15 s", lease)
	}
	proxy.ClearMark(markEndpointRead) // A's reads after the slow one are fast: whatever A does next, it does now
	var first receivedMessage
	for _, m := range rcv.snapshot() {
		first = m
	}
	if got := first.arrivals[0].Sub(claimed); got < lease-time.Second {
		t.Fatalf("the event arrived %v after node A's claim, before the lease (%v) ran out: node A was not slowed, nothing proven", got, lease)
	}
	// A graceful stop waits for A's attempt to end: if A posts after its
	// lease, the receiver has it before A exits.
	a.stop(t)
	b.stop(t)
	for id, m := range rcv.snapshot() {
		var after []string
		for _, at := range m.arrivals {
			after = append(after, at.Sub(claimed).Round(time.Millisecond).String())
		}
		t.Logf("message %s: requests %v after node A's claim (lease %v), %d answered 2xx", id, after, lease, m.answered)
	}
	rcv.check(t, want)
}

// waitClaimed waits until a node holds a claim on a delivery, read from
// the database, and returns when it saw it.
func waitClaimed(t *testing.T, database string, within time.Duration) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	conn, err := pgx.Connect(ctx, database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE claim <> ''`).Scan(&n)
		if err != nil {
			t.Fatalf("no delivery seen claimed within %v: %v", within, err)
		}
		if n > 0 {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond) // the claim has no signal outside the node
	}
}
