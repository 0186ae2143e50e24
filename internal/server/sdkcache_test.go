package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/keyward/keyward/internal/service"
)

// roundRobin is a load balancer in front of the nodes: each request (the
// SDK's change stream included) goes to the next node. It counts verify
// calls.
type roundRobin struct {
	*httptest.Server
	verifies atomic.Int64
}

func newRoundRobin(t *testing.T, nodes []*node) *roundRobin {
	t.Helper()
	var next atomic.Int64
	proxies := make([]*httputil.ReverseProxy, len(nodes))
	for i, nd := range nodes {
		u, _ := url.Parse(nd.url)
		proxies[i] = httputil.NewSingleHostReverseProxy(u)
		proxies[i].FlushInterval = -1
	}
	rr := &roundRobin{}
	rr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/verify" {
			rr.verifies.Add(1)
		}
		proxies[int(next.Add(1))%len(proxies)].ServeHTTP(w, r)
	}))
	t.Cleanup(rr.Close)
	return rr
}

// startLocalCache runs the SDK's LocalCache, with a keys:verify key of
// project p, behind a round-robin balancer over nodes, until the test ends.
func startLocalCache(t *testing.T, nodes []*node, owner *service.Actor, p *keyward.Project) (*roundRobin, *client.LocalCache) {
	t.Helper()
	sdkKey, err := nodes[0].srv.Service.CreateKey(context.Background(), owner, service.Where{ProjectID: p.ID},
		keyward.CreateKeyInput{Name: "backend", Scopes: []string{keyward.ScopeKeysVerify}})
	if err != nil {
		t.Fatal(err)
	}
	lb := newRoundRobin(t, nodes)
	c, err := client.New(client.WithBaseURL(lb.URL), client.WithAPIKey(sdkKey.Secret), client.WithOrgAPIKey(""))
	if err != nil {
		t.Fatal(err)
	}
	lc := client.NewLocalCache(c, client.LocalCacheOptions{})
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lc.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return lb, lc
}

// TestSDKLocalCacheAcrossNodes runs the SDK's LocalCache behind a
// round-robin balancer over three nodes: its stream comes from one node,
// its verifications from any. Keys are answered from memory, and a key
// revoked through any node is refused by the SDK within the propagation
// bound and never accepted again once refused.
func TestSDKLocalCacheAcrossNodes(t *testing.T) {
	nodes, res := newCluster(t, 3, "")
	ctx := context.Background()
	owner := service.UserActor(res.User.ID, res.Org.ID, service.Origin{})
	p, err := nodes[0].srv.Service.CreateProject(ctx, owner, keyward.CreateProjectInput{Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	where := service.Where{ProjectID: p.ID}
	lb, lc := startLocalCache(t, nodes, owner, p)

	const rounds = 30
	var lags []time.Duration
	for r := range rounds {
		k, err := nodes[r%3].srv.Service.CreateKey(ctx, owner, where, keyward.CreateKeyInput{Name: fmt.Sprint("customer ", r)})
		if err != nil {
			t.Fatal(err)
		}
		in := keyward.VerifyInput{Key: k.Secret}
		// Until the key is kept in memory: a verification that makes no
		// call. (Answers are kept only once the stream and the answering
		// node have both passed the key's creation.)
		deadline := time.Now().Add(10 * time.Second)
		for {
			before := lb.verifies.Load()
			v, err := lc.Verify(ctx, in)
			if err != nil || !v.Valid {
				t.Fatalf("round %d: Verify of a fresh key = %+v, %v", r, v, err)
			}
			if lb.verifies.Load() == before {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the key was never answered from memory (live=%v)", r, lc.Live())
			}
		}

		// Verify continuously from 4 goroutines while another node revokes.
		var wg sync.WaitGroup
		var refusedAt [4]time.Time
		var failure atomic.Pointer[string]
		revoked := make(chan struct{}) // closed once the revoke has returned, at returnedAt
		var returnedAt atomic.Int64
		for g := range 4 {
			wg.Go(func() {
				var returned time.Time
				for {
					select {
					case <-revoked:
						returned = time.Unix(0, returnedAt.Load())
					default:
					}
					// The nodes run in this process: yield, or four
					// goroutines spinning on memory hits would starve the
					// nodes and the stream reader of the CPU they need to
					// propagate the revocation.
					runtime.Gosched()
					v, err := lc.Verify(ctx, in)
					if err != nil {
						msg := err.Error()
						failure.Store(&msg)
						return
					}
					if !v.Valid {
						if refusedAt[g].IsZero() {
							refusedAt[g] = time.Now()
						}
						if !returned.IsZero() {
							return
						}
						continue
					}
					if !refusedAt[g].IsZero() {
						msg := fmt.Sprintf("goroutine %d accepted the key again after refusing it", g)
						failure.Store(&msg)
						return
					}
					if !returned.IsZero() && time.Since(returned) > 10*time.Second { // a hang guard, not a bound
						msg := "still accepting a revoked key after 10 s"
						failure.Store(&msg)
						return
					}
				}
			})
		}
		if _, err := nodes[(r+1)%3].srv.Service.RevokeKey(ctx, owner, where, k.ID, keyward.RevokeInput{}); err != nil {
			t.Fatal(err)
		}
		returned := time.Now()
		returnedAt.Store(returned.UnixNano())
		close(revoked)
		wg.Wait()
		if f := failure.Load(); f != nil {
			t.Fatalf("round %d: %s", r, *f)
		}
		for _, at := range refusedAt {
			lags = append(lags, max(at.Sub(returned), 0))
		}
	}
	slices.Sort(lags)
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	t.Logf("SDK local cache, revocation through another node -> refused by the SDK (%d samples): p50 %v, p99 %v, max %v",
		len(lags), p50, p99, lags[len(lags)-1])
}
