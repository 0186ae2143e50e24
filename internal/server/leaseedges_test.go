package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/kwtest/faultnet"
	"github.com/keyward/keyward/internal/kwtest/instance"
	"github.com/keyward/keyward/internal/service"
)

// Edges of the cache lease (issue 18) that the three-process fault test
// does not reach: an SDK following a node that has gone blind, and
// verifications that read the store outside the key cache.

// startNodeOn serves a node on dbURL until the test ends.
func startNodeOn(t *testing.T, dbURL string) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := New(ctx, Config{Database: dbURL}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	url := serveLoopback(t, ctx, cancel, srv)
	cache := srv.Service.Cache()
	for deadline := time.Now().Add(10 * time.Second); !cache.Trusted(); {
		changed := cache.Changed()
		if cache.Trusted() {
			break
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			t.Fatal("the node never trusted its cache")
		}
	}
	return &node{srv: srv, url: url}
}

// twoNodes starts node a directly on a private PostgreSQL and node b
// through a proxy the test controls, and bootstraps the store.
func twoNodes(t *testing.T) (a, b *node, bdb *faultnet.Proxy, owner *service.Actor, where service.Where) {
	t.Helper()
	pg := instance.NewPostgres(t)
	bdb = faultnet.Start(t, pg.Addr(), faultnet.Mark{Name: "listen", Pattern: "LISTEN "})
	a = startNodeOn(t, "postgres://postgres@"+pg.Addr()+"/postgres?sslmode=disable")
	b = startNodeOn(t, "postgres://postgres@"+bdb.Addr()+"/postgres?sslmode=disable")
	t.Cleanup(func() { bdb.Set(faultnet.Pass) }) // so that b stops promptly
	ctx := context.Background()
	res, err := a.srv.Service.Bootstrap(ctx, service.BootstrapInput{OrgName: "Acme", Email: "o@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	owner = service.UserActor(res.User.ID, res.Org.ID, service.Origin{})
	p, err := a.srv.Service.CreateProject(ctx, owner, keyward.CreateProjectInput{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	return a, b, bdb, owner, service.Where{ProjectID: p.ID}
}

// An SDK following a node's change stream answers from its own memory
// while the stream says the node is live. A node cut off from its
// database (no feed, no reads of the change log) must stop saying so:
// otherwise the SDK keeps accepting a key revoked through another node
// for as long as it keeps the key (a minute by default).
func TestSDKStreamStopsBeingLiveWhenItsNodeIsBlind(t *testing.T) {
	a, b, bdb, owner, where := twoNodes(t)
	ctx := context.Background()
	lb, lc := startLocalCache(t, []*node{b}, owner, &keyward.Project{ID: where.ProjectID})
	k, err := a.srv.Service.CreateKey(ctx, owner, where, keyward.CreateKeyInput{Name: "customer"})
	if err != nil {
		t.Fatal(err)
	}
	in := keyward.VerifyInput{Key: k.Secret}
	for deadline := time.Now().Add(10 * time.Second); ; {
		before := lb.verifies.Load()
		v, err := lc.Verify(ctx, in)
		if err != nil || !v.Valid {
			t.Fatalf("Verify of a fresh key = %+v, %v", v, err)
		}
		if lb.verifies.Load() == before { // answered from memory
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the key was never answered from memory")
		}
	}

	bdb.Set(faultnet.Blackhole)
	if _, err := a.srv.Service.RevokeKey(ctx, owner, where, k.ID, keyward.RevokeInput{}); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	// The SDK's bound is not the node's (its stream is one more hop),
	// but it is short: the lease, a failed catch-up and a round trip.
	const bound = time.Second
	for {
		v, err := lc.Verify(ctx, in)
		if err != nil || !v.Valid {
			t.Logf("the SDK stopped accepting the key %v after the revoke returned (%v, %v)", time.Since(returned).Round(time.Millisecond), v, err)
			return
		}
		if time.Since(returned) > bound {
			t.Fatalf("the SDK still accepts a key revoked %v ago, from memory (live=%v), while its node cannot read the database", time.Since(returned).Round(time.Millisecond), lc.Live())
		}
		time.Sleep(10 * time.Millisecond) // polling the SDK, as an application does
	}
}

// A verification by a key that may not verify (no keys:verify scope) is
// refused after store reads and an audit write: they must end while the
// database hangs, like every other store call of a request.
func TestRefusedVerifyEndsWhileTheDatabaseHangs(t *testing.T) {
	a, b, bdb, owner, where := twoNodes(t)
	k, err := a.srv.Service.CreateKey(context.Background(), owner, where, keyward.CreateKeyInput{Name: "no verify", Scopes: []string{keyward.ScopeKeysRead}})
	if err != nil {
		t.Fatal(err)
	}
	post := func() (int, time.Duration) {
		req, _ := http.NewRequest("POST", b.url+"/v1/verify", bytes.NewBufferString(`{"key":"kwp_x"}`))
		req.Header.Set("x-api-key", k.Secret)
		req.Header.Set("Content-Type", "application/json")
		c := &http.Client{Timeout: 30 * time.Second} // a hang guard, far above any deadline
		start := time.Now()
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("POST /v1/verify: %v", err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, time.Since(start)
	}
	if code, _ := post(); code != http.StatusForbidden {
		t.Fatalf("a key without keys:verify verifying: %d, want 403", code)
	}
	bdb.Set(faultnet.Blackhole)
	code, took := post()
	t.Logf("with the database frozen: %d after %v", code, took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("a refused verification took %v with the database frozen", took)
	}
}
