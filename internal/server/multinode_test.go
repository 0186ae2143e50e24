package server

import (
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest"
	"github.com/keyward/keyward/internal/service"
)

// node is one keyward server of a multi-node test.
type node struct {
	srv *Server
	url string
	db  string // the cluster's database name
}

// newCluster starts n nodes on one fresh PostgreSQL database (with Redis
// as the feed when redisURL is set) and bootstraps it.
func newCluster(t *testing.T, n int, redisURL string) ([]*node, *service.BootstrapResult) {
	t.Helper()
	if os.Getenv("KEYWARD_TEST_POSTGRES") == "" {
		t.Skip("KEYWARD_TEST_POSTGRES not set: skipping the multi-node tests")
	}
	dbURL := kwtest.NewPostgresDatabase(t)
	ctx := context.Background()

	ctx, cancel := context.WithCancel(ctx)
	var nodes []*node
	var stopped []chan error
	t.Cleanup(func() {
		cancel()
		for _, c := range stopped {
			if err := <-c; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	})
	for i := 0; i < n; i++ {
		srv, err := New(ctx, Config{Database: dbURL, Redis: redisURL}, kwtest.Logger(t))
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, ln) }()
		stopped = append(stopped, done)
		nodes = append(nodes, &node{srv: srv, url: "http://" + ln.Addr().String(), db: dbName(dbURL)})
	}
	res, err := nodes[0].srv.Service.Bootstrap(ctx, service.BootstrapInput{OrgName: "Acme", Email: "o@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	// Wait until every node trusts its cache (feed up, log read).
	for _, nd := range nodes {
		cache := nd.srv.Service.Cache()
		timeout := time.After(10 * time.Second)
		for {
			changed := cache.Changed() // closed when trust (or the position) changes
			if cache.Trusted() {
				break
			}
			select {
			case <-changed:
			case <-timeout:
				t.Fatal("a node never trusted its cache")
			}
		}
	}
	return nodes, res
}

// dbName is the database a postgres:// URL names.
func dbName(url string) string {
	name, _, _ := strings.Cut(url[strings.LastIndex(url, "/")+1:], "?")
	return name
}

// warm asks node url until it accepts key (a node may fail closed with 503
// for a moment after losing its database connections).
func warm(t *testing.T, url, key string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := whoami(t, url, key)
		if got == 200 {
			return
		}
		if got != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("a fresh key got %d", got)
		}
	}
}

func whoami(t *testing.T, url, key string) int {
	t.Helper()
	return whoamiFrom(t, http.DefaultClient, url, key)
}

func whoamiFrom(t *testing.T, c *http.Client, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/whoami", nil)
	req.Header.Set("x-api-key", key)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// newLoopbackClient returns a client whose connections come from a random
// address of 127.0.0.0/8, so that the revoked keys each round presents
// are failures of a fresh client address: with Redis, the nodes share the
// failed-authentication throttle, and one address would be throttled
// (429) long before the rounds end, in this run or the next.
func newLoopbackClient(t *testing.T) *http.Client {
	var b [3]byte
	rand.Read(b[:])
	from := &net.TCPAddr{IP: net.IPv4(127, b[0], b[1], max(b[2], 2))}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{LocalAddr: from, Timeout: 5 * time.Second}).DialContext
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// propagation revokes keys through node 0 while the other nodes are asked
// continuously, and returns how long each other node kept accepting a key
// after the revoke returned. Node 0 must refuse it from the next request.
func propagation(t *testing.T, nodes []*node, res *service.BootstrapResult, rounds int, during func(round int)) []time.Duration {
	t.Helper()
	ctx := context.Background()
	owner := service.UserActor(res.User.ID, res.Org.ID, service.Origin{})
	p, err := nodes[0].srv.Service.CreateProject(ctx, owner, keyward.CreateProjectInput{Name: "P" + time.Now().Format("150405.000000")})
	if err != nil {
		t.Fatal(err)
	}
	var lags []time.Duration
	for r := 0; r < rounds; r++ {
		k, err := nodes[0].srv.Service.CreateKey(ctx, owner, service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "k"})
		if err != nil {
			t.Fatal(err)
		}
		for _, nd := range nodes { // warm every cache with the key
			warm(t, nd.url, k.Secret)
		}
		if during != nil {
			during(r)
		}
		if _, err := nodes[0].srv.Service.RevokeKey(ctx, owner, service.Where{ProjectID: p.ID}, k.ID, keyward.RevokeInput{}); err != nil {
			t.Fatal(err)
		}
		returned := time.Now()
		c := newLoopbackClient(t)
		if got := whoamiFrom(t, c, nodes[0].url, k.Secret); got != 401 {
			t.Fatalf("round %d: the node that revoked answered %d on the next request", r, got)
		}
		for i, nd := range nodes[1:] {
			for {
				got := whoamiFrom(t, c, nd.url, k.Secret)
				if got == 401 {
					lags = append(lags, time.Since(returned))
					break
				}
				// 503 is failing closed while a node re-establishes its
				// connections; only 200 (inside the bound) and 401 are
				// answers about the key.
				if got != 200 && got != http.StatusServiceUnavailable {
					t.Fatalf("round %d node %d: status %d", r, i+1, got)
				}
				if time.Since(returned) > 10*time.Second { // a hang guard, not a bound
					t.Fatalf("round %d node %d: still accepting a revoked key after 10 s", r, i+1)
				}
			}
			// Once refused, refused for good.
			if got := whoamiFrom(t, c, nd.url, k.Secret); got != 401 {
				t.Fatalf("round %d node %d: accepted a revoked key again (%d)", r, i+1, got)
			}
		}
	}
	return lags
}

func report(t *testing.T, name string, lags []time.Duration) {
	slices.Sort(lags)
	pct := func(p float64) time.Duration { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	t.Logf("%s: revocation propagation over %d samples: p50 %v, p99 %v, max %v", name, len(lags), pct(.5), pct(.99), lags[len(lags)-1])
}

func TestRevocationPropagatesAcrossNodes(t *testing.T) {
	nodes, res := newCluster(t, 3, "")
	report(t, "PostgreSQL LISTEN/NOTIFY", propagation(t, nodes, res, 30, nil))
}

func TestRevocationPropagatesOverRedis(t *testing.T) {
	redisURL := os.Getenv("KEYWARD_TEST_REDIS")
	if redisURL == "" {
		t.Skip("KEYWARD_TEST_REDIS not set: skipping the Redis feed test")
	}
	nodes, res := newCluster(t, 3, redisURL)
	report(t, "Redis pub/sub", propagation(t, nodes, res, 30, nil))
}

// Killing the nodes' LISTEN connections mid-run costs speed, never
// correctness: no node accepts a revoked key after it has refused it, and
// every node recovers (its feed up again) without a restart.
func TestFeedKilledMidRun(t *testing.T) {
	nodes, res := newCluster(t, 3, "")
	admin, err := pgx.Connect(context.Background(), os.Getenv("KEYWARD_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	lags := propagation(t, nodes, res, 10, func(round int) {
		if round%3 == 0 {
			if _, err := admin.Exec(context.Background(),
				`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'keyward-feed' AND datname = $1`, nodes[0].db); err != nil {
				t.Fatal(err)
			}
		}
	})
	report(t, "with LISTEN connections killed", lags)
	for i, nd := range nodes {
		deadline := time.Now().Add(10 * time.Second)
		for !nd.srv.Watcher.FeedsUp()["postgres"] {
			if time.Now().After(deadline) {
				t.Fatalf("node %d did not recover its feed", i)
			}
			time.Sleep(5 * time.Millisecond) // polling a state that has no signal of its own
		}
	}
}

// A database "restart" as the nodes see it: every connection to the
// cluster's database is cut at once (pool, LISTEN). No node may accept a
// revoked key afterwards, every node comes back by itself, and once its
// cache lease has lapsed with the database unreadable it answers 503, never
// 200.
func TestDatabaseConnectionsCutMidRun(t *testing.T) {
	nodes, res := newCluster(t, 3, "")
	admin, err := pgx.Connect(context.Background(), os.Getenv("KEYWARD_TEST_POSTGRES"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	db := nodes[0].db
	cut := func() {
		if _, err := admin.Exec(context.Background(),
			`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db); err != nil {
			t.Fatal(err)
		}
	}
	lags := propagation(t, nodes, res, 6, func(round int) {
		if round%2 == 0 {
			cut()
		}
	})
	report(t, "with every database connection cut", lags)

	// Fail closed: with the database unreachable for keyward (connections
	// refused: the database is renamed away) a key is never accepted.
	owner := service.UserActor(res.User.ID, res.Org.ID, service.Origin{})
	p, err := nodes[0].srv.Service.CreateProject(context.Background(), owner, keyward.CreateProjectInput{Name: "fail closed"})
	if err != nil {
		t.Fatal(err)
	}
	k, err := nodes[0].srv.Service.CreateKey(context.Background(), owner, service.Where{ProjectID: p.ID}, keyward.CreateKeyInput{Name: "k"})
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range nodes {
		if got := whoami(t, nd.url, k.Secret); got != 200 {
			t.Fatalf("before the outage: %d", got)
		}
	}
	if _, err := admin.Exec(context.Background(), "ALTER DATABASE "+db+" ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	cut()
	for i, nd := range nodes {
		// Within its lease the cache may still answer (the key is valid,
		// nothing changed); once the lease has lapsed it must say 503.
		deadline := time.Now().Add(10 * time.Second)
		for nd.srv.Service.Cache().LeaseHeld() {
			if time.Now().After(deadline) {
				t.Fatalf("node %d still holds its cache lease with the database gone", i)
			}
			time.Sleep(5 * time.Millisecond) // polling a state that has no signal of its own
		}
		if got := whoami(t, nd.url, k.Secret); got != http.StatusServiceUnavailable {
			t.Fatalf("node %d with the database gone: %d, want 503", i, got)
		}
		req, _ := http.NewRequest("GET", nd.url+"/readyz", nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("node %d /readyz with the database gone: %d", i, r.StatusCode)
		}
	}
	if _, err := admin.Exec(context.Background(), "ALTER DATABASE "+db+" ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	for i, nd := range nodes {
		deadline := time.Now().Add(15 * time.Second)
		for whoami(t, nd.url, k.Secret) != 200 || !nd.srv.Service.Cache().LeaseHeld() || !nd.srv.Watcher.FeedsUp()["postgres"] {
			if time.Now().After(deadline) {
				t.Fatalf("node %d did not recover after the database came back", i)
			}
			time.Sleep(20 * time.Millisecond) // polling a state that has no signal of its own
		}
	}
}
