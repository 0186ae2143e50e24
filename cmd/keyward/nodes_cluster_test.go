package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/redis/go-redis/v9"
)

// The multi-node tests run three real `keyward serve` processes on one
// fresh PostgreSQL database. This file starts, watches and stops them.

// testPepper is the digest pepper of every node: keys are found by their
// peppered digest, so the nodes must share it.
const testPepper = "multi-node test pepper"

// cluster is three keyward processes on one database, bootstrapped, with a
// project to make keys in.
type cluster struct {
	admin    string // URL of the PostgreSQL server's admin database (CREATE/DROP DATABASE, pg_stat_activity)
	db       string // the database's name, for pg_stat_activity
	redis    string // the nodes' Redis URL when Redis is the feed of every node
	nodes    []*node
	org      *client.Client   // management calls (create, revoke), through node 0
	orgs     []*client.Client // the same, through each node
	project  string
	verifier string // secret of a keys:verify key: the hammer's credential
}

// node is one keyward serve process.
type node struct {
	i    int
	url  string
	cmd  *exec.Cmd
	log  string        // file with everything the node wrote to stderr
	addr chan string   // the address from the "keyward listening" log line
	done chan struct{} // closed when the node's stderr ends (it exited)
	once sync.Once     // stop's: a test may stop a node before its cleanup does
}

// clusterSpec says where a cluster's nodes find PostgreSQL and Redis.
type clusterSpec struct {
	// admin is the URL of a database on the PostgreSQL server, from which
	// the cluster's own database is created; KEYWARD_TEST_POSTGRES when
	// empty (the test skips without it).
	admin string
	// redis is every node's Redis URL (Redis as the feed), or none.
	redis string
	// node, when set, says how node i reaches the cluster's database db
	// and Redis (through a proxy, say), and adds flags of its own.
	node func(i int, db string) nodeSpec
	// args are more flags for every node started without node.
	args []string
}

// nodeSpec is how one node is started.
type nodeSpec struct {
	database string   // --database
	redis    string   // --redis, or none
	args     []string // more flags for keyward serve
}

// newCluster starts three nodes on a new database of the shared test
// server (with Redis as the invalidation feed when redisURL is set),
// bootstraps it and waits until every node is ready and trusts its cache.
func newCluster(t *testing.T, redisURL string) *cluster {
	t.Helper()
	return newClusterOn(t, clusterSpec{redis: redisURL})
}

// newClusterOn is newCluster as spec says.
func newClusterOn(t *testing.T, spec clusterSpec) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the multi-node process tests")
	}
	if spec.admin == "" {
		spec.admin = os.Getenv("KEYWARD_TEST_POSTGRES")
		if spec.admin == "" {
			t.Skip("KEYWARD_TEST_POSTGRES not set: skipping the multi-node process tests")
		}
	}
	dir := t.TempDir() // first, so it is removed after the nodes have stopped
	c := &cluster{admin: spec.admin}
	dbURL := newDatabase(t, spec.admin, &c.db)
	if spec.redis != "" {
		// Named after the database, so that killRedisFeeds finds this
		// cluster's connections among those of other tests.
		u, err := url.Parse(spec.redis)
		if err != nil {
			t.Fatalf("KEYWARD_TEST_REDIS: %v", err)
		}
		q := u.Query()
		q.Set("client_name", c.db)
		u.RawQuery = q.Encode()
		c.redis = u.String()
	}

	out, err := runKeyward("bootstrap", "--org", "Acme", "--email", "owner@example.com", "--database", dbURL).Output()
	if err != nil {
		t.Fatalf("keyward bootstrap: %v %s", err, stderrOf(err))
	}
	var boot bootstrapOutput
	if err := json.Unmarshal(out, &boot); err != nil {
		t.Fatalf("bootstrap printed %q: %v", out, err)
	}

	for i := range 3 { // start all three, then wait: they start in parallel
		ns := nodeSpec{database: dbURL, redis: c.redis, args: spec.args}
		if spec.node != nil {
			ns = spec.node(i, dbURL)
		}
		c.nodes = append(c.nodes, startNode(t, dir, i, ns))
	}
	for _, n := range c.nodes {
		n.waitListening(t)
	}
	c.waitHealthy(t, 30*time.Second)

	for _, n := range c.nodes {
		org, err := client.New(client.WithBaseURL(n.url), client.WithOrgAPIKey(boot.OrgAPIKey),
			client.WithRetries(0)) // a 503 must show, not be retried away
		if err != nil {
			t.Fatal(err)
		}
		c.orgs = append(c.orgs, org)
	}
	c.org = c.orgs[0]
	ctx := context.Background()
	p, err := c.org.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "Procs"})
	if err != nil {
		t.Fatal(err)
	}
	c.project = p.ID
	v, err := c.org.Org().ProjectKeys(p.ID).Create(ctx, keyward.CreateKeyInput{Name: "verifier", Scopes: []string{"keys:verify"}})
	if err != nil {
		t.Fatal(err)
	}
	c.verifier = v.Secret
	return c
}

// newDatabase creates a database for one test on the server of base (the
// URL of another database there), drops it when the test ends (after the
// nodes have stopped: cleanups run last-in, first-out), and returns its
// URL.
func newDatabase(t *testing.T, base string, name *string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		t.Fatalf("KEYWARD_TEST_POSTGRES must be a postgres:// URL")
	}
	b := make([]byte, 6)
	rand.Read(b)
	*name = "keyward_procs_" + hex.EncodeToString(b)
	if err := adminExec(base, "CREATE DATABASE "+*name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := adminExec(base, "DROP DATABASE "+*name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping the test database: %v", err)
		}
	})
	u.Path = "/" + *name
	return u.String()
}

// adminExec runs one statement on the database of URL admin, on a
// connection of its own: a PostgreSQL restart breaks any kept connection.
func adminExec(admin, sql string, args ...any) error {
	_, err := adminQuery(admin, sql, args...)
	return err
}

// adminQuery is adminExec that returns the number of rows the statement
// returned or changed.
func adminQuery(admin, sql string, args ...any) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	tag, err := conn.Exec(ctx, sql, args...)
	return tag.RowsAffected(), err
}

// runKeyward returns a command that runs this test binary as keyward.
// Only the KEYWARD_* variables set here reach it, so that a developer's
// own KEYWARD_DATABASE or KEYWARD_REDIS cannot change what a test runs.
func runKeyward(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KEYWARD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envRunMain+"=1", "KEYWARD_KEY_PEPPER="+testPepper)
	dieWithParent(cmd)
	return cmd
}

func stderrOf(err error) string {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return string(ee.Stderr)
	}
	return ""
}

// startNode starts `keyward serve` on a free loopback port; the node's
// JSON log goes to a file in dir, and its address comes from the
// "keyward listening" line (see waitListening).
func startNode(t *testing.T, dir string, i int, ns nodeSpec) *node {
	t.Helper()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--database", ns.database, "--log-format", "json"}
	if ns.redis != "" {
		args = append(args, "--redis", ns.redis)
	}
	args = append(args, ns.args...)
	return startNodeCmd(t, dir, i, runKeyward(args...))
}

// startNodeCmd starts cmd, a `keyward serve` from runKeyward, as node i.
func startNodeCmd(t *testing.T, dir string, i int, cmd *exec.Cmd) *node {
	t.Helper()
	n := &node{i: i, cmd: cmd, log: filepath.Join(dir, fmt.Sprintf("node%d.log", i)),
		addr: make(chan string, 1), done: make(chan struct{})}
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(n.log)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go n.readLog(stderr, logf)
	t.Cleanup(func() { n.stop(t) })
	return n
}

// readLog copies the node's stderr to logf and reports the address it
// listens on, until the node exits.
func (n *node) readLog(stderr io.Reader, logf *os.File) {
	defer close(n.done)
	defer logf.Close()
	lines := bufio.NewScanner(stderr)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	found := false
	for lines.Scan() {
		fmt.Fprintf(logf, "%s\n", lines.Bytes())
		if found {
			continue
		}
		var l struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &l) == nil && l.Msg == "keyward listening" {
			n.addr <- l.Addr
			found = true
		}
	}
	_, _ = io.Copy(io.Discard, stderr) // a line over 1 MiB: keep the node unblocked
}

// waitListening waits for the node's "keyward listening" log line.
func (n *node) waitListening(t *testing.T) {
	t.Helper()
	select {
	case a := <-n.addr:
		n.url = "http://" + a
	case <-n.done:
		t.Fatalf("node %d exited before listening:\n%s", n.i, n.problems())
	case <-time.After(60 * time.Second): // a hang guard: migrations and start take well under a second
		t.Fatalf("node %d did not listen within a minute:\n%s", n.i, n.problems())
	}
}

// stop ends the node as an orchestrator would (SIGTERM: graceful shutdown)
// and fails the test unless it exits cleanly: a data race found by -race
// in the node, or a crash, shows up here.
func (n *node) stop(t *testing.T) {
	n.once.Do(func() { n.stopOnce(t) })
}

func (n *node) stopOnce(t *testing.T) {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second): // shutdown waits up to 10 s for requests in flight
		t.Errorf("node %d did not stop within 20 s of SIGTERM; killing it", n.i)
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	if err := n.cmd.Wait(); err != nil {
		t.Errorf("node %d exited with %v", n.i, err)
	}
	if t.Failed() {
		t.Logf("node %d log (warnings, errors and 5xx):\n%s", n.i, n.problems())
	}
}

// problems returns the node's log lines worth reading after a failure,
// the last 40 of them: everything but the request lines, and the request
// lines of answers other than 2xx, 4xx and 503 (failing closed is
// expected when the database goes away).
func (n *node) problems() string {
	b, _ := os.ReadFile(n.log)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		var r struct {
			Msg, Level string
			Status     int
		}
		if l == "" || json.Unmarshal([]byte(l), &r) == nil && r.Msg == "request" && (r.Status < 500 || r.Status == 503) {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep[max(0, len(keep)-40):], "\n")
}

// waitHealthy waits until every node answers /readyz with 200 and reports
// every feed up and its cache lease held: only then is a propagation
// measured through the feeds, rather than through store reads.
func (c *cluster) waitHealthy(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, n := range c.nodes {
		for !n.healthy() {
			if time.Now().After(deadline) {
				t.Fatalf("node %d not ready with its feeds up after %v:\n%s", n.i, within, n.problems())
			}
			time.Sleep(10 * time.Millisecond) // the state has no signal of its own to wait on
		}
	}
}

var probe = &http.Client{Timeout: 5 * time.Second}

func (n *node) healthy() bool {
	res, err := probe.Get(n.url + "/readyz")
	if err != nil {
		return false
	}
	defer res.Body.Close()
	var r struct {
		Feeds        map[string]string `json:"feeds"`
		CacheLeaseMS int64             `json:"cache_lease_ms"`
		ReadAgoMS    *int64            `json:"change_log_read_ago_ms"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&r) != nil || len(r.Feeds) == 0 ||
		r.ReadAgoMS == nil || *r.ReadAgoMS > 2*r.CacheLeaseMS { // reading its change log, under the lease
		return false
	}
	for _, state := range r.Feeds {
		if state != "up" {
			return false
		}
	}
	return true
}

// killFeeds ends the nodes' LISTEN connections (on this cluster's
// database only: other tests share the server) and returns how many it
// ended.
func (c *cluster) killFeeds(t *testing.T) int64 {
	n, err := adminQuery(c.admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND application_name = 'keyward-feed' AND pid <> pg_backend_pid()`, c.db)
	if err != nil {
		t.Errorf("killing the LISTEN connections: %v", err)
	}
	return n
}

// killRedisFeeds closes the nodes' Redis pub/sub connections (found by
// their client name: other tests share the server) and returns how many
// it closed.
func (c *cluster) killRedisFeeds(t *testing.T) int {
	opts, err := redis.ParseURL(c.redis)
	if err != nil {
		t.Fatal(err)
	}
	opts.ClientName = "" // this client is not one of the nodes'
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	list, err := rdb.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] != c.db {
			continue
		}
		if err := rdb.Do(ctx, "CLIENT", "KILL", "ID", fields["id"]).Err(); err != nil {
			t.Errorf("CLIENT KILL ID %s: %v", fields["id"], err)
			continue
		}
		killed++
	}
	return killed
}
