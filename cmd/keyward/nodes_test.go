package main

import (
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Multi-node tests on real processes (issue 4): three `keyward serve` on
// one PostgreSQL database, asked continuously about a key, which is then
// revoked through node 0. Node 0 must refuse it from the next request, the
// others within the propagation bound, and no node may accept a key it has
// refused once. The helpers are in nodes_cluster_test.go (processes) and
// nodes_load_test.go (requests and checks); the PostgreSQL restart is in
// nodes_restart_test.go.

// rounds is how many keys a plain variant revokes: two samples each (nodes
// 1 and 2), enough for a p99 that is not just the maximum.
const rounds = 100

// feedsOnly starts the nodes with a cache lease far longer than any
// propagation through a working feed: a feed that is up but delivers
// nothing then shows as a median lag near a second, which checkBound
// catches, instead of hiding under the default lease (100 ms).
var feedsOnly = []string{"--cache-lease", "2s"}

func TestNodesPostgresNotify(t *testing.T) {
	c := newClusterOn(t, clusterSpec{args: feedsOnly})
	h := c.newHammer(t, false)
	for range rounds {
		h.round(t, "notify")
	}
	s := h.finish(t)
	checkBound(t, report(t, "PostgreSQL LISTEN/NOTIFY", s.lags["notify"]))
	reportAcceptance(t, h, "notify")
}

// The Redis variant also closes the nodes' pub/sub connections twice
// mid-run (the same guarantees as TestNodesFeedKilled), and checks that a
// quiet feed stays up: nothing is published for a few seconds at the end.
func TestNodesRedis(t *testing.T) {
	redisURL := os.Getenv("KEYWARD_TEST_REDIS")
	if redisURL == "" {
		t.Skip("KEYWARD_TEST_REDIS not set: skipping the multi-node Redis feed test")
	}
	c := newClusterOn(t, clusterSpec{redis: redisURL, args: feedsOnly})
	h := c.newHammer(t, false)
	for r := range rounds {
		if r == rounds/3 || r == 2*rounds/3 {
			n := c.killRedisFeeds(t)
			if n == 0 {
				t.Fatal("no Redis feed connection was closed: did CLIENT LIST find the nodes' subscriptions?")
			}
			t.Logf("round %d: %d Redis feed connections closed", r, n)
		}
		h.round(t, "redis")
	}
	s := h.finish(t)
	checkBound(t, report(t, "Redis pub/sub, its connections closed twice", s.lags["redis"]))
	reportAcceptance(t, h, "redis")

	// A feed that hears nothing for a while is still up. (It once went
	// down after two quiet seconds and stayed down: every node read the
	// database for every request until restarted.) Other tests may publish
	// on the shared channel meanwhile, which can hide such a bug but not
	// fake one.
	// The wait after it is generous: a feed may drop and come back under
	// load, but the bug kept it down for good.
	time.Sleep(3 * time.Second) // the quiet spell itself; nothing to wait for
	c.waitHealthy(t, 10*time.Second)
}

// The nodes' LISTEN connections are killed every 50 to 250 ms while keys
// are revoked, so kills land before, during and after revokes. That costs
// speed, never correctness: no node accepts a key it has refused, and once
// the kills stop every node is ready again, its feed up, and propagates
// as before, without a restart.
func TestNodesFeedKilled(t *testing.T) {
	c := newCluster(t, "")
	h := c.newHammer(t, false) // the pool is untouched: no 503 expected
	var kills atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(50+rand.N(200)) * time.Millisecond):
				kills.Add(c.killFeeds(t))
			}
		}
	}()
	for range rounds / 2 {
		h.round(t, "killed")
	}
	close(stop)
	wg.Wait()
	if kills.Load() == 0 {
		t.Fatal("no LISTEN connection was killed: did the query find the nodes' feeds?")
	}
	t.Logf("%d LISTEN connections killed", kills.Load())

	c.waitHealthy(t, 15*time.Second)
	for range rounds / 4 {
		h.round(t, "recovered")
	}
	s := h.finish(t)
	report(t, "LISTEN connections killed every 50-250 ms", s.lags["killed"])
	checkBound(t, report(t, "after the kills stopped", s.lags["recovered"]))
}
